"""What an attack returns for one video."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class AttackResult:
    """Outcome of attacking one video.

    ``adversarial`` is exactly the ``(T, H, W, 3) float32`` video in [0, 1] whose check query
    returned ``adv_label``: sending it to the model again gives that label (for a deterministic
    model). ``queries = loss_queries + check_queries`` and includes the clean-label query.
    ``history`` holds ``(queries so far, loss)`` after every check query.
    """

    success: bool
    queries: int
    loss_queries: int
    check_queries: int
    label: int
    target: int | None
    adv_label: int
    adversarial: np.ndarray
    linf: float
    history: list[tuple[int, float]] = field(default_factory=list)
    iterations: int = 0
    method: str = ""
    loss: str = ""
    eps: float = 0.0
    max_queries: int = 0
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0

    @property
    def targeted(self) -> bool:
        return self.target is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the video itself)."""
        d = asdict(self)
        d.pop("adversarial")
        d["targeted"] = self.targeted
        return d

    def __repr__(self) -> str:
        goal = f"target={self.target}" if self.targeted else f"label={self.label}"
        return (
            f"AttackResult(success={self.success}, {goal}, adv_label={self.adv_label}, queries={self.queries} "
            f"(loss {self.loss_queries} + check {self.check_queries}), linf={self.linf:.4f})"
        )
