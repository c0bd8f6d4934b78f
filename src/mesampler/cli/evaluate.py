"""``mesampler evaluate MODEL CLIPS... --budget B``: a model's robustness over a clip set, for a red-team report.

Clean accuracy (when labels are known), robust accuracy (clips not fooled within the budget), the queries-to-fool
distribution over fooled clips, which portfolio member broke each clip, and the random-noise floor at the same
budget beside it. Written atomically to ``--out/evaluation.json`` and ``evaluation.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path
from typing import Any

from mesampler.attacks.registry import ATTACKS
from mesampler.cli.attack import (
    _check_output_folder,
    _class,
    _load,
    add_api_arguments,
    add_clip_arguments,
    as_api,
    atomic_path,
    clip_motion,
    clip_shape,
    non_negative_int,
    positive_int,
    read_clip,
)
from mesampler.cli.main import UserError
from mesampler.cli.model_options import add_model_arguments, model_kwargs
from mesampler.models.protocol import model_info
from mesampler.motion.api import KINDS as MOTION_KINDS
from mesampler.reports.robustness import FLOOR, query_stats

NAME = "evaluate"
HELP = "robustness summary of MODEL over CLIPS: clean and robust accuracy, queries to fool, random-noise floor"
log = logging.getLogger("mesampler.evaluate")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="registered model name (see 'mesampler models'), a .pt/.onnx file, or a URL")
    p.add_argument("clips", nargs="+", type=Path, help="video files; one clip of each is attacked")
    p.add_argument("--budget", type=positive_int, required=True, help="queries per clip (loss + check)")
    p.add_argument("--eps", type=float, default=0.03, help="l-inf bound on [0, 1] pixels (default 0.03)")
    p.add_argument("--method", default="auto", help=f"one of {', '.join(ATTACKS.names())} (default auto)")
    p.add_argument("--motion", choices=MOTION_KINDS, default="mv", help="motion maps for motion methods (default mv)")
    labels = p.add_mutually_exclusive_group()
    labels.add_argument("--labels", type=Path, default=None, help="CSV with columns file,label (name or index)")
    labels.add_argument("--label", default=None, help="one true class (name or index) for every clip")
    p.add_argument(
        "--floor-budget", type=non_negative_int, default=None, metavar="Q",
        help="budget of the random-noise floor (default: --budget; 0: no floor)",
    )  # fmt: skip
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--out", type=Path, required=True, help="output folder (evaluation.json, evaluation.md)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="largest number of videos per model call")
    p.add_argument("--device", default=None, help="device for registered/torch models (default cpu)")
    add_api_arguments(p)
    add_clip_arguments(p)
    add_model_arguments(p)


def read_labels(path: Path, clips: list[Path]) -> list[str]:
    """The label of each clip from the CSV ``path`` (``file,label``; ``file`` relative to the CSV's folder, or a
    bare file name when that is unique)."""
    if not path.is_file():
        raise UserError(f"--labels {path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not {"file", "label"} <= set(reader.fieldnames or []):
            raise UserError(f"--labels {path}: expected columns 'file,label', got {reader.fieldnames}")
        rows = [(r["file"].strip(), (r["label"] or "").strip()) for r in reader if (r.get("file") or "").strip()]
    by_path = {(path.parent / f).resolve(): lab for f, lab in rows}
    names: dict[str, list[str]] = {}
    for file, lab in rows:
        names.setdefault(Path(file).name, []).append(lab)
    out = []
    for clip in clips:
        lab = by_path.get(clip.resolve())
        if lab is None and len(names.get(clip.name, [])) == 1:
            lab = names[clip.name][0]
        if not lab:
            raise UserError(f"--labels {path}: no label for clip {clip}")
        out.append(lab)
    return out


def summarise(results: list[Any], floor: list[Any] | None, *, labelled: bool) -> dict[str, Any]:
    """The robustness numbers of ``results`` (one :class:`AttackResult` per clip) and the ``floor`` run."""
    n = len(results)
    correct = [r for r in results if r.status != "misclassified"]
    fooled = [r for r in correct if r.success]
    broken: dict[str, int] = {}
    for r in fooled:
        broken[str(r.broken_by)] = broken.get(str(r.broken_by), 0) + 1
    s: dict[str, Any] = {
        "clips": n,
        "labels": "given" if labelled else "none: the model's own clean top-1 is taken as each clip's label",
        "clean_accuracy": len(correct) / n if labelled else None,
        "correct": len(correct),
        "fooled": len(fooled),
        "robust_accuracy": (len(correct) - len(fooled)) / len(correct) if correct else None,
        "robust_accuracy_all_clips": (len(correct) - len(fooled)) / n if labelled else None,
        "queries_to_fool": query_stats([r.queries for r in fooled]),
        "broken_by": broken,
    }
    if floor is not None:
        f_ok = [r for r in floor if r.status != "misclassified" and r.success]
        s["random_noise_floor"] = {
            "budget": floor[0].max_queries, "fooled": len(f_ok),
            "robust_accuracy": (len(correct) - len(f_ok)) / len(correct) if correct else None,
            "queries_to_fool": query_stats([r.queries for r in f_ok]),
        }  # fmt: skip
    return s


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def markdown(report: dict[str, Any]) -> str:
    s, c = report["summary"], report["config"]
    q = s["queries_to_fool"]
    lines = [
        f"# Robustness of {c['model']} ({c['method']}, eps {c['eps']}, budget {c['budget']} queries per clip)",
        "",
        f"- clips: {s['clips']}; labels: {s['labels']}",
        f"- clean accuracy: {_fmt(s['clean_accuracy'])} ({s['correct']} of {s['clips']} classified correctly)"
        if s["clean_accuracy"] is not None
        else f"- clean accuracy: not measured (no labels); {s['correct']} clips attacked",
        f"- robust accuracy: {_fmt(s['robust_accuracy'])} of the correctly classified clips "
        f"({s['correct'] - s['fooled']} of {s['correct']} not fooled within the budget)"
        + ("" if s["robust_accuracy_all_clips"] is None else f"; {_fmt(s['robust_accuracy_all_clips'])} of all clips"),
        f"- queries to fool ({q['n']} fooled): mean {_fmt(q['mean'])}, median {_fmt(q['median'])}, "
        f"quartiles {_fmt(q['q25'])} / {_fmt(q['q75'])}, range {_fmt(q['min'])} to {_fmt(q['max'])}",
        "- broken by: " + (", ".join(f"{k} {v}" for k, v in s["broken_by"].items()) or "-"),
    ]
    f = s.get("random_noise_floor")
    if f is not None:
        lines.append(
            f"- random-noise floor (budget {f['budget']}): {f['fooled']} fooled, robust accuracy "
            f"{_fmt(f['robust_accuracy'])}, median queries {_fmt(f['queries_to_fool']['median'])}"
        )
    lines += ["", "| clip | label | status | queries | broken by | floor |", "|---|---|---|---|---|---|"]
    for r in report["clips"]:
        floor = r.get("floor")
        fl = "-" if floor is None else (f"fooled at {floor['queries']}" if floor["success"] else floor["status"])
        lines.append(
            f"| {r['clip']} | {r['label']} | {r['status']} | {r['queries']} | {r['broken_by'] or '-'} | {fl} |"
        )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    import mesampler
    from mesampler.attacks.registry import method_spec
    from mesampler.reports import environment

    method_spec(args.method)  # an unknown method fails here, before anything is loaded
    if not 0 < args.eps <= 1:
        raise UserError(f"--eps must be in (0, 1] (pixels in [0, 1]), got {args.eps}")
    missing = [str(c) for c in args.clips if not c.is_file()]
    if missing:
        raise UserError(f"clip(s) not found: {', '.join(missing)}")
    if len({c.resolve() for c in args.clips}) != len(args.clips):
        raise UserError("a clip is listed twice")
    _check_output_folder(args.out)
    names = read_labels(args.labels, list(args.clips)) if args.labels is not None else None
    model = as_api(_load(args.model, args.device, model_kwargs(args, args.model)), args)
    classes = model_info(model).classes
    if names is not None:
        labels: list[int | None] = [_class(v, classes, f"--labels ({c})") for v, c in zip(names, args.clips)]
    else:
        labels = [_class(args.label, classes, "--label")] * len(args.clips)
    labelled = labels[0] is not None
    frames, size = clip_shape(args, model)
    clips = [read_clip(c, args, frames, size) for c in args.clips]
    shapes = {v.shape for v, _, _ in clips}
    if len(shapes) > 1:
        raise UserError(f"the clips have different shapes {sorted(shapes)}; give --size so they share one")
    videos = [v for v, _, _ in clips]
    motions = [clip_motion(c, v, start, args.method, args.motion) for c, (v, start, _) in zip(args.clips, clips)]
    common = dict(labels=labels if labelled else None, eps=args.eps, seed=args.seed, batch_size=args.batch_size)
    results = mesampler.attack_batch(
        model, videos, method=args.method, motions=None if motions[0] is None else motions, max_queries=args.budget,
        **common,
    )  # fmt: skip
    floor_budget = args.budget if args.floor_budget is None else args.floor_budget
    floor = None
    if floor_budget and args.method == FLOOR and floor_budget == args.budget:
        floor = results
    elif floor_budget:
        floor = mesampler.attack_batch(model, videos, method=FLOOR, max_queries=floor_budget, **common)
    per_clip = []
    for i, (c, r) in enumerate(zip(args.clips, results)):
        row = {"clip": str(c), "label": r.label, "label_given": r.label_given, "clean_prob": r.clean_prob,
               "status": r.status, "queries": r.queries, "adv_label": r.adv_label, "broken_by": r.broken_by,
               "members": r.members, "notes": r.notes, "clip_start_frame": clips[i][1]}  # fmt: skip
        if floor is not None:
            row["floor"] = {"status": floor[i].status, "success": floor[i].success, "queries": floor[i].queries}
        per_clip.append(row)
    report = {
        "config": {
            "model": args.model,
            "method": args.method,
            "eps": args.eps,
            "budget": args.budget,
            "floor_budget": floor_budget,
            "seed": args.seed,
            "frames": frames,
            "size": size,
            "api_top_k": args.api_top_k,
            "api_decimals": args.api_decimals,
            "params": results[0].params,
        },
        "summary": summarise(results, floor, labelled=labelled),
        "clips": per_clip,
        "environment": environment(),
    }
    with atomic_path(args.out / "evaluation.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=float) + "\n")
    text = markdown(report)
    with atomic_path(args.out / "evaluation.md") as tmp:
        tmp.write_text(text)
    print(text)
    print(f"wrote {args.out}/evaluation.json, evaluation.md")
    return 0
