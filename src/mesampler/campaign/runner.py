"""``run_campaign``: select videos by the protocol, plan chunks, run them on an executor, store every attack."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesampler.campaign.config import CampaignConfig, ModelConfig
from mesampler.campaign.protocol import select_videos, target_for
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
    at most ``batch_videos`` consecutive ordinals per (dataset, model, method, setting)."""
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

            selected = select_videos(
                dataset, mapped, predict,
                seed=config.seed, videos_per_class=config.videos_per_class, max_classes=config.max_classes,
                max_candidates=config.max_candidates, known=store.clean(dcfg.name, mcfg.name), record=record,
            )  # fmt: skip
            log.info("%s / %s: %d video(s) selected", dcfg.name, mcfg.name, len(selected))
            if k is None and any(s.targeted for s in config.settings) and selected:
                k = int(_scores_width(ws, mcfg, dataset, selected[0].item))
            for meth in config.methods:
                for s in config.settings:
                    tasks = [
                        VideoTask(v.item, v.label, _target(v.item.id, v.label, k, config.seed) if s.targeted
                                  else None, v.ordinal)
                        for v in selected
                    ]  # fmt: skip
                    for i in range(0, len(tasks), config.batch_videos):
                        part = tuple(tasks[i : i + config.batch_videos])
                        chunks.append(Chunk(dcfg, mcfg, meth, s, config.seed, part, config.device))
    return chunks


def _target(video_id: str, label: int, k: int | None, seed: int) -> int:
    if k is None:
        raise ValueError("a targeted setting needs the model's number of classes")
    return target_for(video_id, label, k, seed)


def _scores_width(ws: Workspace, mcfg: Any, dataset: Any, item: Any) -> int:

    model = ws.model(mcfg)
    frames, size = ws.clip_shape(mcfg, model)
    x = to_float(dataset.clip(item, frames=frames, size=size).video[None])
    out = model(x)
    return int(out.shape[1])


def pending(chunks: Sequence[Chunk], done: set[tuple]) -> list[Chunk]:
    """The unfinished videos of ``chunks`` (each keeps its ordinal, hence its attack seed)."""
    out = []
    for c in chunks:
        todo = tuple(v for v in c.videos if c.key(v) not in done)
        if todo:
            out.append(Chunk(c.dataset, c.model, c.method, c.setting, c.seed, todo, c.device))
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
    (default: from ``config.executor``).
    """
    import mesampler
    from mesampler.campaign.executors import make_executor
    from mesampler.campaign.executors.local import LocalExecutor
    from mesampler.campaign.progress import Progress
    from mesampler.reports.summary import environment

    out = Path(out)
    store = ResultStore(out)
    try:
        if store.count() and not resume:
            raise ValueError(
                f"{out} already holds {store.count()} results; pass --resume to continue that campaign, "
                "or choose a new --out"
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
