"""``run_campaign``: select videos by the protocol, plan chunks, run them on an executor, store every attack."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesampler.campaign.config import CampaignConfig, ModelConfig
from mesampler.campaign.protocol import select_in_order, select_videos, target_for
from mesampler.campaign.store import ResultStore
from mesampler.campaign.work import Chunk, Rows, VideoTask, Workspace, num_classes
from mesampler.video.transform import to_float

if TYPE_CHECKING:
    from mesampler.datasets import VideoDataset, VideoItem

log = logging.getLogger("mesampler.campaign")


@dataclass
class CampaignSummary:
    """What a run did: attacks planned in total, already finished before it, stored by it."""

    total: int
    skipped: int
    stored: int
    successes: int
    directory: Path


def plan(config: CampaignConfig, ws: Workspace, store: ResultStore) -> list[Chunk]:
    """Every chunk of the campaign (finished or not): protocol selection, then videos grouped in chunks of
    at most ``batch_videos`` consecutive ordinals per (dataset, model, method, setting), in ``config.order``."""
    chunks = []
    for dcfg in config.datasets:
        dataset = ws.dataset(dcfg)
        for mcfg in config.models:
            from mesampler.datasets import map_classes

            model = ws.model(mcfg)
            k = num_classes(model)
            mapped = map_classes(dataset.classes, getattr(model, "classes", None), mapping=dcfg.mapping,
                                 num_classes=k)  # fmt: skip

            def predict(
                items: list[VideoItem], m: ModelConfig = mcfg, d: VideoDataset = dataset
            ) -> list[tuple[int, int, int]]:
                return ws.predict(m, d, items, batch=config.batch_videos)

            def record(rows: list[dict[str, Any]], d: str = dcfg.name, m: str = mcfg.name) -> None:
                store.add_clean([{**r, "dataset": d, "model": m} for r in rows])

            known = store.clean(dcfg.name, mcfg.name)
            if config.selection == "in-order":
                selected = select_in_order(dataset, mapped, predict, max_videos=config.max_videos,
                                           batch=config.batch_videos, known=known, record=record)  # fmt: skip
            else:
                selected = select_videos(
                    dataset, mapped, predict,
                    seed=config.seed, videos_per_class=config.videos_per_class, max_classes=config.max_classes,
                    max_candidates=config.max_candidates, known=known, record=record,
                )  # fmt: skip
            log.info("%s / %s: %d video(s) selected", dcfg.name, mcfg.name, len(selected))
            if k is None and any(s.targeted for s in config.settings) and selected:
                k = int(_scores_width(ws, mcfg, dataset, selected[0].item))
            for meth in config.methods:
                for s in config.settings:
                    if not config.runs(meth, s):
                        continue
                    tasks = [
                        VideoTask(v.item, v.label, _target(v.item.id, v.label, k, config.seed) if s.targeted
                                  else None, v.ordinal)
                        for v in selected[: s.max_videos]
                    ]  # fmt: skip
                    for i in range(0, len(tasks), config.batch_videos):
                        part = tuple(tasks[i : i + config.batch_videos])
                        chunks.append(Chunk(dcfg, mcfg, meth, s, config.seed, part, config.device))
    if config.order == "video":  # stable: each video keeps the method and setting order
        chunks.sort(key=lambda c: c.videos[0].ordinal)
    return chunks


def _target(video_id: str, label: int, k: int | None, seed: int) -> int:
    if k is None:
        raise ValueError("a targeted setting needs the model's number of classes")
    return target_for(video_id, label, k, seed)


def _scores_width(ws: Workspace, mcfg: Any, dataset: Any, item: Any) -> int:
    x = to_float(ws.clip(mcfg, dataset, item).video[None])
    out = ws.model(mcfg)(x)
    return int(out.shape[1])


def pending(chunks: Sequence[Chunk], done: set[tuple]) -> list[Chunk]:
    """The unfinished videos of ``chunks`` (each keeps its ordinal, hence its attack seed)."""
    out = []
    for c in chunks:
        todo = tuple(v for v in c.videos if c.key(v) not in done)
        if todo:
            out.append(Chunk(c.dataset, c.model, c.method, c.setting, c.seed, todo, c.device))
    return out


_DECIDING = ("seed", "selection")
"""Campaign keys that decide how an attack runs (its video's ordinal, hence its seed, included); the others
choose how many videos (a resume may extend them, which only adds attacks) or where and how fast it runs."""


def resume_conflicts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a resumed campaign ``new`` changes in the stored one ``old`` (``CampaignConfig.to_dict()`` forms):
    top-level deciding keys, and any model, dataset, method or setting kept under its name with other values.
    New names are allowed (they add attacks); an empty list means the resume is consistent."""
    out = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in _DECIDING if old.get(k) != new.get(k)]
    for what in ("models", "datasets", "methods", "settings"):
        before = {e["name"]: e for e in old.get(what, [])}
        for entry in new.get(what, []):
            prev = before.get(entry["name"])
            if prev is None:
                continue
            for key in sorted(set(prev) | set(entry)):
                if prev.get(key) != entry.get(key):
                    out.append(f"{what[:-1]} {entry['name']!r} {key}: {prev.get(key)!r} -> {entry.get(key)!r}")
    return out


