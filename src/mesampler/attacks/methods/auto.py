"""Auto (ours): a fixed portfolio of registered methods sharing one per-video budget, after AutoAttack.

AutoAttack (Croce & Hein, ICML 2020) made white-box robustness numbers trustworthy by running a fixed,
parameter-free sequence of attacks, each only on the inputs the earlier ones did not break. ``auto`` does the
same for score-based video attacks. A single method can be far from the strongest one on a given model: random
search and even random noise fool output-quantised or rounded-probability models that stall a finite-difference
method, while ME-Sampler fools smooth fp32 models in a fraction of random search's queries.

The default sequence (``AutoDefaults``; shares of the per-video budget):

1. ``random-noise`` (0.3 %): two random corners of the ball; a model whose output moves in steps, and many
   clips of a weak model, fall here at once.
2. ``square`` (2.5 %) from the clean video: its stripe start and first tubes, exactly as ``square`` alone runs
   them; on the real I3D these break most clips at eps 0.03 within a few queries.
3. ``random-noise`` (1.7 %): its next 17 corners (its own stream goes on); a model that sees only motion is
   not moved by square's frame-constant stripes but is by per-pixel corners.
4. ``me-sampler`` (60 %) from the best point so far: the paper's method, the strongest on smooth models.
5. ``square`` (35.5 %): random search over spatio-temporal tubes on the rest; it needs no gradient signal, so it
   catches the videos of a quantised or rounded-output model on which the finite differences stall.

Measured (``benchmarks/results/attacks.md``: real I3D-K400, 16-frame windows, budget 1,000;
``auto_v4_pooled.md``: the test-bed, 48 clips): see the README. The first default (``auto-v1`` in the campaign
file: 20 corners, ``me-sampler``, ``square``) paid ME-Sampler's queries on real clips that square's stripes
break in two.

Rules, per video:

* **Budget.** Member ``s`` runs while its queries plus one more of its iterations stay within
  ``round((shares[0] + ... + shares[s]) * max_queries)``; the last member the video runs may use everything up
  to ``max_queries``. The clean-label query comes first and belongs to no member. A member whose share cannot
  pay for one of its iterations is passed over. The reported query count is everything the model saw.
* **Only unbroken videos go on**: a video leaves the loop when a member fools the model.
* **Start point.** Each member starts from the lowest-loss iterate the model has checked so far (the clean video
  for the first); from a point better than the clean video, ``square`` keeps a proposal only if it beats that
  point's loss (:meth:`ScoreAttack.warm_start`). From the clean video a member runs exactly as it does alone
  (``square`` keeps its stripe start whatever its loss, as its paper does; until December 2026 the stripes had
  to beat the clean loss, which left a first ``square`` member adding small tubes to the clean video).
  ``starts`` (one ``"best"`` or ``"clean"`` per member; empty: all ``"best"``) makes a member start from the
  clean video instead. The default starts the first ``square`` from the clean video (so it is square alone)
  and every other member from the best point: on the test-bed (eps 0.03, budget 1000,
  ``benchmarks/results/auto_v2*.md``) no start rule for ME-Sampler wins consistently (after random noise, from
  its best corner, it broke more quantised clips than from the clean video at seeds 0.. and 100.., fewer at
  200..: on an output that moves in steps its outcome turns on its random draws), so the guess that sign-PGD
  is crippled at a corner of the ball does not hold.
* **Schedules.** A member whose steps follow a schedule over its budget (``square``'s window size) keeps the
  schedule it has alone at the video's whole budget (``schedule="video"``, the default): its share only stops it.
  So a first member behaves exactly as the method alone does until its share is spent. ``schedule="share"``
  (the rule of the first portfolios, ``auto-v1``) scales the schedule to the member's share: a 25-query
  ``square`` then runs through all of its window halvings in 25 queries and is left with tiny windows.
* **Random numbers** (``streams="method"``, the default): each method draws from its own copy of the video's
  generator, taken before the clean query, so a member draws exactly the numbers the method draws alone, whatever
  ran before it; a method listed twice goes on with its own stream (the second ``square`` draws what ``square``
  alone would draw next). A member that starts from the clean video therefore asks the model exactly what the
  method alone asks, until its share is spent, and the first members of a portfolio can be predicted from
  single-method runs. ``streams="video"`` (the rule until December 2026, kept for the arms measured under it)
  has every member draw from the video's generator in turn, so an earlier member shifts the numbers of all
  later ones.
* **Motion.** ``auto`` is registered ``needs_motion=True`` because ``me-sampler`` is a member, so it gets maps
  exactly as ``me-sampler`` does (given, or computed from the clip when none are given). A video with no maps
  (``motions`` entry ``None`` at engine level) skips the members that need motion: the next member gets their
  share (the previous one when they are last) and ``result.notes`` says so.
* **Results** record, per member, the queries the model saw while it ran, its iterations and whether it broke
  the video (``AttackResult.members``, ``AttackResult.broken_by``).
* **Checkpoints**: the portfolio's state (each video's member, the counters when it started, the best point,
  every member's own state) is saved with the loop's, so a resumed run equals the uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mesampler.attacks.base import Queries, ScoreAttack
from mesampler.attacks.oracle import QueryOracle
from mesampler.attacks.registry import create_attack, method_spec, register_attack
from mesampler.samplers.base import VideoBatch

START_POINTS = ("best", "clean")
"""Where a member may start: the lowest-loss point checked so far, or the clean video."""
SCHEDULES = ("video", "share")
"""The budget a member's own schedule is scaled to: the video's whole budget, or the member's share."""
STREAMS = ("method", "video")
"""Where a member draws its random numbers: its method's own copy of the video's generator, or the video's."""
PAPER = (
    "mesampler (ours), after Croce & Hein, Reliable evaluation of adversarial robustness with an ensemble of "
    "diverse parameter-free attacks (AutoAttack), ICML 2020"
)


