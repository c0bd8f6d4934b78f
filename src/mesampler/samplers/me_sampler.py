"""Motion-Excited Sampler (Zhang et al., ECCV 2020, sec. 3.3, eq. 3): the sparked prior.

For each pixel ``(x, y)`` of frame ``f``, the motion value ``(u, v) = m_f[y, x]`` is used as a
*coordinate* into the noise frame: ``r_s[f, y, x] = r[f, v, u]``. The prior is therefore
constant over regions of equal motion (all static pixels share ``r[f, 0, 0]``).

Rules the paper leaves open, settled here:

* Coordinates are the motion values in pixels, rounded to the nearest integer and taken modulo
  the frame size (``u mod W``, ``v mod H``): negative motions wrap to the far edge, so distinct
  motions smaller than half the frame stay distinct (clipping would merge all negative motions).
* Maps must have the video's height and width (``mesampler.attack`` aligns them with
  ``mesampler.motion.maps_to_shape``, rescaling the displacements).
* Every ``interval`` iterations each video draws ``T`` maps, one per frame, from its map set
  without replacement (Algorithm 1, line 2). With fewer maps than frames, random permutations
  of the whole set are concatenated, so every map is used equally often.
"""

from __future__ import annotations

from typing import Any

import torch

from mesampler.samplers.base import MotionSampler, VideoBatch


def sparked_index(maps: torch.Tensor) -> torch.Tensor:
    """Flat noise index ``(N, H*W)`` int64 for maps ``(N, H, W, 2)`` of (dx, dy) pixels (eq. 3)."""
    n, h, w, _ = maps.shape
    u = torch.round(maps[..., 0]).long().remainder(w)
    v = torch.round(maps[..., 1]).long().remainder(h)
    return (v * w + u).reshape(n, h * w)


def sparked_prior(noise: torch.Tensor, index: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Warp noise ``(T, H, W, C)`` by per-frame indices ``(T, H*W)`` -> ``(T, H, W, C)`` (into ``out`` if given)."""
    t, h, w, c = noise.shape
    rows = (index + torch.arange(0, t * h * w, h * w, device=index.device)[:, None]).reshape(-1)
    flat_out = None if out is None else out.view(t * h * w, c)
    return torch.index_select(noise.reshape(t * h * w, c), 0, rows, out=flat_out).view(t, h, w, c)


class MESampler(MotionSampler):
    """The sparked prior. ``interval``: iterations between map draws (paper: t = 10)."""

    def init(self, batch: VideoBatch) -> None:
        super().init(batch)
        self._index = [sparked_index(m) for m in batch.motions if m is not None]
        self._chosen: list[torch.Tensor | None] = [None] * len(batch.motions)

    def state_dict(self) -> dict[str, Any]:
        """The maps each video uses now, ``(B, T)`` int64 (-1: none drawn yet)."""
        t = self.shape[1]
        rows = [torch.full((t,), -1, dtype=torch.long) if c is None else c.cpu() for c in self._chosen]
        return {"chosen": torch.stack(rows)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        dev = self.generators[0].device
        self._chosen = [None if bool((c < 0).all()) else c.to(dev) for c in state["chosen"]]

    def _choose(self, i: int) -> torch.Tensor:
        t = self.shape[1]
        n = self._index[i].shape[0]
        g = self.generators[i]
        perms = [torch.randperm(n, generator=g, device=g.device) for _ in range(-(-t // n))]
        return torch.cat(perms)[:t]

    def _draw_into(self, i: int, iteration: int, out: torch.Tensor) -> None:
        chosen = self._chosen[i]
        if chosen is None or iteration % self.interval == 0:
            chosen = self._chosen[i] = self._choose(i)
        sparked_prior(self._randn(i, *out.shape), self._index[i][chosen], out=out)
