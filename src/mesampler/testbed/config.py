"""The test-bed's constants: class names, clip geometry, motion ranges and data splits."""

from __future__ import annotations

from dataclasses import dataclass

CLASSES: tuple[str, ...] = (
    "translate_right",
    "translate_left",
    "translate_up",
    "translate_down",
    "rotate_cw",
    "rotate_ccw",
    "oscillate_horizontal",
    "oscillate_vertical",
    "zoom_in",
    "zoom_out",
)
"""Class names in label order; a class is defined only by how the object moves."""

TRAIN_SEED = 0
"""``make_dataset(n, TRAIN_SEED)`` is the training set."""
TEST_SEED = 1
"""``make_dataset(n, TEST_SEED)`` is the held-out set (tests, benchmarks, demo)."""


@dataclass(frozen=True)
class TestbedConfig:
    """Geometry and motion ranges of generated clips (the single source of truth).

    Lengths are in pixels, times in frames, angles in degrees. ``(lo, hi)`` pairs are uniform ranges.

    Attributes:
        frames: frames per clip ``T``.
        size: frame height and width ``H = W``.
        interval: frames per ground-truth motion interval; ``frames // interval`` maps per clip.
        radius: object half-size at scale 1.
        centre: where the object's path is centred, as a fraction of ``size`` (both axes).
        speed: translation speed, px/frame.
        angular_speed: rotation speed, deg/frame.
        amplitude: oscillation amplitude, px.
        period: oscillation period, frames.
        zoom_rate: rate of change of log-scale per frame.
    """

    __test__ = False  # not a pytest class despite the name

    frames: int = 16
    size: int = 64
    interval: int = 4
    radius: tuple[float, float] = (9.0, 14.0)
    centre: tuple[float, float] = (0.3, 0.7)
    speed: tuple[float, float] = (1.0, 2.0)
    angular_speed: tuple[float, float] = (4.0, 8.0)
    amplitude: tuple[float, float] = (3.0, 6.0)
    period: tuple[float, float] = (6.0, 10.0)
    zoom_rate: tuple[float, float] = (0.03, 0.045)

    def __post_init__(self) -> None:
        if self.frames < 2:
            raise ValueError(f"TestbedConfig.frames must be >= 2, got {self.frames}")
        if self.size < 16:
            raise ValueError(f"TestbedConfig.size must be >= 16, got {self.size}")
        if not 2 <= self.interval <= self.frames:
            raise ValueError(f"TestbedConfig.interval must be in [2, frames={self.frames}], got {self.interval}")
        for name in ("radius", "centre", "speed", "angular_speed", "amplitude", "period", "zoom_rate"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"TestbedConfig.{name} must satisfy 0 <= lo <= hi, got {(lo, hi)}")

    @property
    def num_maps(self) -> int:
        """Ground-truth motion maps per clip: ``frames // interval``."""
        return self.frames // self.interval
