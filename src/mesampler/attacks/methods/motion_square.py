"""Motion-guided Square (ours; no paper): Square Attack whose tubes follow the video's own motion.

A plain Square tube (:mod:`mesampler.attacks.methods.square`) is a window fixed in place over a range of
frames. A moving object leaves such a window; a perturbation that moves *with* it stays on the same object
part, which a motion-sensitive video model is likely to weigh in every frame. Here the window of frame ``t``
is the tube's first window moved by the accumulated motion inside it: with ``m_k`` the mean (dx, dy) of map ``k``
over the first window and GOP length ``gop``, the motion travelled by frame ``t = k gop + f`` is
``m_0 + ... + m_{k-1} + (f / gop) m_k`` (no motion past the last map); the window of frame ``t`` is moved by
what was travelled since the tube's first frame (rounded, kept inside the frame).
Everything else (schedule, stripes, acceptance, one query per proposal) is Square's; with all-zero maps it is
exactly ``square`` with the same seed, which makes ``square`` its ablation without motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mesampler.attacks.methods.square import Square, SquareDefaults
from mesampler.attacks.registry import register_attack
from mesampler.samplers.base import VideoBatch


@dataclass(frozen=True)
class MotionSquareDefaults(SquareDefaults):
    """Square's record plus ``gop``: frames per motion map (the maps' GOP, 12 for our MPEG-4 re-encode)."""

    gop: int = 12


class MotionSquare(Square):
    """Square with tubes carried along the accumulated motion vectors."""

    def __init__(self, *, p_init: float = 0.05, time_scale: float = 1.0, stripes: str = "video", gop: int = 12) -> None:
        super().__init__(p_init=p_init, time_scale=time_scale, stripes=stripes)
        if isinstance(gop, bool) or not isinstance(gop, int) or gop < 1:
            raise ValueError(f"gop must be an int >= 1, got {gop!r}")
        self.gop = gop

    def init(self, batch: VideoBatch) -> None:
        super().init(batch)
        if any(m is None for m in batch.motions):
            raise ValueError("motion-square needs motion maps for every video")
        self.maps = [m for m in batch.motions if m is not None]

    def _windows(
        self, i: int, t0: int, length: int, y0: int, x0: int, side: int, shape: tuple[int, ...]
    ) -> list[tuple[int, slice, slice]]:
        """``(frame, rows, cols)`` of the tube's window in each of its frames, moved along the motion."""
        h, w = shape[1:3]
        mean = self.maps[i][:, y0 : y0 + side, x0 : x0 + side].reshape(len(self.maps[i]), -1, 2).mean(1)  # (N, 2)

        def travelled(t: int) -> torch.Tensor:  # accumulated (dx, dy) from frame 0 to frame t
            k, f = divmod(t, self.gop)
            whole = mean[: min(k, len(mean))].sum(0)
            return whole + (f / self.gop) * mean[min(k, len(mean) - 1)] if k < len(mean) else whole

        start = travelled(t0)
        out = []
        for t in range(t0, t0 + length):
            dx, dy = (int(round(float(v))) for v in travelled(t) - start)
            ys, xs = min(max(y0 + dy, 0), h - side), min(max(x0 + dx, 0), w - side)
            out.append((t, slice(ys, ys + side), slice(xs, xs + side)))
        return out

    def _place(self, out: torch.Tensor, i: int, tube: tuple[slice, slice, slice], signs: torch.Tensor) -> None:
        frames, rows, cols = tube
        t0, t1 = frames.start, frames.stop
        side = rows.stop - rows.start
        for t, r, c in self._windows(i, t0, t1 - t0, rows.start, cols.start, side, tuple(out.shape)):
            out[t, r, c] = (self.x0[i][t, r, c] + self.eps * signs).clamp(0, 1)


@register_attack(
    "motion-square", defaults=MotionSquareDefaults, paper="mesampler (ours): Square tubes along motion vectors",
    needs_motion=True,
)  # fmt: skip
def motion_square(p: MotionSquareDefaults) -> MotionSquare:
    """Square Attack whose spatio-temporal tubes follow the accumulated motion vectors."""
    return MotionSquare(p_init=p.p_init, time_scale=p.time_scale, stripes=p.stripes, gop=p.gop)
