"""Campaign figures (matplotlib, PNG): loss curves (Fig. 1b style), success rate versus queries, the targeted
comparison (Fig. 4 style) and per-video gallery figures."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from mesampler.reports.campaign_tables import stats
from mesampler.video.transform import to_float


def _plt() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _groups(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]]:
    out: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        out.setdefault((r["setting"], r["dataset"], r["model"]), {}).setdefault(r["method"], []).append(r)
    return out


def mean_loss_curve(histories: Sequence[np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Mean over videos of each video's last loss at or before each query count of ``grid`` (a finished video
    keeps its final loss)."""
    vals = []
    for h in histories:
        if len(h) == 0:
            continue
        idx = np.searchsorted(h[:, 0], grid, side="right") - 1
        vals.append(h[np.clip(idx, 0, len(h) - 1), 1])
    return np.mean(vals, axis=0) if vals else np.full(len(grid), np.nan)


def success_curve(rows: Sequence[dict[str, Any]], grid: np.ndarray) -> np.ndarray:
    """Percentage of videos fooled within each query count of ``grid``."""
    q = np.array([r["queries"] for r in rows if r["success"]], float)
    return np.array([100.0 * (q <= g).sum() / max(len(rows), 1) for g in grid])


def _versus_queries(
    rows: Sequence[dict[str, Any]],
    out: Path,
    name: str,
    ylabel: str,
    curve: Callable[[list[dict[str, Any]], np.ndarray], np.ndarray],
    label: Callable[[str, list[dict[str, Any]]], str],
    caption: str,
    log: bool = False,
) -> list[tuple[str, Path]]:
    """One figure per (setting, dataset, model): ``curve(rows, grid)`` of each method against queries
    (``log``: on a logarithmic query axis from 1 to the budget)."""
    plt = _plt()
    figs = []
    for (s, d, m), by in sorted(_groups(rows).items()):
        budget = max(r["max_queries"] for g in by.values() for r in g)
        grid = np.geomspace(1, budget, 200) if log else np.linspace(0, budget, 200)
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        for meth, g in sorted(by.items()):
            ax.plot(grid, curve(g, grid), label=label(meth, g))
        ax.set_xlabel("queries (log scale)" if log else "queries")
        if log:
            ax.set_xscale("log")
        ax.set_ylabel(ylabel)
        if name == "success":
            ax.set_ylim(0, 100)
        ax.set_title(f"{ylabel} vs queries: {d} / {m} / {s}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = out / f"{name}_{s}_{d}_{m}.png".replace("/", "_")
        fig.savefig(p, dpi=100)
        plt.close(fig)
        figs.append((caption.format(where=f"{d} / {m} / {s}"), p))
    return figs


def loss_curves(rows: Sequence[dict[str, Any]], out: Path) -> list[tuple[str, Path]]:
    return _versus_queries(
        rows, out, "loss", "mean loss",
        lambda g, grid: mean_loss_curve([r["history"] for r in g], grid),
        lambda meth, g: f"{meth} ({g[0]['loss']})",
        "Loss curves, {where} (mean over videos; Fig. 1b style)",
    )  # fmt: skip


def success_curves(rows: Sequence[dict[str, Any]], out: Path) -> list[tuple[str, Path]]:
    return _versus_queries(
        rows, out, "success", "success rate (%)", success_curve, lambda meth, g: meth,
        "Success rate versus queries (log axis), {where}", log=True,
    )  # fmt: skip


def targeted_bars(rows: Sequence[dict[str, Any]], out: Path) -> list[tuple[str, Path]]:
    """Fig. 4 style: ANQ and SR per method, bars grouped by model, for each targeted setting and dataset."""
    plt = _plt()
    figs = []
    targeted = [r for r in rows if r["targeted"]]
    keys = sorted({(r["setting"], r["dataset"]) for r in targeted})
    for s, d in keys:
        g = [r for r in targeted if r["setting"] == s and r["dataset"] == d]
        models = sorted({r["model"] for r in g})
        methods = sorted({r["method"] for r in g})
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
        w = 0.8 / max(len(methods), 1)
        for j, meth in enumerate(methods):
            st = [stats([r for r in g if r["model"] == m and r["method"] == meth]) for m in models]
            x = np.arange(len(models)) + j * w
            axes[0].bar(x, [t.get("anq", 0) for t in st], w, label=meth)
            axes[1].bar(x, [t.get("sr", 0) for t in st], w, label=meth)
        for ax, lab in zip(axes, ("ANQ (failures at Q)", "success rate (%)")):
            ax.set_xticks(np.arange(len(models)) + 0.4 - w / 2, models, fontsize=8)
            ax.set_ylabel(lab)
        axes[1].set_ylim(0, 100)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"targeted: {d} / {s}", fontsize=9)
        fig.tight_layout()
        p = out / f"targeted_{s}_{d}.png".replace("/", "_")
        fig.savefig(p, dpi=100)
        plt.close(fig)
        figs.append((f"Targeted comparison, {d} / {s} (Fig. 4 style)", p))
    return figs


def gallery_rows(rows: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` rows alternating success, failure, success, ... (the rest from whichever kind remains)."""
    ok = sorted((r for r in rows if r["success"]), key=lambda r: r["id"])
    bad = sorted((r for r in rows if not r["success"]), key=lambda r: r["id"])
    out: list[dict[str, Any]] = []
    while len(out) < n and (ok or bad):
        for pool in (ok, bad):
            if pool and len(out) < n:
                out.append(pool.pop(0))
    return out


def gallery(rows: Sequence[dict[str, Any]], directory: Path, out: Path, n: int) -> list[tuple[str, Path]]:
    """Per-video figures (clean, adversarial, amplified perturbation, motion map) for ``n`` rows: successes
    and failures alternately (failures are shown whenever there are any), each in store order."""
    from mesampler.reports.figure import save_attack_figure

    chosen = gallery_rows(rows, n)
    figs = []
    for r in chosen:
        if not r["video_file"] or not (directory / r["video_file"]).is_file():
            continue
        with np.load(directory / r["video_file"]) as z:
            clean = z["clean"]
            adv = np.clip(to_float(clean) + z["delta"].astype(np.float32), 0, 1)
            motion = z["motion"][None].astype(np.float32) if "motion" in z else None
        goal = f"target {r['target']}" if r["targeted"] else "untargeted"
        verdict = "fooled" if r["success"] else "not fooled"
        adv_name = r.get("adv_label_name") or r["adv_label"]
        title = (f"{r['video_id']} | {r['model']} | {r['method']} | {goal}: {r['label_name']} -> {adv_name} "
                 f"({verdict}, {r['queries']} queries)")  # fmt: skip
        p = out / f"gallery_{r['id']:06d}.png"
        save_attack_figure(p, clean, adv, eps=r["eps"], motion=motion, title=title)
        figs.append((title, p))
    return figs


def write_all(rows: Sequence[dict[str, Any]], directory: str | os.PathLike, out: Path, *, gallery_n: int) -> dict:
    return {
        "loss": loss_curves(rows, out),
        "success": success_curves(rows, out),
        "targeted": targeted_bars(rows, out),
        "gallery": gallery(rows, Path(directory), out, gallery_n),
    }
