"""One PNG that shows an attack: clean frames, adversarial frames, amplified perturbation, motion map."""

from __future__ import annotations

import os

import numpy as np

from mesampler.motion.colour import flow_to_rgb
from mesampler.video.transform import to_float


def amplify(delta: np.ndarray, eps: float) -> np.ndarray:
    """Perturbation in ``[-eps, eps]`` -> picture in [0, 1] (grey = 0, full colour = +-eps)."""
    return np.clip(0.5 + delta / (2 * eps), 0, 1)


def save_attack_figure(
    path: str | os.PathLike,
    clean: np.ndarray,
    adversarial: np.ndarray,
    *,
    eps: float,
    motion: np.ndarray | None = None,
    frames: int = 4,
    title: str = "",
) -> None:
    """Write a PNG grid: rows clean / adversarial / amplified perturbation / motion map; ``frames`` columns.

    Args:
        clean, adversarial: ``(T, H, W, 3)`` float32 in [0, 1] (or uint8).
        eps: the attack's bound, used to scale the perturbation picture.
        motion: maps ``(N, H, W, 2)`` shown under evenly spaced frames (map ``i * N // frames``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clean = _float(clean)
    adversarial = _float(adversarial)
    t = clean.shape[0]
    cols = np.unique(np.linspace(0, t - 1, min(frames, t)).round().astype(int))
    rows = [
        ("clean", lambda i: clean[i]),
        ("adversarial", lambda i: adversarial[i]),
        (f"perturbation (x{0.5 / eps:.0f})", lambda i: amplify(adversarial[i] - clean[i], eps)),
    ]
    if motion is not None and len(motion):
        top = float(np.hypot(motion[..., 0], motion[..., 1]).max()) or None
        rows.append(
            ("motion map", lambda i: flow_to_rgb(motion[min(len(motion) - 1, i * len(motion) // t)], max_magnitude=top))
        )
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.2 * len(cols), 2.2 * len(rows)), squeeze=False)
    for r, (name, get) in enumerate(rows):
        for c, i in enumerate(cols):
            ax = axes[r, c]
            ax.imshow(get(i), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {i}", fontsize=9)
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _float(v: np.ndarray) -> np.ndarray:
    return to_float(v) if v.dtype == np.uint8 else v.astype(np.float32)
