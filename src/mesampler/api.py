"""Public entry points: :func:`attack` and :func:`attack_batch`.

They validate user input, build the method from the registry, wrap the model in the query
oracle and run the shared loop. Everything else lives in :mod:`mesampler.attacks`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from mesampler.attacks.base import Callback
from mesampler.attacks.checkpoint import Checkpoint, fingerprint
from mesampler.attacks.losses import get_loss
from mesampler.attacks.oracle import QueryOracle
from mesampler.attacks.registry import ATTACKS, MethodSpec, as_dict, method_params, method_spec
from mesampler.attacks.result import AttackResult
from mesampler.models.protocol import Model, model_device
from mesampler.motion import maps_for_clip, motion_maps
from mesampler.samplers.base import VideoBatch
from mesampler.video.io import as_uint8_frames
from mesampler.video.transform import to_float


class Setting(NamedTuple):
    eps: float
    max_queries: int


UNTARGETED = Setting(eps=0.03, max_queries=60_000)
"""The paper's untargeted setting (sec. 4.1): kappa = 0.03 on [0, 1] pixels, Q = 60,000."""
TARGETED = Setting(eps=0.05, max_queries=200_000)
"""The paper's targeted setting (sec. 4.1): kappa = 0.05, Q = 200,000."""

Motion = None | str | os.PathLike[str] | tuple[str | os.PathLike[str], int] | np.ndarray | torch.Tensor


def attack(
    model: Model,
    video: np.ndarray | torch.Tensor,
    *,
    label: int | None = None,
    target: int | None = None,
    method: str = "me-sampler",
    motion: Motion = None,
    eps: float | None = None,
    max_queries: int | None = None,
    loss: str | None = None,
    seed: int = 0,
    **params: Any,
) -> AttackResult:
    """Attack one video; see :func:`attack_batch` for every argument.

    Args:
        model: callable ``(N, T, H, W, 3) float32 in [0, 1]`` -> ``(N, K)`` scores.
        video: ``(T, H, W, 3)`` uint8, or float32 in [0, 1].
        label: true class; ``None`` uses the model's clean top-1 (one check query, counted).
        target: class to reach (targeted attack); ``None`` for untargeted.
        motion: ``None`` (accumulated motion vectors of ``video`` itself, GOP 12, a trailing partial GOP
            included); a path to the video file the clip came from, or ``(path, start)`` when the clip is
            frames ``[start, start + T)`` of that file: the maps of that window (the CLI's rule), not of the
            whole file; or maps ``(N, H, W, 2)`` float32 of (dx, dy) pixels.
        eps: l-inf bound on [0, 1] pixels (default 0.03 untargeted, 0.05 targeted).
        max_queries: budget, loss plus check queries (default 60,000 / 200,000).
        loss: ``"logits"`` (margin), ``"cross-entropy"`` or ``"probability"``; ``None``: the method's own
            default (``"logits"``, the paper's best, unless the method declares another).
        seed: seed of the attack's noise.
        **params: the method's hyper-parameters (``mesampler.attacks.attack_params(method)``) and
            the engine options of :func:`attack_batch` (``device``, ``batch_size``, ``scores``, ``callback``).
    """
    return attack_batch(
        model,
        [video],
        labels=None if label is None else [label],
        targets=None if target is None else [target],
        method=method,
        motions=None if motion is None else [motion],
        eps=eps,
        max_queries=max_queries,
        loss=loss,
        seed=seed,
        **params,
    )[0]


