"""``mesampler campaign run CONFIG.toml --out DIR [--resume] [--executor local|ray]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from mesampler.campaign.executors import EXECUTORS
from mesampler.cli.main import UserError

NAME = "campaign"
HELP = "run experiment campaigns (models x methods x datasets x settings) into a resumable SQLite results folder"
log = logging.getLogger("mesampler.campaign")


_PLAIN_OVERRIDES = (
    "settings", "eps", "max_queries", "seed", "videos_per_class", "max_classes", "max_candidates", "batch_videos",
    "executor", "address", "workers", "device", "gallery", "selection", "max_videos", "order",
)  # fmt: skip
"""Flags passed to :func:`read_config` as they are."""


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="campaign_command", required=True, metavar="SUBCOMMAND")
    r = sub.add_parser(
        "run",
        help="run or resume a campaign",
        description="Run or resume a campaign. Flags override "
        "the config file; with no config file, flags alone describe the campaign.",
    )
    r.add_argument("config", nargs="?", type=Path, default=None, help="campaign TOML (see examples/*.toml)")
    r.add_argument("--out", type=Path, required=True, help="results folder (results.sqlite, videos/)")
    r.add_argument("--resume", action="store_true", help="continue: skip attacks already stored in --out")
    r.add_argument("--executor", choices=EXECUTORS.names(), default=None, help="where attacks run (default local)")
    r.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray instance)")
    r.add_argument("--workers", type=int, default=None, help="Ray workers (default: one per GPU, else CPUs / 2)")
    r.add_argument("--models", type=_csv, default=None, help="comma-separated model names/files (replace the config's)")
    r.add_argument(
        "--datasets",
        type=_csv,
        default=None,
        help="comma-separated datasets KIND or KIND:ROOT (e.g. testbed, ucf101:/data/UCF101)",
    )
    r.add_argument("--methods", type=_csv, default=None, help="comma-separated methods (registry names)")
    r.add_argument("--motion", default=None, help="motion for --methods: mv | flow | clip | testbed (default mv)")
    r.add_argument("--settings", type=_csv, default=None, help="comma-separated settings (untargeted, targeted, ...)")
    r.add_argument("--eps", type=float, default=None, help="override every setting's eps")
    r.add_argument("--max-queries", type=int, default=None, help="override every setting's query budget")
    r.add_argument("--seed", type=int, default=None, help="protocol seed (default 0)")
    r.add_argument("--videos-per-class", type=int, default=None, help="videos per class (default 1, the paper's)")
    r.add_argument("--max-classes", type=int, default=None, help="use only the first N classes")
    r.add_argument("--max-candidates", type=int, default=None, help="clean checks per class at most")
    r.add_argument(
        "--selection", choices=("per-class", "in-order"), default=None,
        help="per-class (the paper's, default) or in-order: the first --max-videos correctly classified videos",
    )  # fmt: skip
    r.add_argument("--max-videos", type=int, default=None, help="videos to attack with --selection in-order")
    r.add_argument(
        "--order", choices=("method", "video"), default=None,
        help="run method by method (default) or video by video through every method and setting",
    )  # fmt: skip
    r.add_argument("--batch-videos", type=int, default=None, help="videos attacked together (default 16)")
    r.add_argument("--device", default=None, help="device for registered models (default cpu)")
    r.add_argument("--gallery", type=int, default=None, help="per-video figures in the report (default 12)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="check the config and print the planned work units (no model loaded, nothing written)",
    )

    m = sub.add_parser(
        "merge",
        help="add another store's results (the same campaign run elsewhere) to a results folder",
        description="Add the results, clean queries and runs of SOURCE's store that --into lacks (a key already "
        "there keeps its row): e.g. a part of the campaign run on a GPU machine.",
    )
    m.add_argument("source", type=Path, help="results folder to read (results.sqlite)")
    m.add_argument("--into", type=Path, required=True, help="results folder to add to")


def _dataset_entry(s: str) -> dict[str, Any]:
    kind, _, root = s.partition(":")
    entry: dict[str, Any] = {"name": kind, "kind": kind}
    if root:
        entry["root"] = root
    return entry


def run(args: argparse.Namespace) -> int:
    from mesampler.campaign import read_config, run_campaign

    if args.campaign_command == "merge":
        from mesampler.campaign.store import ResultStore

        if not (args.into / "results.sqlite").is_file():
            raise UserError(f"--into {args.into}: no results.sqlite there (run the campaign there first)")
        with ResultStore(args.into, create=False) as store:
            n = store.merge_from(args.source)
            print(f"{n} result(s) added from {args.source}; {store.count()} in {args.into}")
        return 0

    methods = args.methods
    if methods is not None:
        methods = [{"name": m, **({"motion": args.motion} if args.motion else {})} for m in methods]
    elif args.motion is not None:
        raise UserError("--motion applies to --methods; set motion per method in the config file otherwise")
    config = read_config(
        args.config,
        models=args.models,
        datasets=None if args.datasets is None else [_dataset_entry(d) for d in args.datasets],
        methods=methods,
        **{name: getattr(args, name) for name in _PLAIN_OVERRIDES},
    )
    if args.dry_run:
        from mesampler.campaign.outline import outline

        units = outline(config)
        for u in units:
            print(u.line())
        most = sum(u.videos or 0 for u in units)
        print(f"{len(units)} work unit(s), at most {most} attacks; nothing run (--dry-run), --out {args.out} untouched")
        return 0
    s = run_campaign(config, args.out, resume=args.resume, progress=not args.no_progress, argv=sys.argv[1:])
    rate = f"{100 * s.successes / s.stored:.1f}%" if s.stored else "-"
    print(
        f"{s.total} attacks planned, {s.skipped} already stored, {s.stored} stored now (success {rate}); "
        f"results in {s.directory}/results.sqlite; report: mesampler report {s.directory}"
    )
    return 0
