"""``mesampler demo``: attack a generated test-bed clip with the ME-Sampler and write what happened."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mesampler.video.io import as_uint8_frames
from mesampler.video.transform import to_float

NAME = "demo"
HELP = "attack a generated motion test-bed clip (ME-Sampler) and write a summary, the clip and a figure"
log = logging.getLogger("mesampler.demo")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    p.add_argument("--clip", type=int, default=0, help="index of the held-out test-bed clip to attack (default 0)")
    p.add_argument("--method", default="me-sampler", help="attack method (default me-sampler)")
    p.add_argument("--eps", type=float, default=None, help="l-inf bound on [0, 1] pixels (default: paper's 0.03)")
    p.add_argument("--max-queries", type=int, default=None, help="query budget (default: paper's 60,000)")
    p.add_argument("--seed", type=int, default=0, help="attack seed (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import mesampler
    from mesampler import models, testbed
    from mesampler.reports import save_attack_figure, summary_text, write_summary
    from mesampler.video import write_video

    model = models.create("testbed-motion")
    video, motion, label = _correct_clip(model, args.clip)
    log.info("test-bed clip: class %d (%s), %s frames of %sx%s", label, testbed.CLASSES[label], *video.shape[:3])
    bar = _progress(args.no_progress)
    options = {k: getattr(args, k) for k in ("method", "eps", "max_queries", "seed")}
    result = mesampler.attack(model, video, label=label, motion=motion, callback=bar, **options)
    if bar is not None and hasattr(bar, "close"):
        bar.close()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "adversarial.npy", result.adversarial)
    write_video(out / "adversarial.mkv", result.adversarial, fps=10)
    write_video(out / "clean.mkv", video, fps=10)
    rounded = to_float(as_uint8_frames(result.adversarial))
    label_8bit = int(np.asarray(model(rounded[None].astype(np.float32))).argmax())
    extra = {
        "clip": {"source": "mesampler.testbed", "clip_index": args.clip, "class": testbed.CLASSES[label]},
        "verification": {
            "adv_label_requeried": int(np.asarray(model(result.adversarial[None])).argmax()),
            "adv_label_8bit": label_8bit,
            "fools_after_8bit_rounding": label_8bit != result.label,
            "note": "verification queries are outside the attack's budget and counts",
        },
        "files": ["adversarial.npy (exact float32)", "adversarial.mkv (FFV1, 8-bit)", "clean.mkv", "figure.png"],
    }
    write_summary(out / "summary.json", result, classes=testbed.CLASSES, extra=extra)
    save_attack_figure(
        out / "figure.png",
        video,
        result.adversarial,
        eps=result.eps,
        motion=motion,
        title=f"{args.method}: {testbed.CLASSES[result.label]} -> {testbed.CLASSES[result.adv_label]} "
        f"in {result.queries} queries",
    )
    print(summary_text(result, testbed.CLASSES))
    print(f"wrote {out}/summary.json, adversarial.mkv, adversarial.npy, figure.png")
    return 0


def _correct_clip(model: Callable[[np.ndarray], Any], clip_index: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The first held-out test-bed clip (from ``clip_index`` on) that the model classifies correctly."""
    from mesampler import testbed

    children = np.random.SeedSequence(testbed.TEST_SEED).spawn(clip_index + 100)
    for i in range(clip_index, clip_index + 100):  # clip i of make_dataset(n, TEST_SEED)
        label = i % len(testbed.CLASSES)
        video, motion = testbed.make_clip(label, children[i])
        if int(np.asarray(model(to_float(video[None]))).argmax()) == label:
            return video, motion, label
    raise RuntimeError("the test-bed model misclassified 100 clips in a row: its checkpoint is broken")


def _progress(disabled: bool) -> Callable[[dict[str, Any]], None] | None:
    if disabled:
        return None
    from tqdm import tqdm

    bar = tqdm(desc="attack", unit="q")

    def update(event: dict[str, Any]) -> None:
        q = event["queries"][0]
        bar.update(q - bar.n)
        bar.set_postfix(loss=f"{event['loss'][0]:.3f}", top1=event["top1"][0], p=f"{event['top1_prob'][0]:.2f}")

    update.close = bar.close  # type: ignore[attr-defined]
    return update