def attack_batch(
    model: Model,
    videos: Sequence[np.ndarray | torch.Tensor],
    *,
    labels: Sequence[int | None] | None = None,
    targets: Sequence[int] | None = None,
    method: str = "me-sampler",
    motions: Sequence[Motion] | None = None,
    eps: float | None = None,
    max_queries: int | None = None,
    loss: str | None = None,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    device: str | torch.device | None = None,
    batch_size: int | None = None,
    scores: Literal["auto", "logits", "probs"] = "auto",
    callback: Callback | None = None,
    checkpoint: str | os.PathLike[str] | Checkpoint | None = None,
    **params: Any,
) -> list[AttackResult]:
    """Attack many videos together: each iteration sends the probes of every running video in one
    model call and their success checks in another; finished videos drop out, and each video's
    query count stays its own. Video ``i`` uses seed ``seed + i`` (or ``seeds[i]``), so its result equals
    ``attack(model, videos[i], seed=seed + i)``. Videos of different shapes run in separate groups.

    Args:
        seeds: one seed per video, overriding ``seed + i`` (e.g. to resume any subset of a larger run).
        device: where the attack's tensors live (default: the model's ``device`` for torch
            models, else CPU).
        batch_size: largest number of videos per model call (default: all).
        scores: whether the model returns ``"logits"`` or ``"probs"``; ``"auto"`` detects it.
        callback: called after every check with a dict of per-video progress.
        checkpoint: a file (or :class:`~mesampler.attacks.checkpoint.Checkpoint`) where the attack saves its
            state every 60 s; calling again with the same arguments after a crash resumes from it, with the
            queries spent before counted. Removed when the attack ends. All videos must have one shape.
    Returns:
        one :class:`AttackResult` per video, in input order.
    """
    if isinstance(videos, (np.ndarray, torch.Tensor)) and np.ndim(videos) == 4:
        raise TypeError("attack_batch takes a list of (T, H, W, 3) videos; use attack() for one video")
    if len(videos) == 0:
        return []
    plan = _validate(videos, labels, targets, method, motions, eps, max_queries, loss, seed, seeds, params)
    attack = ATTACKS.get(method)(plan.record)  # built once, before any query: bad values fail here
    if plan.max_queries < attack.queries_per_iteration:
        raise ValueError(
            f"max_queries={plan.max_queries} is below one iteration of {method!r} "
            f"({attack.queries_per_iteration} queries); give at least {attack.queries_per_iteration}"
        )
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be an int >= 1 or None, got {batch_size!r}")
    dev = torch.device(device) if device is not None else model_device(model)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(plan.videos):
        groups.setdefault(tuple(x.shape), []).append(i)
    ckpt = _checkpoint(checkpoint, plan, len(groups))
    results: dict[int, AttackResult] = {}
    for idx in groups.values():
        x0 = torch.stack([plan.videos[i] for i in idx]).to(dev)
        maps = [_motion(plan.motions[i], plan.videos[i], i) if plan.spec.needs_motion else None for i in idx]
        batch = VideoBatch(
            x0,
            [torch.Generator(device=dev).manual_seed(int(plan.seeds[i])) for i in idx],
            [None if m is None else m.to(dev) for m in maps],
            plan.eps,
            plan.max_queries,
        )
        oracle = QueryOracle(model, len(idx), plan.max_queries, device=dev, batch_size=batch_size, scores=scores)
        lab_t = torch.tensor([-1 if plan.labels[i] is None else plan.labels[i] for i in idx], device=dev)
        tgt_t = torch.tensor([plan.targets[i] for i in idx], device=dev) if plan.targeted else None
        start = time.perf_counter()
        out = attack.run(
            oracle, batch, lab_t, tgt_t, eps=plan.eps, loss=get_loss(plan.loss), callback=callback, checkpoint=ckpt
        )
        elapsed = time.perf_counter() - start
        for i, r in zip(idx, out, strict=True):
            r.method, r.loss, r.eps, r.max_queries, r.seed = (
                method,
                plan.loss,
                plan.eps,
                plan.max_queries,
                plan.seeds[i],
            )
            r.params, r.wall_time_s, r.label_given = plan.params, elapsed, plan.labels[i] is not None
            results[i] = r
    if ckpt is not None and ckpt.remove_when_done:
        ckpt.clear()
    return [results[i] for i in range(len(videos))]