def run_campaign(
    config: CampaignConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    argv: Sequence[str] = (),
    executor: Any = None,
) -> CampaignSummary:
    """Run (or, with ``resume``, continue) the campaign into ``out`` (``out/results.sqlite``, ``out/videos``).

    Without ``resume`` an ``out`` that already holds results is refused. ``executor``: an executor object
    (default: from ``config.executor``). One process at a time may write to ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _writer_lock(out):
        return _run(config, out, resume, progress, argv, executor)


@contextlib.contextmanager
def _writer_lock(out: Path) -> Iterator[None]:
    """One writer per results folder: a second ``campaign run`` on ``out`` is refused at once."""
    import fcntl

    with open(out / ".writer.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise ValueError(f"{out} is being written by {holder}; wait for it or choose another --out") from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()} on {socket.gethostname()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(
    config: CampaignConfig, out: Path, resume: bool, progress: bool, argv: Sequence[str], executor: Any
) -> CampaignSummary:
    import mesampler
    from mesampler.campaign.executors import make_executor
    from mesampler.campaign.executors.local import LocalExecutor
    from mesampler.campaign.progress import Progress
    from mesampler.reports.summary import environment

    store = ResultStore(out)
    try:
        if store.count() and not resume:
            raise ValueError(
                f"{out} already holds {store.count()} results; pass --resume to continue that campaign, "
                "or choose a new --out"
            )
        if resume and store.runs():
            now = json.loads(json.dumps(config.to_dict(), default=str))  # the stored form
            differs = resume_conflicts(json.loads(store.runs()[0]["config"]), now)
            if differs:
                raise ValueError(
                    f"{out} holds a campaign run with other settings; resuming would mix them in one table: "
                    + "; ".join(differs)
                    + ". Use the original settings, new names, or a new --out"
                )
        store.add_run(config.to_dict(), mesampler.__version__, environment(), list(argv))
        if executor is None and config.executor == "ray":
            from mesampler.campaign.executors.ray_executor import import_ray

            import_ray()  # fail early with the install hint, before any model is loaded
        ws = Workspace(device=config.device)
        chunks = plan(config, ws, store)
        total = sum(len(c.videos) for c in chunks)
        done = store.finished_keys()
        todo = pending(chunks, done)
        left = sum(len(c.videos) for c in todo)
        own = executor is None
        if own:
            executor = (
                LocalExecutor(workspace=ws)
                if config.executor == "local"
                else make_executor("ray", address=config.address, workers=config.workers, device=config.device)
            )
        summary = CampaignSummary(total, total - left, 0, 0, out)
        bar = Progress(total, done=total - left, disabled=not progress)

        def on_rows(chunk: Chunk, rows: Rows) -> None:
            for row, arrays in rows:
                if store.insert(row, arrays):
                    summary.stored += 1
                    summary.successes += int(row["success"])
                bar.add(row)

        try:
            executor.run(todo, on_rows)
        finally:
            bar.close()
            if own:
                executor.close()
        return summary
    finally:
        store.close()
