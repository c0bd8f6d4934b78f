"""One unit of campaign work: a chunk of videos attacked together with ``attack_batch``.

Executors only decide *where* :func:`run_chunk` runs; what it computes is the same everywhere. A
:class:`Workspace` caches loaded models and datasets for the process (or Ray worker) that runs chunks.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mesampler.campaign.config import DatasetConfig, MethodConfig, ModelConfig, SettingConfig
from mesampler.campaign.protocol import attack_seed
from mesampler.campaign.store import encode_history
from mesampler.datasets import VideoDataset, VideoItem, load_dataset
from mesampler.datasets.clip import Clip
from mesampler.video.transform import to_float


@dataclass(frozen=True)
class VideoTask:
    """One video of a chunk: its item, model-class ``label``, ``target`` (targeted setting) and ``ordinal``."""

    item: VideoItem
    label: int
    target: int | None
    ordinal: int


@dataclass(frozen=True)
class Chunk:
    """Videos of one (dataset, model, method, setting) attacked in one ``attack_batch`` call."""

    dataset: DatasetConfig
    model: ModelConfig
    method: MethodConfig
    setting: SettingConfig
    seed: int
    videos: tuple[VideoTask, ...]
    device: str | None = None

    def key(self, v: VideoTask) -> tuple:
        return (self.dataset.name, v.item.id, self.model.name, self.method.name, self.setting.name, self.seed)


Rows = list[tuple[dict[str, Any], dict[str, np.ndarray]]]


def num_classes(model: Any) -> int | None:
    """The model's number of classes if it says so (spec, attribute or class list)."""
    spec = getattr(model, "spec", None)
    if spec is not None and getattr(spec, "num_classes", None):
        return int(spec.num_classes)
    k = getattr(model, "num_classes", None)
    if isinstance(k, int) and k > 0:
        return k
    classes = getattr(model, "classes", None)
    return len(classes) if classes else None


class Workspace:
    """Loaded models and datasets of this process, by config (loaded once, reused by every chunk)."""

    def __init__(self, *, device: str | None = None) -> None:
        self.device = device
        self._models: dict[str, Any] = {}
        self._datasets: dict[str, VideoDataset] = {}

    def model(self, cfg: ModelConfig, device: str | None = None) -> Any:
        from mesampler.models import get_entry
        from mesampler.models.adapters import load_model

        device = device or self.device
        key = json.dumps([cfg.ref, cfg.options, device], sort_keys=True, default=str)
        if key not in self._models:
            kwargs = dict(cfg.options)
            try:
                get_entry(cfg.ref)
                if device is not None:
                    kwargs.setdefault("device", device)
            except ValueError:
                pass
            self._models[key] = load_model(cfg.ref, **kwargs)
        return self._models[key]

    def dataset(self, cfg: DatasetConfig) -> VideoDataset:
        key = json.dumps([cfg.kind, cfg.root, cfg.options], sort_keys=True, default=str)
        if key not in self._datasets:
            self._datasets[key] = load_dataset(cfg.kind, cfg.root, name=cfg.name, **cfg.options)
        return self._datasets[key]

    @staticmethod
    def clip_shape(cfg: ModelConfig, model: Any) -> tuple[int | None, int | None]:
        """``(frames, size)`` of the clips for this model: the config's, else the model spec's."""
        spec = getattr(model, "spec", None)
        frames = cfg.frames if cfg.frames is not None else getattr(spec, "frames", None)
        size = cfg.size if cfg.size is not None else getattr(spec, "size", None)
        return frames, size

    def clip(self, cfg: ModelConfig, dataset: VideoDataset, item: VideoItem) -> Clip:
        """The clip of ``item`` that model ``cfg`` is attacked on (frames, short side and crop as configured)."""
        frames, size = self.clip_shape(cfg, self.model(cfg))
        return dataset.clip(item, frames=frames, size=size, crop=cfg.crop)

    def predict(
        self, cfg: ModelConfig, dataset: VideoDataset, items: list[VideoItem], batch: int = 16
    ) -> list[tuple[int, int, int]]:
        """Clean top-1 of each item's clip: ``[(prediction, clip start, clip frames), ...]`` (one query each)."""
        model = self.model(cfg)
        out: list[tuple[int, int, int]] = []
        for i in range(0, len(items), batch):
            clips = [self.clip(cfg, dataset, it) for it in items[i : i + batch]]
            groups: dict[tuple, list[int]] = {}
            for j, c in enumerate(clips):
                groups.setdefault(c.video.shape, []).append(j)
            preds = [0] * len(clips)
            for idx in groups.values():
                x = to_float(np.stack([clips[j].video for j in idx]))
                scores = np.asarray(_to_numpy(model(x)))
                for j, p in zip(idx, scores.argmax(1)):
                    preds[j] = int(p)
            out += [(p, c.start, len(c.video)) for p, c in zip(preds, clips)]
        return out


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().float().cpu().numpy()
    return np.asarray(a)


