"""The one place where the attacked model is called: query counting, budget and score checks."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from mesampler.models.protocol import Model, accepts_torch

QueryKind = Literal["loss", "check"]


class BudgetExceeded(RuntimeError):
    """Raised when a query would take a video past its budget (the attack loop never lets it)."""


class ModelError(RuntimeError):
    """The attacked model raised or returned unusable scores."""


class QueryOracle:
    """Wraps a black-box model; counts, per video, every video sent to it.

    Two counters per video: ``loss_queries`` (probes for gradient estimation) and
    ``check_queries`` (success checks and the clean-label query). A call that would take any
    video past ``max_queries`` raises :class:`BudgetExceeded` *before* the model is called.

    Args:
        model: callable ``(N, T, H, W, 3) float32 in [0, 1]`` -> ``(N, K)`` scores. It receives
            torch tensors if it sets ``accepts_torch = True``, numpy arrays otherwise.
        n_videos: number of videos being attacked (owners are indices into this range).
        max_queries: per-video budget (loss + check queries).
        device: device of the tensors handed to the oracle and of the scores it returns.
        batch_size: largest number of videos per model call (larger requests are split;
            the count is the same).
        scores: ``"logits"``, ``"probs"`` or ``"auto"`` (probabilities are detected on the
            first call: rows in [0, 1] summing to 1). Probabilities are returned as log-probabilities,
            which differ from logits by a per-row constant, so every loss treats both alike. A model that
            declares ``output_kind`` (:class:`~mesampler.models.adapters.APIOutput`) may return NaN for unknown
            classes (outside its top k); they are given a score one below the row's lowest known score.
    """

    def __init__(
        self,
        model: Model,
        n_videos: int,
        max_queries: int,
        *,
        device: torch.device | str = "cpu",
        batch_size: int | None = None,
        scores: Literal["auto", "logits", "probs"] = "auto",
    ) -> None:
        if not callable(model):
            raise TypeError(f"model must be callable (videos -> scores), got {type(model).__name__}")
        if scores not in ("auto", "logits", "probs"):
            raise ValueError(f"scores must be 'auto', 'logits' or 'probs', got {scores!r}")
        self.model = model
        self.max_queries = int(max_queries)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.scores_kind = scores
        self.num_classes: int | None = None
        self.loss_queries = np.zeros(n_videos, dtype=np.int64)
        self.check_queries = np.zeros(n_videos, dtype=np.int64)
        self._torch_in = accepts_torch(model)
        declared = getattr(model, "output_kind", None)  # APIOutput: "probs", classes outside the top k NaN
        self._partial = declared in ("probs", "logits")
        if scores == "auto" and self._partial:
            self.scores_kind = "probs" if declared == "probs" else "logits"

    @property
    def queries(self) -> np.ndarray:
        """Total queries per video, ``(n_videos,)`` int64."""
        return self.loss_queries + self.check_queries

    def state(self) -> dict[str, Any]:
        """Counters (tensors) and detected score kind, for checkpoints."""
        return {
            "loss_queries": torch.from_numpy(self.loss_queries.copy()),
            "check_queries": torch.from_numpy(self.check_queries.copy()),
            "num_classes": self.num_classes,
            "scores_kind": self.scores_kind,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` (a resumed attack keeps counting from where it stopped)."""
        self.loss_queries[:] = np.asarray(state["loss_queries"])
        self.check_queries[:] = np.asarray(state["check_queries"])
        self.num_classes, self.scores_kind = state["num_classes"], state["scores_kind"]

    def remaining(self, owners: torch.Tensor | np.ndarray) -> np.ndarray:
        return self.max_queries - self.queries[np.asarray(torch.as_tensor(owners).cpu())]

    def __call__(self, videos: torch.Tensor, owners: torch.Tensor, kind: QueryKind) -> torch.Tensor:
        """Scores ``(m, K)`` float32 for ``videos`` ``(m, T, H, W, 3)``; ``owners`` ``(m,)`` are video indices."""
        own = owners.cpu().numpy()
        per_video = np.bincount(own, minlength=len(self.loss_queries))
        if np.any(self.queries + per_video > self.max_queries):
            worst = int(np.argmax(self.queries + per_video - self.max_queries))
            raise BudgetExceeded(f"video {worst} would exceed its budget of {self.max_queries} queries")
        step = self.batch_size or len(videos)
        parts = [self._call(videos[i : i + step]) for i in range(0, len(videos), step)]
        counter = self.loss_queries if kind == "loss" else self.check_queries
        counter += per_video
        return self._validate(torch.cat(parts) if len(parts) > 1 else parts[0], len(videos))

    def _call(self, videos: torch.Tensor) -> torch.Tensor:
        # a copy: a model that normalises its input in place must not change the attack's videos
        batch: Any = videos.detach().clone() if self._torch_in else videos.detach().cpu().numpy().copy()
        try:
            out = self.model(batch)
        except Exception as e:
            raise ModelError(f"the model raised {type(e).__name__} on a batch of {len(videos)} videos: {e}") from e
        try:
            scores = out.detach() if isinstance(out, torch.Tensor) else torch.as_tensor(np.asarray(out))
            return scores.to(self.device, torch.float32)
        except (TypeError, ValueError, RuntimeError) as e:
            raise ModelError(f"the model returned {type(out).__name__}, not an (N, K) array of scores") from e

    def _validate(self, scores: torch.Tensor, n: int) -> torch.Tensor:
        if scores.ndim != 2 or scores.shape[0] != n:
            raise ModelError(
                f"the model returned scores of shape {tuple(scores.shape)} for {n} videos; expected ({n}, K)"
            )
        k = scores.shape[1]
        if k < 2:
            raise ModelError(f"the model returned {k} score(s) per video; a classifier needs K >= 2")
        if self.num_classes is not None and k != self.num_classes:
            raise ModelError(f"the model returned {k} scores per video, earlier {self.num_classes}")
        self.num_classes = k
        unknown = torch.isnan(scores) if self._partial else torch.zeros_like(scores, dtype=torch.bool)
        rows_bad = (~(torch.isfinite(scores) | unknown)).any(1) | unknown.all(1)
        if rows_bad.any():
            bad = int(rows_bad.nonzero()[0])
            raise ModelError(f"the model returned non-finite scores (NaN or inf) for video {bad} of the batch")
        if self.scores_kind == "auto":
            known = scores[~unknown]
            sums = scores.nan_to_num(0).sum(1)
            is_prob = bool(
                (known >= 0).all() and (known <= 1).all() and torch.allclose(sums, torch.ones_like(sums), atol=1e-3)
            )
            self.scores_kind = "probs" if is_prob else "logits"
        if self.scores_kind == "probs":
            scores = scores.clamp_min(1e-30).log()
        if self._partial:  # unknown classes (outside an API's top k) rank below every known one
            floor = scores.masked_fill(unknown, float("inf")).amin(1, keepdim=True) - 1.0
            scores = torch.where(unknown, floor.expand_as(scores), scores)
        return scores
