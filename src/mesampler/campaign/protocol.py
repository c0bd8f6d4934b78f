"""The paper's protocol (sec. 4.1), with the rules the paper leaves open written down here.

* **Video selection.** Per dataset class (in the dataset's class order; the first ``max_classes`` if set), the
  class's videos (sorted by id) are shuffled with ``numpy.random.default_rng([seed, crc32(class name)])``; the
  first ``videos_per_class`` (paper: 1) that the model classifies correctly (clean top-1 of the attacked clip
  equals the mapped label) are taken. Candidates are checked in rounds, one per class per round, in batched
  model calls. These clean queries are stored (``clean`` table) and never counted against an attack's budget.
* **In-order selection** (``selection = "in-order"``): the dataset's items in its listed order, checked in
  batches; the first ``max_videos`` that the model classifies correctly are taken (a benchmark's fixed list).
* **Clip.** :func:`mesampler.datasets.clip.sample_clip`: the centre ``frames`` frames (the model's spec), short
  side ``size`` and centre crop.
* **Target (targeted setting).** Uniform over the model's classes other than the label, drawn with
  ``numpy.random.default_rng([seed, crc32(video id)])``: the same target for every method and model of the
  same class count, independent of run order.
* **Budget.** The attack's own clean-label check is not counted: the engine runs with ``max_queries + 1`` and
  ``queries`` excludes that one query (it is kept in ``clean_queries``); a video not fooled counts ``Q``.
* **Attack seed.** ``seed * 1_000_000 + ordinal`` (the video's position among the selected videos of its
  dataset and model), so a result does not depend on batching or resumption.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mesampler.datasets import VideoDataset, VideoItem

log = logging.getLogger("mesampler.campaign")

SEED_STRIDE = 1_000_000


@dataclass(frozen=True)
class Selected:
    """A video chosen for attack: dataset item, model class ``label`` and its position ``ordinal``."""

    item: VideoItem
    label: int
    ordinal: int


def class_order(dataset: VideoDataset, mapped: dict[str, int], max_classes: int | None) -> list[str]:
    """Classes that map to a model class and have videos, in dataset order, the first ``max_classes``."""
    have = {it.label for it in dataset.items}
    classes = [c for c in dataset.classes if c in mapped and c in have]
    return classes[:max_classes] if max_classes is not None else classes


def candidate_order(items: list[VideoItem], class_name: str, seed: int) -> list[VideoItem]:
    """The seeded shuffle of one class's videos (sorted by id first)."""
    rng = np.random.default_rng([seed, zlib.crc32(class_name.encode())])
    items = sorted(items, key=lambda it: it.id)
    return [items[i] for i in rng.permutation(len(items))]


def attack_seed(seed: int, ordinal: int) -> int:
    return seed * SEED_STRIDE + ordinal


def target_for(video_id: str, label: int, num_classes: int, seed: int) -> int:
    """The targeted setting's target: uniform over the other classes, seeded by ``(seed, video id)``."""
    if num_classes < 2:
        raise ValueError(f"a targeted attack needs at least 2 classes, the model has {num_classes}")
    rng = np.random.default_rng([seed, zlib.crc32(video_id.encode())])
    t = int(rng.integers(num_classes - 1))
    return t + 1 if t >= label else t


def select_videos(
    dataset: VideoDataset,
    mapped: dict[str, int],
    predict: Callable[[list[VideoItem]], list[tuple[int, int, int]]],
    *,
    seed: int,
    videos_per_class: int = 1,
    max_classes: int | None = None,
    max_candidates: int | None = None,
    known: dict[str, dict[str, Any]] | None = None,
    record: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[Selected]:
    """Choose the videos to attack (rule in the module docstring).

    Args:
        mapped: dataset class name -> model class index.
        predict: items -> ``(clean top-1, clip start, clip frames)`` per item (one clean query each).
        known: clean results already stored, by video id (not queried again).
        record: called with the new clean rows (``video_id, label, prediction, correct, ...``).
    Returns:
        the selected videos, class by class, ``ordinal`` = position in this list.
    """
    known = dict(known or {})
    per_class = dataset.by_class()
    order = class_order(dataset, mapped, max_classes)
    queues = {c: candidate_order(per_class[c], c, seed) for c in order}
    if max_candidates is not None:
        queues = {c: q[:max_candidates] for c, q in queues.items()}
    chosen: dict[str, list[VideoItem]] = {c: [] for c in order}
    rank = 0
    while True:
        wave = [(c, queues[c][rank]) for c in order if len(chosen[c]) < videos_per_class and rank < len(queues[c])]
        if not wave:
            break
        todo = [it for _, it in wave if it.id not in known]
        if todo:
            preds = predict(todo)
            rows = [_clean_row(it, mapped[it.label], p, s, n) for it, (p, s, n) in zip(todo, preds)]
            known.update({r["video_id"]: r for r in rows})
            if record is not None:
                record(rows)
        for c, it in wave:
            if known[it.id]["correct"]:
                chosen[c].append(it)
        rank += 1
    short = [c for c in order if len(chosen[c]) < videos_per_class]
    if short:
        log.warning(
            "%s: %d class(es) have fewer than %d correctly classified video(s) (e.g. %s)",
            dataset.name,
            len(short),
            videos_per_class,
            short[0],
        )
    selected = [(it, mapped[c]) for c in order for it in chosen[c]]
    return [Selected(it, lab, i) for i, (it, lab) in enumerate(selected)]


def select_in_order(
    dataset: VideoDataset,
    mapped: dict[str, int],
    predict: Callable[[list[VideoItem]], list[tuple[int, int, int]]],
    *,
    max_videos: int | None = None,
    batch: int = 4,
    known: dict[str, dict[str, Any]] | None = None,
    record: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[Selected]:
    """The first ``max_videos`` correctly classified items in the dataset's listed order (arguments as
    :func:`select_videos`; items whose class the model lacks are skipped). Clean queries stop once enough
    are found."""
    known = dict(known or {})
    items = [it for it in dataset.listed if it.label in mapped]
    chosen: list[VideoItem] = []
    for i in range(0, len(items), batch):
        if max_videos is not None and len(chosen) >= max_videos:
            break
        part = items[i : i + batch]
        todo = [it for it in part if it.id not in known]
        if todo:
            rows = [_clean_row(it, mapped[it.label], p, s, n) for it, (p, s, n) in zip(todo, predict(todo))]
            known.update({r["video_id"]: r for r in rows})
            if record is not None:
                record(rows)
        chosen += [it for it in part if known[it.id]["correct"]]
    chosen = chosen[:max_videos] if max_videos is not None else chosen
    return [Selected(it, mapped[it.label], i) for i, it in enumerate(chosen)]


def _clean_row(item: VideoItem, label: int, prediction: int, start: int, frames: int) -> dict[str, Any]:
    """The ``clean`` table's row of one clean query."""
    return {"video_id": item.id, "label": label, "prediction": prediction, "correct": int(prediction == label),
            "clip_start": start, "clip_frames": frames, "queries": 1, "finished_at": time.time()}  # fmt: skip
