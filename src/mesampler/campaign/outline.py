"""What a campaign config asks for, checked and listed without a model query (``campaign run --dry-run``).

:func:`check_config` refuses what would fail later (unknown methods, hyper-parameters, losses, models,
dataset kinds, missing roots, motion a method cannot use); :func:`outline` lists the work units:
(dataset, model, method, setting) with the most videos the protocol can select before its clean check.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

from mesampler.campaign.config import CampaignConfig


@dataclass(frozen=True)
class WorkUnit:
    """One (dataset, model, method, setting) of a campaign; ``videos``: at most this many attacks."""

    dataset: str
    model: str
    method: str
    attack: str
    loss: str
    motion: str
    setting: str
    targeted: bool
    eps: float
    max_queries: int
    videos: int | None

    def line(self) -> str:
        goal = "targeted" if self.targeted else "untargeted"
        n = "?" if self.videos is None else f"<= {self.videos}"
        return (
            f"{self.dataset} / {self.model} / {self.method} ({self.attack}, {self.loss} loss, motion {self.motion}) "
            f"/ {self.setting} ({goal}, eps {self.eps}, budget {self.max_queries}): {n} videos"
        )


def check_config(config: CampaignConfig) -> None:
    """Raise ``ValueError``/``TypeError``/``FileNotFoundError`` naming the first entry that cannot run."""
    from mesampler.attacks.losses import LOSSES
    from mesampler.attacks.registry import method_params, method_spec
    from mesampler.datasets.registry import DATASETS
    from mesampler.models import get_entry

    for m in config.models:
        if m.ref.startswith(("http://", "https://")):
            continue
        try:
            entry = get_entry(m.ref)
        except ValueError:
            if not Path(m.ref).exists():
                raise ValueError(f"model {m.name!r}: {m.ref!r} is neither a registered model nor a file") from None
            continue
        accepted = set(inspect.signature(entry.factory).parameters)
        bad = sorted(set(m.options) - accepted)
        if bad:
            raise TypeError(f"model {m.name!r} ({m.ref}): unknown option(s) {bad}; accepted {sorted(accepted)}")
    for d in config.datasets:
        DATASETS.get(d.kind)
        if d.root is not None and not Path(d.root).exists():
            raise FileNotFoundError(f"dataset {d.name!r}: root {d.root} not found")
        if d.mapping not in (None, "index") and not Path(str(d.mapping)).is_file():
            raise FileNotFoundError(f"dataset {d.name!r}: mapping file {d.mapping} not found")
    for meth in config.methods:
        spec = method_spec(meth.method)
        method_params(meth.method, **meth.params)
        if meth.loss is not None:
            LOSSES.get(meth.loss)
        if spec.needs_motion and meth.motion == "testbed" and not any(d.kind == "testbed" for d in config.datasets):
            raise ValueError(f"method {meth.name!r}: motion 'testbed' needs a testbed dataset")


def outline(config: CampaignConfig, *, load_datasets: bool = True) -> list[WorkUnit]:
    """The campaign's work units after :func:`check_config`; with ``load_datasets`` each dataset is listed
    (no video decoded, no model loaded) to bound its videos by classes x ``videos_per_class``."""
    from mesampler.attacks.registry import default_loss, needs_motion
    from mesampler.datasets import load_dataset

    check_config(config)
    bound: dict[str, int | None] = {}
    for d in config.datasets:
        if not load_datasets:
            bound[d.name] = None
            continue
        ds = load_dataset(d.kind, d.root, name=d.name, **d.options)
        if config.selection == "in-order":
            n = len(ds.items)
            bound[d.name] = n if config.max_videos is None else min(n, config.max_videos)
            continue
        per_class = [len(v) for v in ds.by_class().values() if v]
        if config.max_classes is not None:
            per_class = per_class[: config.max_classes]
        cap = config.videos_per_class
        if config.max_candidates is not None:
            cap = min(cap, config.max_candidates)
        bound[d.name] = sum(min(n, cap) for n in per_class)
    units = []
    for d in config.datasets:
        for m in config.models:
            for meth in config.methods:
                for s in config.settings:
                    if not config.runs(meth, s):
                        continue
                    units.append(
                        WorkUnit(
                            d.name, m.name, meth.name, meth.method, meth.loss or default_loss(meth.method),
                            meth.motion if needs_motion(meth.method) else "-", s.name, s.targeted, s.eps,
                            meth.budget(s), _at_most(bound[d.name], s.max_videos),
                        )
                    )  # fmt: skip
    return units


def _at_most(n: int | None, cap: int | None) -> int | None:
    """``n`` capped by ``cap`` (either may be unknown, ``None``)."""
    if cap is None:
        return n
    return cap if n is None else min(n, cap)
