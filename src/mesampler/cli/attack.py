"""``mesampler attack``: attack one clip of a video file on a registered, file or HTTP model."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mesampler.attacks.losses import LOSSES
from mesampler.attacks.registry import ATTACKS, attack_params, method_spec
from mesampler.cli.main import UserError
from mesampler.cli.model_options import add_model_arguments, model_kwargs
from mesampler.models.protocol import model_info
from mesampler.motion.api import KINDS as MOTION_KINDS
from mesampler.motion.api import Kind as MotionKind
from mesampler.video.transform import quantise_in_ball, to_float

NAME = "attack"
HELP = "attack a clip of VIDEO on a model (registered name, TorchScript/ONNX file, or HTTP URL)"
log = logging.getLogger("mesampler.attack")


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def methods_epilog() -> str:
    """Every method with its paper and default hyper-parameters (from its defaults record)."""
    lines = ["methods (hyper-parameter defaults, from each method's record):"]
    for name in ATTACKS.names():
        spec = method_spec(name)
        params = ", ".join(f"{k}={v!r}" for k, v in attack_params(name).items())
        lines += [f"  {name}: {spec.summary}", f"      {spec.paper}", f"      loss={spec.default_loss}; {params}"]
    return "\n".join(lines)


def add_api_arguments(p: argparse.ArgumentParser) -> None:
    """``--api-top-k``, ``--api-decimals``: see the model as a deployed API (:func:`as_api`)."""
    p.add_argument(
        "--api-top-k", type=positive_int, default=None, metavar="K",
        help="attack the model as an API that returns only its top K probabilities (APIOutput)",
    )  # fmt: skip
    p.add_argument(
        "--api-decimals", type=non_negative_int, default=None, metavar="D",
        help="... and rounds them to D decimals (APIOutput)",
    )  # fmt: skip


def add_clip_arguments(p: argparse.ArgumentParser) -> None:
    """``--frames``, ``--pad``, ``--start``, ``--size``: which clip of a video file is attacked (:func:`read_clip`)."""
    p.add_argument(
        "--frames", type=positive_int, default=None, help="frames in the clip (default: the model's, else 64)"
    )
    p.add_argument("--pad", action="store_true", help="repeat the last frame when the video has fewer than --frames")
    p.add_argument("--start", type=float, default=0.0, help="clip start in seconds (default 0)")
    p.add_argument(
        "--size", type=positive_int, default=None, help="short side resize + centre crop (default: the model's size)"
    )


def as_api(model: Any, args: argparse.Namespace) -> Any:
    """``model`` seen as an API (``APIOutput``) when ``--api-top-k`` or ``--api-decimals`` is given."""
    if args.api_top_k is None and args.api_decimals is None:
        return model
    from mesampler.models.adapters import APIOutput

    return APIOutput(model, top_k=args.api_top_k, decimals=args.api_decimals)


def clip_shape(args: argparse.Namespace, model: Any) -> tuple[int, int | None]:
    """``(frames, size)`` of the clips: the flags, else the model's, else 64 frames at the file's size."""
    about = model_info(model)
    return args.frames or about.frames or 64, args.size or about.size


def read_clip(path: Path, args: argparse.Namespace, frames: int, size: int | None) -> tuple[np.ndarray, int, float]:
    """Frames ``[start, start + frames)`` of ``path`` (``args.start`` seconds, ``args.pad``): ``(T, H, W, 3)`` uint8,
    the first frame's index and the file's frame rate."""
    from mesampler.video import read_video, video_info

    info = video_info(path)
    start = int(round(args.start * info["fps"]))
    video = read_video(path, frames=frames, start=start, size=size)
    if len(video) < frames:
        if not args.pad:
            raise UserError(
                f"{path}: only {len(video)} frames from frame {start} (of {info['frames']} in the header), "
                f"--frames {frames} asked; pass --pad to repeat the last frame, or a smaller --frames"
            )
        log.warning("%s: %d frames, padded to %d by repeating the last one", path, len(video), frames)
        video = np.concatenate([video, np.repeat(video[-1:], frames - len(video), axis=0)])
    log.info("%s: frames %d..%d at %dx%d", path, start, start + len(video) - 1, video.shape[2], video.shape[1])
    return video, start, float(info["fps"])


def clip_motion(path: Path, video: np.ndarray, start: int, method: str, kind: MotionKind) -> np.ndarray | None:
    """The clip's motion maps ``(N, H, W, 2)`` of ``kind`` when ``method`` needs motion, else ``None``."""
    from mesampler.attacks.registry import needs_motion
    from mesampler.motion import maps_for_clip

    if not needs_motion(method):
        return None
    t0 = time.perf_counter()
    h, w = video.shape[1:3]
    motion = maps_for_clip(path, height=h, width=w, start=start, frames=len(video), kind=kind)
    log.info("motion: %d %s maps in %.1f s", len(motion), kind, time.perf_counter() - t0)
    return motion


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = methods_epilog()
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("video", type=Path, help="video file (MP4/H.264, AVI, MKV, GIF, ...)")
    p.add_argument(
        "--model", required=True, help="registered model name (see 'mesampler models'), a .pt/.onnx file, or a URL"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    add_api_arguments(p)
    add_clip_arguments(p)
    p.add_argument(
        "--method", default="me-sampler", help=f"one of {', '.join(ATTACKS.names())} (default me-sampler; see below)"
    )
    p.add_argument("--motion", choices=MOTION_KINDS, default="mv", help="motion maps for the prior (default mv)")
    p.add_argument("--label", default=None, help="true class (name or index; default: the model's clean top-1)")
    p.add_argument("--targeted", action="store_true", help="targeted attack (needs --target)")
    p.add_argument("--target", default=None, help="target class, name or index")
    p.add_argument("--eps", type=float, default=None, help="l-inf bound on [0, 1] pixels (default 0.03; 0.05 targeted)")
    p.add_argument("--max-queries", type=positive_int, default=None, help="budget (default 60,000; 200,000 targeted)")
    p.add_argument("--loss", default=None, help=f"{' | '.join(LOSSES.names())} (default: the method's)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--device", default=None, help="device for registered/torch models (default cpu)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="largest number of videos per model call")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--checkpoint-every", type=float, default=60.0, metavar="S",
        help="save the attack's state to OUT/checkpoint.pt every S seconds (default 60; 0: every iteration)",
    )  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue an interrupted attack from OUT/checkpoint.pt")
    add_model_arguments(p)


def run(args: argparse.Namespace) -> int:
    import mesampler
    from mesampler.attacks.checkpoint import Checkpoint
    from mesampler.reports import save_attack_figure, summary_text, write_summary
    from mesampler.video import write_video

    if args.targeted != (args.target is not None):
        raise UserError("--targeted and --target go together")
    out: Path = args.out
    _check_output_folder(out)
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists() and not args.resume:
        raise UserError(f"{ckpt_path} holds an interrupted attack: pass --resume to continue it, or delete it")
    if args.resume and not ckpt_path.exists():
        raise UserError(f"--resume: {ckpt_path} does not exist (nothing to resume)")
    model = _load(args.model, args.device, model_kwargs(args, args.model))
    model = as_api(model, args)
    classes = model_info(model).classes
    frames, size = clip_shape(args, model)
    video, start, fps = read_clip(args.video, args, frames, size)
    motion = clip_motion(args.video, video, start, args.method, args.motion)
    label = _class(args.label, classes, "--label")
    target = _class(args.target, classes, "--target")
    bar = _Progress(classes, disabled=args.no_progress)
    ckpt = Checkpoint(ckpt_path, every_s=args.checkpoint_every, remove_when_done=False)
    try:
        options = {k: getattr(args, k) for k in ("method", "eps", "max_queries", "loss", "seed", "batch_size")}
        result = mesampler.attack(
            model, video, label=label, target=target, motion=motion, callback=bar, checkpoint=ckpt, **options
        )
    except KeyboardInterrupt:
        saved = f"state saved to {ckpt_path}; " if ckpt_path.exists() else ""
        raise UserError(f"interrupted: {saved}run the same command with --resume to continue") from None
    finally:
        bar.close()

    adv_8bit = quantise_in_ball(result.adversarial, video, result.eps)
    with atomic_path(out / "adversarial.npy") as tmp:
        np.save(tmp, result.adversarial)
    with atomic_path(out / "adversarial.mkv") as tmp:
        write_video(tmp, adv_8bit, fps=fps)
    with atomic_path(out / "clean.mkv") as tmp:
        write_video(tmp, video, fps=fps)
    extra = {
        "video": str(args.video),
        "model": args.model,
        "clip": {"start_frame": start, "frames": len(video), "size": size},
        "motion": {"kind": args.motion, "maps": 0 if motion is None else len(motion)},
        "robustness": _robustness(model, result, adv_8bit),
        "linf_8bit": float(np.abs(adv_8bit.astype(np.int16) - video.astype(np.int16)).max()) / 255,
    }
    with atomic_path(out / "summary.json") as tmp:
        write_summary(tmp, result, classes=classes, extra=extra)
    text = summary_text(result, classes) + f"\n8-bit adversarial.mkv: linf {extra['linf_8bit']:.4f} (rounded into eps)"
    text += "\n" + _robustness_text(extra["robustness"], classes)
    with atomic_path(out / "summary.txt") as tmp:
        tmp.write_text(text + "\n")
    with atomic_path(out / "figure.png") as tmp:
        save_attack_figure(
            tmp,
            video,
            result.adversarial,
            eps=result.eps,
            motion=motion,
            title=f"{args.video.name}: {result.label} -> {result.adv_label}, {result.queries} queries",
        )
    ckpt.clear()  # only now: every output is on disk
    print(text)
    print(f"wrote {out}/summary.json, summary.txt, adversarial.mkv, adversarial.npy, clean.mkv, figure.png")
    return 0


def _check_output_folder(out: Path) -> None:
    """Refuse an output path that is a file or not writable, before the model is loaded or queried."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as e:
        raise UserError(f"--out {out} is not a writable folder ({e.strerror or e})") from None


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary sibling of ``path`` (same suffix) to write to; renamed over ``path`` only when the write
    succeeded, so a crash or a full disk never leaves a truncated output."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load(ref: str, device: str | None, options: dict[str, Any] | None = None) -> Any:
    from mesampler.models import get_entry
    from mesampler.models.adapters import load_model

    kwargs: dict[str, Any] = dict(options or {})
    if device is not None:
        try:
            get_entry(ref)
            kwargs["device"] = device
        except ValueError:
            pass
    return load_model(ref, **kwargs)


def _class(value: str | None, classes: Sequence[str] | None, flag: str) -> int | None:
    """A class given by index or by name (exact, case-insensitive) -> index."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    if classes is None:
        raise UserError(f"{flag} {value!r}: this model has no class names; give an index")
    lowered = [c.lower() for c in classes]
    if value.lower() not in lowered:
        close = [c for c in classes if value.lower() in c.lower()][:5]
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UserError(f"{flag} {value!r} is not one of the model's {len(classes)} classes{hint}")
    return lowered.index(value.lower())


def _robustness(model: Any, result: Any, as_uint8: np.ndarray) -> dict[str, Any]:
    """Top-1 of the adversarial clip re-queried as is, rounded to 8 bits (into the eps ball, as written), and
    after H.264 (CRF 23).

    These three verification queries are not part of the attack's budget or counts.
    """
    from mesampler.video import h264_roundtrip

    versions = {
        "float32": result.adversarial,
        "8bit": to_float(as_uint8),
        "h264_crf23": to_float(h264_roundtrip(as_uint8, crf=23)),
    }
    out: dict[str, Any] = {"note": "verification queries, outside the attack's budget and counts"}
    for name, v in versions.items():
        top = int(np.nanargmax(np.asarray(model(v[None]), dtype=np.float64)[0]))  # NaN: an API's unknown classes
        fooled = top == result.target if result.targeted else top != result.label
        out[name] = {"top1": top, "fools": bool(fooled)}
    return out


def _robustness_text(rob: dict[str, Any], classes: Sequence[str] | None) -> str:
    from mesampler.reports.summary import class_name

    parts = [
        f"{k}: {class_name(v['top1'], classes)} ({'fools' if v['fools'] else 'does not fool'})"
        for k, v in rob.items()
        if isinstance(v, dict)
    ]
    return "re-queried " + "; ".join(parts)


class _Progress:
    """Live bar: queries, loss, current top-1 and its probability."""

    def __init__(self, classes: Sequence[str] | None, *, disabled: bool) -> None:
        from tqdm import tqdm

        self.classes = classes
        self.bar = tqdm(desc="attack", unit="q", disable=disabled)

    def __call__(self, event: dict) -> None:
        self.bar.update(event["queries"][0] - self.bar.n)
        top = event["top1"][0]
        name = self.classes[top][:24] if self.classes else str(top)
        self.bar.set_postfix_str(f"loss {event['loss'][0]:.3f} top1 {name} p={event['top1_prob'][0]:.2f}")

    def close(self) -> None:
        self.bar.close()