@dataclass(frozen=True)
class AutoDefaults:
    """``members``: registered l-inf methods run in this order, each with its own defaults; ``shares``: the
    fraction of each video's budget each may spend (summing to 1; fixed, not tuned per model)."""

    members: tuple[str, ...] = ("random-noise", "square", "random-noise", "me-sampler", "square")
    shares: tuple[float, ...] = (0.003, 0.025, 0.017, 0.60, 0.355)
    starts: tuple[str, ...] = ("best", "clean", "best", "best", "best")
    """Per member, where it starts: ``"best"`` (the lowest-loss point checked so far) or ``"clean"`` (the clean
    video); empty: every member ``"best"``, as it is when ``members`` are given without ``starts``."""
    schedule: str = "video"
    """The budget each member's own schedule (``square``'s window size) is scaled to: ``"video"`` (the whole
    per-video budget, as if it ran alone) or ``"share"`` (its share; the first portfolios' rule)."""
    streams: str = "method"
    """Where the members draw their random numbers: ``"method"`` (each method its own copy of the video's
    generator, taken before the first query, so it draws what it draws alone; a method listed twice goes on with
    its stream) or ``"video"`` (all members draw from the video's generator in turn; the rule until December
    2026)."""


class Portfolio(ScoreAttack):
    """Members ``(name, attack, needs motion)`` run one after another per video, each within its share."""

    def __init__(
        self,
        members: Sequence[tuple[str, ScoreAttack, bool]],
        shares: Sequence[float],
        starts: Sequence[str] = (),
        schedule: str = "video",
        streams: str = "method",
    ) -> None:
        names = tuple(m[0] for m in members)
        if len(members) != len(shares) or not members:
            raise ValueError(
                f"auto: members {names!r} and shares {tuple(shares)!r} must be non-empty and of one length"
            )
        if any(isinstance(s, bool) or not isinstance(s, (int, float)) or not s > 0 for s in shares):
            raise ValueError(f"auto: every share must be a number > 0, got {tuple(shares)!r}")
        if not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"auto: shares must sum to 1 (fractions of the budget), got {tuple(shares)!r} (sum {sum(shares)})"
            )
        starts = tuple(starts) or ("best",) * len(members)
        if len(starts) != len(members) or any(v not in START_POINTS for v in starts):
            raise ValueError(f"auto: starts must be empty or one of {START_POINTS} per member, got {starts!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"auto: schedule must be one of {SCHEDULES}, got {schedule!r}")
        if streams not in STREAMS:
            raise ValueError(f"auto: streams must be one of {STREAMS}, got {streams!r}")
        self.starts, self.schedule, self.streams = list(starts), schedule, streams
        self.names = list(names)
        self.attacks = [m[1] for m in members]
        self.motion = [m[2] for m in members]
        self.shares = [float(s) for s in shares]
        self.queries_per_iteration = min(a.queries_per_iteration for a in self.attacks)

    def init(self, batch: VideoBatch) -> None:
        if batch.max_queries < 1:
            raise ValueError("auto needs the per-video budget (VideoBatch.max_queries >= 1) to share it out")
        n, m, q = len(batch.x0), len(self.attacks), batch.max_queries
        self.limits = [round(c * q) for c in np.cumsum(self.shares)]
        self.limits[-1] = q
        no_maps = np.array([mo is None for mo in batch.motions], dtype=bool)
        self.skip = no_maps[:, None] & np.array(self.motion, dtype=bool)[None, :]  # (n, m)
        runs = np.where(~self.skip, np.arange(m)[None, :], -1)
        self.last = runs.max(1)  # the last member each video runs (-1: none can)
        self.gens: dict[str, list[torch.Generator]] = {}  # per method, a copy of each video's generator
        for name in self.names if self.streams == "method" else ():
            self.gens.setdefault(name, [_copy(g) for g in batch.generators])
        for s, attack in enumerate(self.attacks):
            share = self.limits[s] - (self.limits[s - 1] if s else 0)
            motions = batch.motions
            if self.motion[s]:  # videos without maps skip this member; it is given still maps for them
                h, w = batch.x0.shape[2:4]
                motions = [torch.zeros(1, h, w, 2, device=batch.x0.device) if mo is None else mo for mo in motions]
            budget = q if self.schedule == "video" else max(share, 1)
            gens = self.gens.get(self.names[s], batch.generators)
            attack.init(dataclasses.replace(batch, motions=motions, max_queries=budget, generators=gens))
        self.stage = np.full(n, -1, dtype=np.int64)  # the member each video runs (-1: not started, m: none left)
        self.stage_it = np.zeros(n, dtype=np.int64)  # iterations of its current member
        self.iters = np.zeros((n, m), dtype=np.int64)
        self.entered = np.zeros((n, m), dtype=bool)
        self.entry = np.zeros((n, m, 2), dtype=np.int64)  # (loss, check) queries when the member started
        self.x0 = batch.x0
        self.best_x = batch.x0.clone()
        self.best_loss = torch.full((n,), math.inf, device=batch.x0.device)
        self.best_scores: torch.Tensor | None = None
        self.clean_loss = torch.full((n,), math.inf, device=batch.x0.device)
        self.clean_scores: torch.Tensor | None = None

    def state_dict(self) -> dict[str, Any]:
        arrays = {
            k: torch.from_numpy(getattr(self, k).copy()) for k in ("stage", "stage_it", "iters", "entered", "entry")
        }
        best = {"best_x": self.best_x, "best_loss": self.best_loss, "best_scores": self.best_scores,
                "clean_loss": self.clean_loss, "clean_scores": self.clean_scores}  # fmt: skip
        streams = {name: [g.get_state() for g in gens] for name, gens in self.gens.items()}
        return {**arrays, **best, "members": [a.state_dict() for a in self.attacks], "streams": streams}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k in ("stage", "stage_it", "iters", "entered", "entry"):
            setattr(self, k, np.asarray(state[k]).copy())
        dev = self.best_x.device
        self.best_x, self.best_loss = state["best_x"].to(dev), state["best_loss"].to(dev)
        self.best_scores = None if state["best_scores"] is None else state["best_scores"].to(dev)
        self.clean_loss = state["clean_loss"].to(dev)
        self.clean_scores = None if state["clean_scores"] is None else state["clean_scores"].to(dev)
        for attack, s in zip(self.attacks, state["members"], strict=True):
            attack.load_state_dict(s)
        for name, gens in self.gens.items():
            for g, saved in zip(gens, state["streams"][name], strict=True):
                g.set_state(saved)

    def _limit(self, i: int, s: int) -> int:
        return self.limits[-1] if s == self.last[i] else self.limits[s]

    def _affordable(self, active: torch.Tensor, oracle: QueryOracle) -> np.ndarray:
        """Move each video on to the next member that can pay for an iteration within its share."""
        own = active.cpu().numpy()
        lq, cq = oracle.loss_queries[own], oracle.check_queries[own]
        m = len(self.attacks)
        for j, i in enumerate(own.tolist()):
            s = int(self.stage[i])
            while s < m:
                cost = self.attacks[s].queries_per_iteration if s >= 0 else 0
                if s >= 0 and not self.skip[i, s] and lq[j] + cq[j] + cost <= self._limit(i, s):
                    break
                s += 1
                if s < m:
                    self.entered[i, s], self.entry[i, s], self.stage_it[i] = True, (lq[j], cq[j]), 0
            self.stage[i] = s
        return self.stage[own] < m

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: Queries) -> torch.Tensor:
        own = idx.cpu().numpy()
        groups: dict[tuple[int, int], list[int]] = {}
        for j, i in enumerate(own.tolist()):
            groups.setdefault((int(self.stage[i]), int(self.stage_it[i])), []).append(j)
        out = torch.empty_like(x)
        scores: torch.Tensor | None = None
        scored = torch.zeros(len(idx), dtype=torch.bool, device=x.device)
        for (s, it), where in sorted(groups.items()):
            pos = torch.tensor(where, device=x.device)
            sub, start = idx[pos], x[pos]
            attack = self.attacks[s]
            if it == 0:  # a member's first iteration: from the best point checked so far, or the clean video
                assert self.best_scores is not None and self.clean_scores is not None  # the clean query was seen
                # from the clean video a member runs as it does alone (no warm start: square keeps its stripes
                # whatever their loss); from a better point its proposals must beat that point
                if self.starts[s] == "clean":
                    start = self.x0[sub]
                else:
                    start = self.best_x[sub]
                    better = self.best_loss[sub] < self.clean_loss[sub]
                    if bool(better.any()):
                        attack.warm_start(sub[better], self.best_loss[sub][better], self.best_scores[sub][better])
            attack.iterate_scores = attack.iterate_scored = None
            out[pos] = attack._step(start, sub, it, loss)
            if attack.iterate_scores is not None:
                if scores is None:
                    scores = attack.iterate_scores.new_zeros(len(idx), attack.iterate_scores.shape[1])
                scores[pos] = attack.iterate_scores
                ok = attack.iterate_scored
                scored[pos] = True if ok is None else ok.to(x.device)
        self.iters[own, self.stage[own]] += 1
        self.stage_it[own] += 1
        self.iterate_scores, self.iterate_scored = scores, (None if scores is None else scored)
        return out

    def observe(self, idx: torch.Tensor, x: torch.Tensor, scores: torch.Tensor, losses: torch.Tensor) -> None:
        if self.best_scores is None:  # the clean-label query
            self.best_scores = scores.new_zeros(len(self.best_x), scores.shape[1])
            self.clean_scores = scores.new_zeros(len(self.best_x), scores.shape[1])
            self.clean_loss[idx], self.clean_scores[idx] = losses, scores
        stage = torch.as_tensor(self.stage[idx.cpu().numpy()], device=idx.device)
        for s in stage.unique().tolist():  # each video's current member sees the checks of its own iterates
            if 0 <= s < len(self.attacks):
                mine = stage == s
                self.attacks[s].observe(idx[mine], x[mine], scores[mine], losses[mine])
        better = losses < self.best_loss[idx]
        if bool(better.any()):
            sel = idx[better]
            self.best_loss[sel], self.best_x[sel], self.best_scores[sel] = losses[better], x[better], scores[better]

    def notes(self, i: int) -> list[str]:
        out = []
        for s, name in enumerate(self.names):
            if self.skip[i, s]:
                out.append(f"{name} skipped: no motion maps for this video (its share went to the other members)")
            elif self.iters[i, s] > 0:
                out += [f"{name}: {n}" for n in self.attacks[s].notes(i)]
        return out

    def members(self, i: int, oracle: QueryOracle, success: bool) -> list[dict[str, Any]]:
        final = (int(oracle.loss_queries[i]), int(oracle.check_queries[i]))
        out = []
        for s, name in enumerate(self.names):
            later = [t for t in range(s + 1, len(self.names)) if self.entered[i, t]]
            start = tuple(int(v) for v in self.entry[i, s]) if self.entered[i, s] else final
            end = tuple(int(v) for v in self.entry[i, later[0]]) if later else final
            lq, cq = end[0] - start[0], end[1] - start[1]
            out.append({
                "method": name, "share": self.shares[s], "queries": lq + cq, "loss_queries": lq, "check_queries": cq,
                "iterations": int(self.iters[i, s]), "broke": bool(success and self.stage[i] == s),
            })  # fmt: skip
        return out


def _copy(g: torch.Generator) -> torch.Generator:
    """A generator on ``g``'s device in ``g``'s present state (later draws from either leave the other alone)."""
    out = torch.Generator(device=g.device)
    out.set_state(g.get_state())
    return out


@register_attack("auto", defaults=AutoDefaults, paper=PAPER, needs_motion=True)
def auto(p: AutoDefaults) -> Portfolio:
    """A fixed portfolio (random noise, ME-Sampler, Square) sharing one budget, each member on unbroken videos."""
    members, shares, starts = tuple(p.members), tuple(p.shares), tuple(p.starts)
    default = AutoDefaults()
    if starts == default.starts and members != default.members:  # the default's starts belong to its members
        starts = ()
    built = []  # the shares, starts and rules are checked by Portfolio
    for name in members:
        if name == "auto":
            raise ValueError("auto cannot be a member of itself")
        spec = method_spec(name)
        if spec.norm != "linf":
            raise ValueError(f"auto: member {name!r} is an {spec.norm} method; the portfolio is l-inf")
        built.append((name, create_attack(name), spec.needs_motion))
    return Portfolio(built, shares, starts, p.schedule, p.streams)
