"""What an attack returns for one video."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Status = Literal["success", "failed", "misclassified"]


@dataclass
class AttackResult:
    """Outcome of attacking one video.

    ``adversarial`` is exactly the ``(T, H, W, 3) float32`` video in [0, 1] whose check query
    returned ``adv_label``: sending it to the model again gives that label (for a deterministic
    model). ``queries = loss_queries + check_queries`` and includes the clean-label query.
    ``history`` holds ``(queries so far, loss)`` after every check query.

    ``status`` is ``"success"``, ``"failed"`` or ``"misclassified"``: a video whose given label is not the
    model's clean top-1 is not attacked (the paper attacks correctly classified videos only) and never
    counts as a success. ``clean_prob`` is the model's clean top-1 probability; ``label_given`` tells
    whether ``label`` came from the caller or is the model's own clean top-1.

    ``members``: for a method made of other methods (``auto``), one record per member in the order they ran:
    ``{"method", "queries", "loss_queries", "check_queries", "iterations", "broke"}`` (queries the model saw
    while that member ran; with the clean-label query they add up to ``queries``); ``[]`` for a single method.
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
    misclassified: bool = False
    clean_prob: float = float("nan")
    label_given: bool = True
    notes: list[str] = field(default_factory=list)
    l2: float = float("nan")
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if self.misclassified:
            return "misclassified"
        return "success" if self.success else "failed"

    @property
    def targeted(self) -> bool:
        return self.target is not None

    @property
    def broken_by(self) -> str | None:
        """The method that fooled the model: the member that broke the video, or the method itself; ``None``
        for a video not fooled."""
        if not self.success:
            return None
        return next((m["method"] for m in self.members if m["broke"]), self.method)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the video itself)."""
        d = asdict(self)
        d.pop("adversarial")
        d["targeted"] = self.targeted
        d["status"] = self.status
        d["broken_by"] = self.broken_by
        return d

    def __repr__(self) -> str:
        goal = f"target={self.target}" if self.targeted else f"label={self.label}"
        return (
            f"AttackResult({self.status}, {goal}, adv_label={self.adv_label}, queries={self.queries} "
            f"(loss {self.loss_queries} + check {self.check_queries}), linf={self.linf:.4f})"
        )
