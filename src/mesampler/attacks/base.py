"""The attack loop shared by every score-based method (the paper's Algorithm 2 skeleton).

:class:`ScoreAttack` owns everything a method must not re-implement: the clean-label query,
the per-video budget, the projection onto the epsilon ball and [0, 1], the success check after
every step, the per-video done-mask (finished videos leave the batch, the others go on) and the
results. A method only implements :meth:`ScoreAttack._step`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, final

import numpy as np
import torch

from mesampler.attacks.checkpoint import Checkpoint
from mesampler.attacks.losses import LossFn
from mesampler.attacks.oracle import QueryOracle
from mesampler.attacks.result import AttackResult
from mesampler.estimators.base import put_rows, rows
from mesampler.samplers.base import RunComponent, VideoBatch

Callback = Callable[[dict[str, Any]], None]


@dataclass
class LoopState:
    """What the loop tracks per video ``(B,)``: labels attacked, last top-1, finished, succeeded, iterations
    run, the ``(queries, loss)`` history, whether the clean video was already misclassified (then it is not
    attacked) and the clean top-1 probability; ``x`` the current videos and ``it`` the loop counter."""

    x: torch.Tensor
    labels: torch.Tensor
    adv_label: torch.Tensor
    done: torch.Tensor
    success: torch.Tensor
    iterations: torch.Tensor
    history: list[list[tuple[int, float]]]
    misclassified: torch.Tensor
    clean_prob: torch.Tensor
    it: int = 0

    def state_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], device: torch.device) -> LoopState:
        def on(name: str) -> torch.Tensor:
            return torch.as_tensor(state[name]).to(device)

        history = [[(int(q), float(v)) for q, v in h] for h in state["history"]]
        return cls(
            on("x"), on("labels"), on("adv_label"), on("done"), on("success"),
            torch.as_tensor(state["iterations"]).cpu(), history, on("misclassified"), on("clean_prob"),
            int(state["it"]),
        )  # fmt: skip


class Queries:
    """What a step may ask the model, all counted as loss queries: ``queries(videos, owners) -> losses``
    ``(m,)``, or ``queries.scored(videos, owners) -> (losses, scores (m, K))`` for a search method whose
    proposals' scores also decide success (it then sets :attr:`ScoreAttack.iterate_scores`)."""

    def __init__(self, oracle: QueryOracle, loss: LossFn, goal: torch.Tensor, targeted: bool) -> None:
        self.oracle, self.loss, self.goal, self.targeted = oracle, loss, goal, targeted

    def scored(self, videos: torch.Tensor, owners: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.oracle(videos, owners, "loss")
        return self.loss(scores, self.goal[owners], self.targeted), scores

    def __call__(self, videos: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
        return self.scored(videos, owners)[0]


class ScoreAttack(RunComponent):
    """Base of all attacks. Subclasses set ``queries_per_iteration`` and implement ``_step``; those with run
    state also override :meth:`state_dict` / :meth:`load_state_dict` (tensors and plain values only)."""

    queries_per_iteration = 3
    norm = "linf"
    """The ball the loop projects onto: ``"linf"`` or ``"l2"`` (radius ``eps`` over the whole video)."""
    iterate_scores: torch.Tensor | None = None
    """Set by a step whose own queries already scored the videos it returns ``(b, K)``: the loop then sends
    no check query for them (the model saw each proposal once)."""
    iterate_scored: torch.Tensor | None = None
    """With :attr:`iterate_scores`, ``(b,)`` bool: which of its rows are scores (the loop checks the others);
    ``None``: every row is."""

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: Queries) -> torch.Tensor:
        """One iteration for videos ``idx``: return the new (unprojected) videos ``(b, T, H, W, 3)``."""
        raise NotImplementedError

    def _affordable(self, active: torch.Tensor, oracle: QueryOracle) -> np.ndarray:
        """Which of the running videos ``active`` ``(b,)`` can pay for one more iteration, ``(b,)`` bool. Called
        once per iteration before the step (a portfolio also chooses each video's member here)."""
        return oracle.remaining(active) >= self.queries_per_iteration

    def warm_start(self, idx: torch.Tensor, losses: torch.Tensor, scores: torch.Tensor) -> None:
        """Videos ``idx`` ``(b,)`` start from an iterate the model already scored: ``scores`` ``(b, K)`` (as the
        oracle returns them) and ``losses`` ``(b,)``. A method that compares proposals with its best loss
        (a random search) starts from these; the others need nothing."""

    def observe(self, idx: torch.Tensor, x: torch.Tensor, scores: torch.Tensor, losses: torch.Tensor) -> None:
        """Called by the loop after every check (the clean query included) with the checked videos ``x``
        ``(b, T, H, W, 3)`` of ``idx``, their scores ``(b, K)`` and losses ``(b,)``; nothing by default."""

    def members(self, i: int, oracle: QueryOracle, success: bool) -> list[dict[str, Any]]:
        """Per-member records of video ``i`` for a method made of other methods; ``[]`` for a single method."""
        return []

    @final
    def run(
        self,
        oracle: QueryOracle,
        batch: VideoBatch,
        labels: torch.Tensor,
        targets: torch.Tensor | None,
        *,
        eps: float,
        loss: LossFn,
        callback: Callback | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> list[AttackResult]:
        """Attack ``batch.x0`` ``(B, T, H, W, 3)`` float32 in [0, 1]; ``labels`` ``(B,)`` (-1: the model's clean
        top-1). ``checkpoint``: save the state there periodically, and resume from it if it holds this attack."""
        x0, targeted = batch.x0, targets is not None
        lo, hi = (x0 - eps).clamp(0, 1), (x0 + eps).clamp(0, 1)
        saved = checkpoint.load() if checkpoint is not None else None
        s = (
            self._start(oracle, batch, labels, targets, loss, callback)
            if saved is None
            else self._resume(saved, oracle, batch)
        )
        goal = targets if targets is not None else s.labels

        queries = Queries(oracle, loss, goal, targeted)
        last: dict[str, Any] | None = None  # the state at the latest iteration boundary, saved on Ctrl-C
        try:
            while True:
                if checkpoint is not None:
                    last = self._snapshot(s, oracle, batch)
                    if checkpoint.due():
                        checkpoint.save(last)
                active = (~s.done).nonzero()[:, 0]
                spent = ~self._affordable(active, oracle)
                s.done[active[torch.as_tensor(spent, device=active.device)]] = True
                active = (~s.done).nonzero()[:, 0]
                if len(active) == 0:
                    break
                self.iterate_scores = self.iterate_scored = None
                step = self._step(rows(s.x, active), active, s.it, queries)
                if self.norm == "l2":  # onto the l2 ball of radius eps around x0, then into [0, 1]
                    step = project_l2(step, rows(x0, active), eps)
                s.x = put_rows(s.x, active, torch.clamp(step, rows(lo, active), rows(hi, active)))
                s.iterations[active.cpu()] += 1
                checks = self.iterate_scores
                if checks is None:
                    checks = oracle(rows(s.x, active), active, "check")
                elif self.iterate_scored is not None and not bool(self.iterate_scored.all()):
                    unscored = active[~self.iterate_scored]
                    checks = checks.clone()
                    checks[~self.iterate_scored] = oracle(s.x[unscored], unscored, "check")
                self._record(s, oracle, checks, active, goal, loss, targeted, callback)
                s.it += 1
        except KeyboardInterrupt:
            if checkpoint is not None and last is not None:
                checkpoint.save(last)
            raise
        return [self._result(i, s, oracle, x0, targets) for i in range(len(x0))]

    def _start(
        self,
        oracle: QueryOracle,
        batch: VideoBatch,
        labels: torch.Tensor,
        targets: torch.Tensor | None,
        loss: LossFn,
        callback: Callback | None,
    ) -> LoopState:
        """The clean-label query (a counted check, recorded) and the state of a fresh run."""
        x0, n = batch.x0, len(batch.x0)
        everyone = torch.arange(n, device=x0.device)
        scores = oracle(x0, everyone, "check")
        top1 = scores.argmax(1)
        misclassified = (labels >= 0) & (top1 != labels)  # the paper attacks correctly classified videos only
        labels = torch.where(labels < 0, top1, labels)
        _check_classes(labels, targets, oracle.num_classes)
        self.init(batch)
        done = torch.zeros(n, dtype=torch.bool, device=x0.device)
        s = LoopState(
            x0.clone(), labels, torch.empty_like(labels), done, torch.zeros_like(done),
            torch.zeros(n, dtype=torch.long), [[] for _ in range(n)], misclassified, scores.softmax(1).amax(1),
        )  # fmt: skip
        goal = targets if targets is not None else labels
        self._record(s, oracle, scores, everyone, goal, loss, targets is not None, callback)
        s.success &= ~misclassified
        s.done |= misclassified
        return s

    def _snapshot(self, s: LoopState, oracle: QueryOracle, batch: VideoBatch) -> dict[str, Any]:
        """Everything a resumed run needs, as tensors and plain values (copies: the run goes on mutating)."""
        gens = [g.get_state() for g in batch.generators]
        state = {"loop": s.state_dict(), "method": self.state_dict(), "generators": gens, "oracle": oracle.state()}
        return copy.deepcopy(state)

    def _resume(self, saved: dict[str, Any], oracle: QueryOracle, batch: VideoBatch) -> LoopState:
        """The method's state, the videos, the generators and the counters as they were saved."""
        self.init(batch)
        self.load_state_dict(saved["method"])
        for g, state in zip(batch.generators, saved["generators"], strict=True):
            g.set_state(state)
        oracle.load_state(saved["oracle"])
        return LoopState.from_state_dict(saved["loop"], batch.x0.device)

    def _record(
        self,
        s: LoopState,
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
        s.adv_label[idx] = pred
        s.success[idx] = reached
        s.done[idx] |= reached
        losses = loss(scores, goal[idx], targeted)
        self.observe(idx, rows(s.x, idx), scores, losses)
        values = losses.tolist()
        queries = oracle.queries
        for i, v in zip(idx.tolist(), values, strict=False):
            s.history[i].append((int(queries[i]), float(v)))
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

    def _notes(self, i: int, s: LoopState, x0: torch.Tensor) -> list[str]:
        notes = self.notes(i)
        if int(s.iterations[i]) > 0 and not bool(s.success[i]) and bool((s.x[i] == x0[i]).all()):
            notes.append(
                f"the attack never moved in {int(s.iterations[i])} iterations: its gradient estimate stayed 0 "
                "(a model whose output ignores small changes?); the model is not shown to be robust"
            )
        return notes

    def _result(
        self, i: int, s: LoopState, oracle: QueryOracle, x0: torch.Tensor, targets: torch.Tensor | None
    ) -> AttackResult:
        x = s.x
        adv = x[i].detach().cpu().numpy().astype(np.float32, copy=False)
        return AttackResult(
            success=bool(s.success[i]),
            queries=int(oracle.queries[i]),
            loss_queries=int(oracle.loss_queries[i]),
            check_queries=int(oracle.check_queries[i]),
            label=int(s.labels[i]),
            target=None if targets is None else int(targets[i]),
            adv_label=int(s.adv_label[i]),
            adversarial=adv,
            linf=float((x[i] - x0[i]).abs().max()),
            l2=float((x[i] - x0[i]).norm()),
            history=s.history[i],
            iterations=int(s.iterations[i]),
            misclassified=bool(s.misclassified[i]),
            notes=self._notes(i, s, x0),
            clean_prob=float(s.clean_prob[i]),
            members=self.members(i, oracle, bool(s.success[i])),
        )


def project_l2(x: torch.Tensor, x0: torch.Tensor, eps: float) -> torch.Tensor:
    """``x`` ``(b, ...)`` moved onto the l2 ball of radius ``eps`` around ``x0`` (per video), then into [0, 1]."""
    delta = x - x0
    norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12).reshape(-1, *(1,) * (x.ndim - 1))
    return (x0 + delta * (eps / norms).clamp(max=1)).clamp(0, 1)


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
