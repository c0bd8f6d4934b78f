"""Procedural motion clips: one textured object moving over a static textured background.

The class decides only the object's motion (translation, rotation, oscillation, zoom); the object's
shape, size, texture, colours, orientation and the background are drawn independently of it.
Frames are rendered by inverse warping: each pixel is mapped back to the object's canonical
coordinates ``p`` and the texture is sampled there bilinearly, so motion is sub-pixel exact and
the ground-truth displacement of every object pixel is known in closed form.

Object pose at frame ``t``: image position ``x = c(t) + s(t) R(theta(t)) p`` (pixels, ``x`` to the
right, ``y`` down; a growing ``theta`` turns clockwise on screen).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mesampler.testbed.config import CLASSES, TestbedConfig

_TEX = 40  # canonical texture side in pixels, covers p in [-_TEX / 2, _TEX / 2)


def _upsample(grid: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear upsampling of ``(gh, gw, C)`` to ``(h, w, C)``, corners aligned."""
    gh, gw = grid.shape[:2]
    y = np.linspace(0, gh - 1, h)
    x = np.linspace(0, gw - 1, w)
    return _bilinear(grid, x[None, :].repeat(h, 0), y[:, None].repeat(w, 1))


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample ``img`` ``(h, w, C)`` at float coordinates ``x``, ``y`` (any equal shape), edges clamped."""
    h, w = img.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.intp), w - 2)
    y0 = np.minimum(np.floor(y).astype(np.intp), h - 2)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bot = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bot * fy


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Random colour texture ``(h, w, 3)`` float32 in [0, 1]: blobs of 2-3 colours, optional stripes, grain."""
    cells = int(rng.integers(3, 12))
    field = _upsample(rng.random((cells, cells, 2)), h, w)
    colours = rng.random((3, 3))
    a, b = field[..., :1], field[..., 1:]
    img = colours[0] * (1 - a) + colours[1] * a
    img = img * (1 - b * 0.6) + colours[2] * b * 0.6
    if rng.random() < 0.5:
        k = rng.uniform(0.3, 1.2)
        phi = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        stripes = 0.5 + 0.5 * np.sin(k * (xx * np.cos(phi) + yy * np.sin(phi)))
        img = img * (0.6 + 0.4 * stripes[..., None])
    img = img + rng.normal(0, 0.06, (h, w, 1))
    return np.clip(img, 0, 1).astype(np.float32)


def _shape_mask(rng: np.random.Generator, radius: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A random shape of half-size ~``radius``: function ``(u, v) -> bool mask`` in canonical coords."""
    kind = int(rng.integers(3))
    if kind == 0:  # ellipse
        a, b = radius, radius * rng.uniform(0.55, 1.0)
        return lambda u, v: (u / a) ** 2 + (v / b) ** 2 <= 1
    if kind == 1:  # rectangle
        a, b = radius * 0.85, radius * 0.85 * rng.uniform(0.55, 1.0)
        return lambda u, v: (np.abs(u) <= a) & (np.abs(v) <= b)
    lobes = int(rng.integers(3, 6))  # star-like blob
    depth = rng.uniform(0.15, 0.35)
    psi = rng.uniform(0, 2 * np.pi)
    return lambda u, v: np.hypot(u, v) <= radius * (1 - depth + depth * np.cos(lobes * np.arctan2(v, u) + psi))


def _trajectory(label: int, rng: np.random.Generator, cfg: TestbedConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pose over time: centre ``(T, 2)``, angle ``(T,)`` radians, scale ``(T,)``."""
    t = np.arange(cfg.frames, dtype=np.float64)
    tc = t - (cfg.frames - 1) / 2
    mid = rng.uniform(*cfg.centre, size=2) * cfg.size
    theta0 = rng.uniform(0, 2 * np.pi)
    centre = np.repeat(mid[None], cfg.frames, 0)
    theta = np.full(cfg.frames, theta0)
    scale = np.ones(cfg.frames)
    name = CLASSES[label]
    if name.startswith("translate_"):
        direction = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1)}[name[len("translate_") :]]
        centre = centre + rng.uniform(*cfg.speed) * tc[:, None] * np.array(direction)
    elif name.startswith("rotate_"):
        sign = 1.0 if name == "rotate_cw" else -1.0
        theta = theta0 + sign * np.deg2rad(rng.uniform(*cfg.angular_speed)) * t
    elif name.startswith("oscillate_"):
        axis = 0 if name == "oscillate_horizontal" else 1
        amplitude = rng.uniform(*cfg.amplitude)
        period = rng.uniform(*cfg.period)
        centre[:, axis] += amplitude * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    else:
        sign = 1.0 if name == "zoom_in" else -1.0
        scale = np.exp(sign * rng.uniform(*cfg.zoom_rate) * tc)
    return centre, theta, scale


