"""The attack loop shared by every score-based method (the paper's Algorithm 2 skeleton).

:class:`ScoreAttack` owns everything a method must not re-implement: the clean-label query,
the per-video budget, the projection onto the epsilon ball and [0, 1], the success check after
every step, the per-video done-mask (finished videos leave the batch, the others go on) and the
results. A method only implements :meth:`ScoreAttack._step`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, final

import numpy as np
import torch

from mesampler.attacks.checkpoint import Checkpoint
from mesampler.attacks.losses import LossFn
from mesampler.attacks.oracle import QueryOracle
from mesampler.attacks.result import AttackResult
from mesampler.estimators.base import LossQuery, put_rows, rows

Callback = Callable[[dict[str, Any]], None]


class ScoreAttack:
    """Base of all attacks. Subclasses set ``queries_per_iteration`` and implement ``_step``."""

    queries_per_iteration = 3

    def init(
        self, x0: torch.Tensor, generators: Sequence[torch.Generator], motions: Sequence[torch.Tensor | None]
    ) -> None:
        """Allocate per-video state for clean videos ``x0`` ``(B, T, H, W, 3)``."""

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: LossQuery) -> torch.Tensor:
        """One iteration for videos ``idx``: return the new (unprojected) videos ``(b, T, H, W, 3)``."""
        raise NotImplementedError

    @final
    def run(
        self,
        oracle: QueryOracle,
        x0: torch.Tensor,
        labels: torch.Tensor,
        targets: torch.Tensor | None,
        *,
        eps: float,
        loss: LossFn,
        generators: Sequence[torch.Generator],
        motions: Sequence[torch.Tensor | None],
        callback: Callback | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> list[AttackResult]:
        """Attack ``x0`` ``(B, T, H, W, 3)`` float32 in [0, 1]; ``labels`` ``(B,)`` (-1: the model's clean top-1).

        ``checkpoint``: save the state there periodically, and resume from it if it already holds this attack.
        """
        n, targeted = len(x0), targets is not None
        lo, hi = (x0 - eps).clamp(0, 1), (x0 + eps).clamp(0, 1)
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is None:
            x, it = x0.clone(), 0
            clean = self._start(oracle, x0, labels, targets, generators, motions)
        else:  # resume: the method's state, the videos and the counters as they were saved
            x, it = saved["x"], saved["it"]
            self.__dict__.update(saved["attack"])
            oracle.load_state(saved["oracle"])
        goal = targets if targeted else self.labels
        if saved is None:
            self._record(oracle, clean, torch.arange(n, device=x0.device), goal, loss, targeted, callback)

        def loss_query(videos: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
            return loss(oracle(videos, owners, "loss"), goal[owners], targeted)

        while True:
            if checkpoint is not None and checkpoint.due():
                checkpoint.save({"x": x, "it": it, "attack": dict(self.__dict__), "oracle": oracle.state()})
            active = (~self.done).nonzero()[:, 0]
            spent = oracle.remaining(active) < self.queries_per_iteration
            self.done[active[torch.as_tensor(spent, device=active.device)]] = True
            active = (~self.done).nonzero()[:, 0]
            if len(active) == 0:
                break
            x = put_rows(
                x,
                active,
                torch.clamp(self._step(rows(x, active), active, it, loss_query), rows(lo, active), rows(hi, active)),
            )
            self.iterations[active.cpu().numpy()] += 1
            self._record(oracle, oracle(rows(x, active), active, "check"), active, goal, loss, targeted, callback)
            it += 1
        return [self._result(i, oracle, x, x0, targets) for i in range(n)]

    def _start(
        self,
        oracle: QueryOracle,
        x0: torch.Tensor,
        labels: torch.Tensor,
        targets: torch.Tensor | None,
        generators: Sequence[torch.Generator],
        motions: Sequence[torch.Tensor | None],
    ) -> torch.Tensor:
        """The clean-label query (a counted check, its scores returned) and the per-video state of a fresh run."""
        n = len(x0)
        scores = oracle(x0, torch.arange(n, device=x0.device), "check")
        self.labels = torch.where(labels < 0, scores.argmax(1), labels)
        _check_classes(self.labels, targets, oracle.num_classes)
        self.init(x0, generators, motions)
        self.history: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        self.adv_label = torch.empty_like(self.labels)
        self.done = torch.zeros(n, dtype=torch.bool, device=x0.device)
        self.success = torch.zeros_like(self.done)
        self.iterations = np.zeros(n, dtype=np.int64)
        return scores

    def _record(
        self,
        oracle: QueryOracle,
        scores: torch.Tensor,
        idx: torch.Tensor,
        goal: torch.Tensor,
        loss: LossFn,
        targeted: bool,
        callback: Callback | None,
    ) -> None:
        pred = scores.argmax(1)
        reached = pred == goal[idx] if targeted else pred != goal[idx]
        self.adv_label[idx] = pred
        self.success[idx] = reached
        self.done[idx] |= reached
        values = loss(scores, goal[idx], targeted).tolist()
        queries = oracle.queries
        for i, v in zip(idx.tolist(), values, strict=False):
            self.history[i].append((int(queries[i]), float(v)))
        if callback is not None:
            p = scores.softmax(1).amax(1)
            callback(
                {
                    "idx": idx.tolist(),
                    "loss": values,
                    "top1": pred.tolist(),
                    "top1_prob": p.tolist(),
                    "queries": queries[idx.cpu().numpy()].tolist(),
                    "success": reached.tolist(),
                }
            )

    def _result(
        self, i: int, oracle: QueryOracle, x: torch.Tensor, x0: torch.Tensor, targets: torch.Tensor | None
    ) -> AttackResult:
        adv = x[i].detach().cpu().numpy().astype(np.float32, copy=False)
        return AttackResult(
            success=bool(self.success[i]),
            queries=int(oracle.queries[i]),
            loss_queries=int(oracle.loss_queries[i]),
            check_queries=int(oracle.check_queries[i]),
            label=int(self.labels[i]),
            target=None if targets is None else int(targets[i]),
            adv_label=int(self.adv_label[i]),
            adversarial=adv,
            linf=float((x[i] - x0[i]).abs().max()),
            history=self.history[i],
            iterations=int(self.iterations[i]),
        )


def _check_classes(labels: torch.Tensor, targets: torch.Tensor | None, k: int | None) -> None:
    assert k is not None  # set by the oracle's first call
    if int(labels.max()) >= k:
        raise ValueError(f"label {int(labels.max())} is outside the model's {k} classes (0..{k - 1})")
    if targets is not None:
        if int(targets.max()) >= k:
            raise ValueError(f"target {int(targets.max())} is outside the model's {k} classes (0..{k - 1})")
        same = (targets == labels).nonzero()[:, 0].tolist()
        if same:
            raise ValueError(f"target equals the true label for video(s) {same}: nothing to attack")
