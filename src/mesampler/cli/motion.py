"""``mesampler motion VIDEO``: write a video's motion maps (``maps.npz``) and one colour-wheel PNG per map."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image

from mesampler.cli.main import UserError
from mesampler.motion.api import KINDS as MOTION_KINDS

NAME = "motion"
HELP = "compute motion maps (accumulated motion vectors or TV-L1 flow) of a video"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="input video (any FFmpeg format or animated GIF)")
    parser.add_argument("--kind", choices=MOTION_KINDS, default="mv", help="motion vectors or TV-L1 flow")
    parser.add_argument("--gop", type=int, default=12, help="frames per GOP (default 12)")
    parser.add_argument("--improved", action="store_true", help="intervals chosen from the video's trajectory")
    parser.add_argument("--size", type=int, default=None, help="short side to S, centre crop S×S")
    parser.add_argument("--mode", choices=("accurate", "coviar"), default="accurate", help="MV tracing mode")
    parser.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    parser.add_argument("--out", type=Path, required=True, help="output folder")


def run(args: argparse.Namespace) -> int:
    from mesampler.motion import flow_to_rgb, motion_maps

    video: Path = args.video
    if not video.is_file():
        raise UserError(f"{video}: not a video file ({'a folder' if video.is_dir() else 'no such file'})")
    if not os.access(video, os.R_OK):
        raise UserError(f"{video}: not readable (permission denied)")
    # partial=True: a trailing partial GOP gives a map, as it does for the attack (a short clip is never empty)
    maps, intervals = motion_maps(
        video, args.kind, args.gop, args.size, improved=args.improved, mode=args.mode,
        cache=not args.no_cache, return_intervals=True, partial=True,
    )  # fmt: skip
    if len(maps) == 0:
        raise UserError(f"{video}: no motion maps (fewer than 2 decodable frames)")
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "maps.npz", maps=maps, intervals=intervals, kind=args.kind, gop=args.gop)
    top = float(np.linalg.norm(maps, axis=-1).max()) if len(maps) else 0.0
    for i, m in enumerate(maps):
        Image.fromarray(flow_to_rgb(m, max_magnitude=top or None)).save(args.out / f"map_{i:04d}.png")
    log.info("%s: %d maps %s -> %s (colour scale: %.1f px = full saturation)", args.video, len(maps),
             maps.shape[1:3], args.out, top)  # fmt: skip
    return 0