def make_clip(
    label: int, rng_or_seed: np.random.Generator | int | np.random.SeedSequence, *, cfg: TestbedConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Render one clip of class ``label`` and its ground-truth motion.

    Args:
        label: class index in ``[0, len(CLASSES))``.
        rng_or_seed: a numpy ``Generator`` (consumed) or a seed; equal seeds give identical clips.
        cfg: clip geometry and motion ranges (default ``TestbedConfig()``).

    Returns:
        video: ``(T, H, W, 3)`` uint8.
        motion: ``(T // interval, H, W, 2)`` float32 pixels. Map ``k`` covers frames
            ``a = k * interval`` to ``b = a + interval - 1``; at each object pixel of frame ``b`` it holds
            (position in frame ``b``) - (position of the same object point in frame ``a``), channel 0 = dx
            (+right), 1 = dy (+down); 0 on the background.
    """
    cfg = cfg or TestbedConfig()
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        raise TypeError(f"label must be an int class index, got {type(label).__name__}")
    if not 0 <= label < len(CLASSES):
        raise ValueError(f"label must be in [0, {len(CLASSES)}), got {label}")
    rng = np.random.default_rng(rng_or_seed)
    n, size = cfg.frames, cfg.size

    background = _texture(rng, size, size)
    texture = _texture(rng, _TEX, _TEX)
    inside = _shape_mask(rng, rng.uniform(*cfg.radius))
    centre, theta, scale = _trajectory(int(label), rng, cfg)

    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    rx = xx[None] - centre[:, 0, None, None]  # (T, H, W)
    ry = yy[None] - centre[:, 1, None, None]
    s = scale[:, None, None]
    u, v = (cos * rx + sin * ry) / s, (cos * ry - sin * rx) / s  # p = R^T (x - c) / s
    mask = inside(u, v)  # (T, H, W)
    video = np.repeat(np.round(background * 255).astype(np.uint8)[None], n, 0)
    obj = _bilinear(texture, u[mask] + _TEX / 2, v[mask] + _TEX / 2)
    video[mask] = np.round(obj * 255).astype(np.uint8)

    motion = np.zeros((cfg.num_maps, size, size, 2), np.float32)
    for k in range(cfg.num_maps):
        a, b = k * cfg.interval, k * cfg.interval + cfg.interval - 1
        m = mask[b]
        ub, vb = u[b][m] * scale[a], v[b][m] * scale[a]  # object point of frame b, then posed as in frame a
        motion[k][m, 0] = xx[m] - (centre[a, 0] + cos[a, 0, 0] * ub - sin[a, 0, 0] * vb)
        motion[k][m, 1] = yy[m] - (centre[a, 1] + sin[a, 0, 0] * ub + cos[a, 0, 0] * vb)
    return video, motion


def make_dataset(n: int, seed: int, *, cfg: TestbedConfig | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` clips with balanced labels ``i % len(CLASSES)``; clip ``i`` depends only on ``(seed, i)``.

    So ``make_dataset(m, seed)`` is a prefix of ``make_dataset(n, seed)`` for ``m <= n``. Splits:
    :data:`~mesampler.testbed.config.TRAIN_SEED` for training, ``TEST_SEED`` for held-out clips.

    Returns:
        videos ``(n, T, H, W, 3)`` uint8, labels ``(n,)`` int64, motions ``(n, T // interval, H, W, 2)`` float32.
    """
    cfg = cfg or TestbedConfig()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    labels = np.arange(n, dtype=np.int64) % len(CLASSES)
    videos = np.empty((n, cfg.frames, cfg.size, cfg.size, 3), np.uint8)
    motions = np.empty((n, cfg.num_maps, cfg.size, cfg.size, 2), np.float32)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        videos[i], motions[i] = make_clip(int(labels[i]), child, cfg=cfg)
    return videos, labels, motions