@dataclass(frozen=True)
class Plan:
    """A validated request: everything :func:`attack_batch` needs, checked before any query."""

    spec: MethodSpec
    record: Any  # the method's defaults record with the caller's hyper-parameters
    params: dict[str, Any]  # the record as results store it (JSON-ready)
    loss: str
    eps: float
    max_queries: int
    targeted: bool
    videos: list[torch.Tensor]
    labels: list[int | None]
    targets: list[int | None]
    motions: list[Motion]
    seeds: list[int]


def _validate(
    videos: Sequence[np.ndarray | torch.Tensor],
    labels: Sequence[int | None] | None,
    targets: Sequence[int] | None,
    method: str,
    motions: Sequence[Motion] | None,
    eps: float | None,
    max_queries: int | None,
    loss: str | None,
    seed: int,
    seeds: Sequence[int] | None,
    params: dict[str, Any],
) -> Plan:
    n = len(videos)
    spec = method_spec(method)
    record = method_params(method, **params)
    loss = loss if loss is not None else spec.default_loss
    get_loss(loss)
    labels_l = _per_video(labels, n, "labels")
    targets_l = _per_video(targets, n, "targets")
    seeds_l = [seed + i for i in range(n)] if seeds is None else _per_video(seeds, n, "seeds")
    for i, s_ in enumerate(seeds_l):
        if isinstance(s_, bool) or not isinstance(s_, (int, np.integer)) or s_ < 0:
            raise ValueError(f"seeds[{i}] must be a non-negative int, got {s_!r}")
    targeted = targets is not None
    default = TARGETED if targeted else UNTARGETED
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if max_queries is not None and (isinstance(max_queries, bool) or not isinstance(max_queries, (int, np.integer))):
        raise TypeError(f"max_queries must be an int (a number of queries), got {max_queries!r}")
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating))):
        raise TypeError(f"eps must be a number, got {eps!r}")
    eps = default.eps if eps is None else float(eps)
    max_queries = default.max_queries if max_queries is None else int(max_queries)
    norm = getattr(record, "norm", "linf")
    if norm == "linf" and not 0 < eps <= 1:
        raise ValueError(f"eps must be in (0, 1] (pixels in [0, 1]), got {eps}")
    if norm == "l2" and not eps > 0:
        raise ValueError(f"eps (the l2 radius over the whole video) must be > 0, got {eps}")
    if max_queries < 1:
        raise ValueError(f"max_queries must be >= 1, got {max_queries}")
    xs = [_as_video(v, i) for i, v in enumerate(videos)]
    for i, (lab, tgt) in enumerate(zip(labels_l, targets_l, strict=True)):
        _check_class(lab, f"labels[{i}]")
        if targeted:
            _check_class(tgt, f"targets[{i}]")
            if tgt is None:
                raise ValueError(f"targets[{i}] is None: a targeted attack needs a target for every video")
            if lab is not None and lab == tgt:
                raise ValueError(f"targets[{i}] equals labels[{i}] ({tgt}): nothing to attack")
    plain = {k: _plain(v) for k, v in as_dict(record).items()}
    return Plan(
        spec, record, plain, loss, eps, max_queries, targeted, xs, labels_l, targets_l,
        _per_video(motions, n, "motions"), [int(s_) for s_ in seeds_l],
    )  # fmt: skip


def _checkpoint(checkpoint: str | os.PathLike[str] | Checkpoint | None, plan: Plan, groups: int) -> Checkpoint | None:
    """The run's checkpoint, keyed by everything that decides the attack."""
    if checkpoint is None:
        return None
    if groups > 1:
        raise ValueError("checkpoint= needs videos of one shape (they are attacked as one batch)")
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint(checkpoint)
    ckpt.key = fingerprint(
        torch.stack(plan.videos), method=plan.spec.name, loss=plan.loss, eps=plan.eps, max_queries=plan.max_queries,
        seeds=plan.seeds, labels=plan.labels, targets=plan.targets, params=plan.params,
        motions=[_digest(m) for m in plan.motions],
    )  # fmt: skip
    return ckpt


