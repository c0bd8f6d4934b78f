"""Attack summaries: a JSON file and a few lines of text for people."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from typing import Any

import torch

from mesampler.attacks.result import AttackResult


def environment() -> dict[str, Any]:
    """Package versions and machine, recorded with every result."""
    from mesampler import __version__

    return {
        "mesampler": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def class_name(c: int | None, classes: Sequence[str] | None) -> str:
    if c is None:
        return "-"
    return f"{c} ({classes[c]})" if classes is not None and 0 <= c < len(classes) else str(c)


def summary_text(r: AttackResult, classes: Sequence[str] | None = None) -> str:
    """Short human summary of one result."""
    goal = f"target {class_name(r.target, classes)}" if r.targeted else "untargeted"
    if r.misclassified:
        return (
            f"MISCLASSIFIED, not attacked: the model calls the clean clip {class_name(r.adv_label, classes)} "
            f"(p={r.clean_prob:.2f}), not the given label {class_name(r.label, classes)}; "
            f"{r.queries} query spent. The paper attacks correctly classified videos only."
        )
    verdict = "SUCCESS" if r.success else "failed"
    source = "" if r.label_given else f"label = the model's clean top-1, p={r.clean_prob:.2f}\n"
    return source + "\n".join(
        [
            f"{verdict}: {class_name(r.label, classes)} -> {class_name(r.adv_label, classes)} "
            f"({goal}, {r.method}, {r.loss} loss)",
            f"queries {r.queries} = {r.loss_queries} loss + {r.check_queries} check (budget {r.max_queries}), "
            f"{r.iterations} iterations",
            f"linf {r.linf:.4f} (eps {r.eps}), {r.wall_time_s:.1f} s",
            *(f"note: {n}" for n in r.notes),
        ]
    )


def write_summary(
    path: str | os.PathLike,
    r: AttackResult,
    *,
    classes: Sequence[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the result (without the video) plus environment and ``extra`` as JSON; return the dict."""
    d = r.to_dict()
    d["label_name"] = class_name(r.label, classes)
    d["adv_label_name"] = class_name(r.adv_label, classes)
    d["environment"] = environment()
    d.update(extra or {})
    with open(path, "w") as f:
        json.dump(d, f, indent=2, default=float)
    return d
