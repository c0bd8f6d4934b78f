"""The Geo-TRAP prior (Li, Aich, Zhu, Asif, Song, Roy-Chowdhury, Krishnamurthy, NeurIPS 2021,
"Adversarial Attacks on Black Box Video Classifiers: Leveraging the Power of Geometric Transformations").

Per iteration and video: one noise frame ``r`` ``(C, H, W)`` ~ N(0, I) and, for every frame ``t``, a random
geometric transform ``A_t`` whose free parameters are drawn N(0, 1) and placed in the matrix of the chosen
family (identity elsewhere), as its released code does; the prior is ``r`` warped by ``A_t`` into frame ``t``
(bilinear, grid coordinates in [-1, 1] with ``align_corners=True``, zeros outside). Families and their free
parameters ``p``:

* ``translation``: ``[[1, 0, p0], [0, 1, p1]]``; ``dilation``: ``[[p0, 0, 0], [0, p0, 0]]``;
* ``translation_dilation`` (the paper's default): ``[[p0, 0, p1], [0, p0, p2]]``;
* ``rigid``: rotation by ``p0`` and translation ``(p1, p2)``; ``similarity``: rotation ``p0``, scale ``p1``,
  translation ``(p2, p3)``; ``affine``: six free entries;
* ``projective``: eight free entries and the homogeneous divide (the released code drops the third row,
  which makes it affine; here it is a true homography).
"""

from __future__ import annotations

import typing
from typing import Literal

import torch
import torch.nn.functional as F

from mesampler.samplers.base import Sampler

Family = Literal["translation", "dilation", "translation_dilation", "rigid", "similarity", "affine", "projective"]
FAMILIES: tuple[str, ...] = typing.get_args(Family)
FREEDOM = {"translation": 2, "dilation": 1, "translation_dilation": 3, "rigid": 3, "similarity": 4, "affine": 6,
           "projective": 8}  # fmt: skip


def transform_matrices(params: torch.Tensor, family: Family) -> torch.Tensor:
    """Free parameters ``(..., d)`` -> ``(..., 3, 3)`` matrices of ``family`` (see the module docstring)."""
    one, zero = torch.ones_like(params[..., 0]), torch.zeros_like(params[..., 0])
    p = params.unbind(-1)
    if family == "translation":
        rows = [(one, zero, p[0]), (zero, one, p[1])]
    elif family == "dilation":
        rows = [(p[0], zero, zero), (zero, p[0], zero)]
    elif family == "translation_dilation":
        rows = [(p[0], zero, p[1]), (zero, p[0], p[2])]
    elif family == "rigid":
        c, s = torch.cos(p[0]), torch.sin(p[0])
        rows = [(c, -s, p[1]), (s, c, p[2])]
    elif family == "similarity":
        c, s = torch.cos(p[0]) * p[1], torch.sin(p[0]) * p[1]
        rows = [(c, -s, p[2]), (s, c, p[3])]
    elif family in ("affine", "projective"):
        rows = [(p[0], p[1], p[2]), (p[3], p[4], p[5])]
    else:
        raise ValueError(f"unknown transform family {family!r}; choose one of {FAMILIES}")
    last = (p[6], p[7], one) if family == "projective" else (zero, zero, one)
    return torch.stack([torch.stack(r, -1) for r in (*rows, last)], -2)


def warp(frame: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Warp ``frame`` ``(C, H, W)`` by each of ``matrices`` ``(T, 3, 3)`` -> ``(T, H, W, C)``."""
    c, h, w = frame.shape
    ys = torch.linspace(-1, 1, h, device=frame.device)
    xs = torch.linspace(-1, 1, w, device=frame.device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    coords = torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(-1, 3)  # (H W, 3)
    mapped = torch.einsum("tij,pj->tpi", matrices, coords)  # (T, H W, 3)
    denom = mapped[..., 2:].where(mapped[..., 2:].abs() > 1e-6, torch.full_like(mapped[..., 2:], 1e-6))
    grid = (mapped[..., :2] / denom).reshape(len(matrices), h, w, 2)
    out = F.grid_sample(frame.expand(len(matrices), c, h, w), grid, mode="bilinear", align_corners=True)
    return out.permute(0, 2, 3, 1)


class GeoTrapSampler(Sampler):
    """One noise frame, warped into every frame by its own random transform of ``family``."""

    def __init__(self, *, family: Family = "translation_dilation") -> None:
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
        self.family = family

    def _draw_one(self, i: int, iteration: int) -> torch.Tensor:
        _, t, h, w, c = self.shape
        frame = self._randn(i, c, h, w)
        params = self._randn(i, t, FREEDOM[self.family])
        return warp(frame, transform_matrices(params, self.family))