def _digest(motion: Motion) -> str | None:
    """What identifies a motion argument in a checkpoint's fingerprint."""
    if motion is None or isinstance(motion, (str, os.PathLike, tuple)):
        return None if motion is None else str(motion)
    data = motion.detach().cpu().numpy() if isinstance(motion, torch.Tensor) else np.asarray(motion)
    return hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()


def _plain(value: Any) -> Any:
    """A hyper-parameter as recorded in results: JSON-ready values as they are, objects by their repr."""
    plain = (bool, int, float, str, type(None))
    if isinstance(value, (tuple, list)) and all(isinstance(v, plain) for v in value):
        return list(value)
    return value if isinstance(value, plain) else repr(value)


def _per_video(values: Sequence[Any] | None, n: int, name: str) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray | torch.Tensor):
        raise TypeError(f"{name} must be a sequence with one entry per video, got {type(values).__name__}")
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for {n} videos")
    return list(values)


def _check_class(c: Any, name: str) -> None:
    if c is None:
        return
    if (
        isinstance(c, bool)
        or not isinstance(c, (int, np.integer))
        and not (isinstance(c, torch.Tensor) and c.ndim == 0 and not c.is_floating_point())
    ):
        raise TypeError(f"{name} must be an integer class index, got {c!r}")
    if int(c) < 0:
        raise ValueError(f"{name} must be >= 0, got {int(c)}")


def _as_video(video: Any, i: int) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 or float in [0, 1] -> float32 tensor in [0, 1] (on the CPU)."""
    where = f"video {i}"
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu().numpy()
    if not isinstance(video, np.ndarray):
        raise TypeError(f"{where}: expected a numpy array or torch tensor, got {type(video).__name__}")
    if video.ndim != 4 or video.shape[-1] != 3 or min(video.shape) < 1:
        raise ValueError(f"{where}: expected shape (T, H, W, 3), got {video.shape}")
    if video.dtype == np.uint8:
        return torch.from_numpy(to_float(video))
    if not np.issubdtype(video.dtype, np.floating):
        raise TypeError(f"{where}: expected uint8 or float in [0, 1], got dtype {video.dtype}")
    if not np.isfinite(video).all():
        raise ValueError(f"{where}: contains NaN or inf")
    lo, hi = float(video.min()), float(video.max())
    if lo < 0 or hi > 1:
        raise ValueError(
            f"{where}: float values must lie in [0, 1], found [{lo:.4g}, {hi:.4g}] (uint8 frames are scaled for you)"
        )
    return torch.from_numpy(np.ascontiguousarray(video, dtype=np.float32))


def _motion(motion: Motion, video: torch.Tensor, i: int) -> torch.Tensor:
    """Motion maps ``(N, H, W, 2)`` float32 for video ``i``."""
    t, h, w, _ = video.shape
    data: np.ndarray | torch.Tensor
    if motion is None:
        frames = as_uint8_frames(video.numpy())
        data = np.asarray(motion_maps(frames, kind="mv", partial=True))
    elif isinstance(motion, (str, os.PathLike, tuple)):
        path, start = (motion, 0) if not isinstance(motion, tuple) else motion
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
            raise ValueError(f"motion for video {i}: (path, start) needs a frame index start >= 0, got {start!r}")
        data = maps_for_clip(os.fspath(path), height=h, width=w, start=int(start), frames=t)
    else:
        data = motion
    maps = torch.as_tensor(np.asarray(data.cpu() if isinstance(data, torch.Tensor) else data), dtype=torch.float32)
    if maps.ndim != 4 or maps.shape[-1] != 2 or maps.shape[0] < 1:
        raise ValueError(
            f"motion for video {i}: expected maps of shape (N, H, W, 2) with N >= 1, got {tuple(maps.shape)}"
        )
    if not torch.isfinite(maps).all():
        raise ValueError(f"motion for video {i}: maps contain NaN or inf")
    return maps