def _top1_prob(model: Any, videos: list[np.ndarray]) -> list[float]:
    """Top-1 softmax probability of each adversarial clip ``(T, H, W, 3)`` float32: one verification query
    per video, outside every attack's budget (like the clean queries of the protocol)."""
    groups: dict[tuple, list[int]] = {}
    for j, v in enumerate(videos):
        groups.setdefault(v.shape, []).append(j)
    probs = [0.0] * len(videos)
    for idx in groups.values():
        scores = np.asarray(_to_numpy(model(np.stack([videos[j] for j in idx]))), dtype=np.float64)
        e = np.exp(scores - scores.max(1, keepdims=True))
        for j, p in zip(idx, (e / e.sum(1, keepdims=True)).max(1)):
            probs[j] = float(p)
    return probs


def _targets(videos: Sequence[VideoTask]) -> list[int]:
    """The targets of a targeted chunk's videos (every one has a target)."""
    out = []
    for v in videos:
        if v.target is None:
            raise ValueError(f"video {v.item.id!r} of a targeted chunk has no target")
        out.append(v.target)
    return out


def run_chunk(ws: Workspace, chunk: Chunk) -> Rows:
    """Attack the chunk's videos together; return ``(row, arrays)`` per video (rows as the store's columns).

    The engine gets ``max_queries + 1``: its clean-label check is outside the budget (see the protocol), unless
    the setting counts it (``clean_in_budget``). The attack sees the setting's ``output`` view of the model.
    """
    import mesampler
    from mesampler.api import attack_batch
    from mesampler.attacks.registry import default_loss, needs_motion
    from mesampler.models.adapters import APIOutput
    from mesampler.reports.perturbation import perturbation_stats

    model = ws.model(chunk.model, chunk.device)
    dataset = ws.dataset(chunk.dataset)
    clips = [ws.clip(chunk.model, dataset, v.item) for v in chunk.videos]
    uses_motion = needs_motion(chunk.method.method)
    motions = [dataset.motion(v.item, c, kind=chunk.method.motion) if uses_motion else None
               for v, c in zip(chunk.videos, clips)]  # fmt: skip
    s = chunk.setting
    budget = chunk.method.budget(s)
    outside = 0 if s.clean_in_budget else 1  # the clean-label check, when it is outside the budget
    start = time.perf_counter()
    results = attack_batch(
        APIOutput(model, **s.output) if s.output else model,
        [c.video for c in clips],
        labels=[v.label for v in chunk.videos],
        targets=_targets(chunk.videos) if s.targeted else None,
        method=chunk.method.method,
        motions=motions if uses_motion else None,
        eps=s.eps,
        max_queries=budget + outside,
        loss=chunk.method.loss,
        seeds=[attack_seed(chunk.seed, v.ordinal) for v in chunk.videos],
        **chunk.method.params,
    )
    wall = time.perf_counter() - start
    adv_prob = _top1_prob(model, [r.adversarial for r in results])
    classes = getattr(model, "classes", None)
    host = socket.gethostname()
    loss = chunk.method.loss or default_loss(chunk.method.method)
    rows: Rows = []
    for v, c, m, r, p_adv in zip(chunk.videos, clips, motions, results, adv_prob):
        delta = r.adversarial - to_float(c.video)
        flicker, mode_share = perturbation_stats(delta)
        row = {
            "dataset": chunk.dataset.name, "video_id": v.item.id, "model": chunk.model.name,
            "method": chunk.method.name, "setting": s.name, "seed": chunk.seed, "attack": chunk.method.method,
            "loss": loss, "motion": chunk.method.motion if uses_motion else "-", "targeted": int(s.targeted),
            "eps": s.eps, "max_queries": budget, "attack_seed": r.seed,
            "params": json.dumps(r.params, sort_keys=True, default=str), "label": r.label,
            "label_name": v.item.label, "target": r.target, "adv_label": r.adv_label, "success": int(r.success),
            "queries": r.queries - outside, "loss_queries": r.loss_queries,
            "check_queries": r.check_queries - outside, "clean_queries": outside, "iterations": r.iterations,
            "linf": r.linf, "wall_time_s": wall,
            "batch_videos": len(chunk.videos), "clip_start": c.start, "clip_frames": len(c.video),
            "history": encode_history((q - outside, lv) for q, lv in r.history), "version": mesampler.__version__,
            "host": host, "finished_at": time.time(), "clean_prob": r.clean_prob, "adv_prob": p_adv,
            "adv_label_name": classes[r.adv_label] if classes and 0 <= r.adv_label < len(classes) else None,
            "broken_by": r.broken_by, "members": json.dumps(r.members) if r.members else None,
            "flicker": flicker, "mode_share": mode_share,
        }  # fmt: skip
        arrays = {
            "clean": c.video,
            "delta": delta.astype(np.float16),
        }
        if m is not None and len(m):
            arrays["motion"] = np.asarray(m[len(m) // 2], dtype=np.float16)
        rows.append((row, arrays))
    return rows
