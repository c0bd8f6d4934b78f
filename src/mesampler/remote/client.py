"""A model behind the mesampler HTTP protocol (:mod:`mesampler.remote.protocol`); transport in :mod:`.transport`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mesampler.models.adapters._arrays import like_input, to_numpy_videos
from mesampler.remote.protocol import (
    FORMATS,
    INFO_PATH,
    JSON_TYPE,
    PREDICT_PATH,
    ProtocolError,
    check_score_batch,
    decode_array,
    encode_array,
)
from mesampler.remote.transport import DEFAULT_TOKEN_ENV, RemoteModel, RemoteModelError, split_url

__all__ = ["HTTPModel", "RemoteModelError", "RemoteSpec"]


@dataclass(frozen=True)
class RemoteSpec:
    """What a server says its model expects (``None`` where it says nothing)."""

    frames: int | None
    size: int | None
    num_classes: int | None


class HTTPModel(RemoteModel):
    """Scores from a remote model: ``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32.

    Counters (thread-safe, never reset by the model itself):

    * ``queries``: videos whose scores came back and passed the checks; what an attack is charged.
    * ``attempts``: HTTP requests to ``/predict``, retries included.
    * ``videos_sent``: videos sent over all attempts (``>= queries`` when retries happened).

    Args:
        url: base URL (``http://host:port``); a trailing ``/predict`` is accepted.
        format: ``"npy"`` (binary, default) or ``"json"`` request and response bodies.
        batch_size: videos per request; ``None`` uses the server's ``max_batch`` from ``/info``.
        token_env, connect_timeout, read_timeout, deadline, retries, backoff, max_backoff, max_response_bytes:
            see :class:`~mesampler.remote.transport.Transport`.
    """

    def __init__(
        self,
        url: str,
        *,
        format: str = "npy",
        token_env: str | None = DEFAULT_TOKEN_ENV,
        batch_size: int | None = None,
        **transport: Any,
    ) -> None:
        parts = split_url(url)
        if format not in FORMATS:
            raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}")
        prefix = parts.path.rstrip("/")
        if prefix.endswith(PREDICT_PATH):
            prefix = prefix[: -len(PREDICT_PATH)]
        self.url = f"{parts.scheme}://{parts.netloc}{prefix}"
        self.format = format
        self.content_type = FORMATS[format]
        self._connect(self.url, token_env, batch_size, transport)
        self._info: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"HTTPModel({self.url!r}, format={self.format!r}{self._auth()})"

    def info(self) -> dict[str, Any]:
        """The server's ``GET /info`` (cached after the first success)."""
        if self._info is None:
            _, _, data = self.transport.exchange("GET", INFO_PATH, None, {"Accept": JSON_TYPE})
            try:
                obj = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                raise RemoteModelError(f"{self.url}{INFO_PATH}: answer is not a JSON object: {data[:80]!r}")
            self._info = obj
        return self._info

    @property
    def num_classes(self) -> int | None:
        k = self.info().get("num_classes")
        return int(k) if isinstance(k, int) else None

    @property
    def classes(self) -> list[str] | None:
        c = self.info().get("classes")
        return list(c) if isinstance(c, list) else None

    @property
    def spec(self) -> RemoteSpec:
        """Frames, size and classes the server advertises in ``/info``."""
        info = self.info()
        frames, size = info.get("frames"), info.get("size")
        return RemoteSpec(
            frames=frames if isinstance(frames, int) and frames > 0 else None,
            size=size if isinstance(size, int) and size > 0 else None,
            num_classes=self.num_classes,
        )

    def _batch_size(self) -> int | None:
        if self.batch_size is not None:
            return self.batch_size
        b = self.info().get("max_batch")
        return int(b) if isinstance(b, int) and b > 0 else None

    def _predict(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        headers = {"Content-Type": self.content_type, "Accept": self.content_type}
        _, h, data = self.transport.exchange(
            "POST", PREDICT_PATH, encode_array(x, self.content_type, "videos"), headers, n
        )
        try:
            scores = decode_array(data, h.get("content-type"), "scores")
            check_score_batch(scores, n)
        except ProtocolError as e:
            msg = self.transport.scrub(str(e))
            raise RemoteModelError(f"{self.url}{PREDICT_PATH} sent a malformed answer: {msg}") from None
        self._charge(n)
        return scores

    def __call__(self, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32 (numpy or torch, like the input)."""
        x = to_numpy_videos(videos)
        bs = self._batch_size() or x.shape[0]
        scores = np.concatenate([self._predict(x[i : i + bs]) for i in range(0, x.shape[0], bs)])
        return like_input(scores, videos)
