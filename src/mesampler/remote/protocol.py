"""The mesampler HTTP model protocol (kept for compatibility; the Open Inference Protocol is in :mod:`.v2`).

Client: :mod:`mesampler.remote.client`; server: :mod:`mesampler.remote.server`.

Endpoints (relative to the base URL, e.g. ``http://127.0.0.1:8000``):

``POST /predict``
    Scores for a batch of videos. The body is one of

    * ``Content-Type: application/x-npy``: ``numpy.save`` of the ``(N, T, H, W, 3)`` float32 batch in
      [0, 1] (no pickles). The answer is ``application/x-npy``: ``numpy.save`` of ``(N, K)`` float32 scores.
    * ``Content-Type: application/json``: ``{"videos": <nested lists, (N, T, H, W, 3) in [0, 1]>}``.
      The answer is ``application/json``: ``{"scores": <nested lists, (N, K)>}``.

    ``Content-Length`` is required. Scores are finite; row ``i`` belongs to video ``i``.

``GET /info``
    ``application/json``: ``{"protocol": 1, "num_classes": K or null, "classes": [...] or null,
    "frames": T or null, "size": S or null, "max_batch": B, "formats": ["npy", "json"]}``.
    Not counted as a query.

Authentication: ``Authorization: Bearer <token>``. The client reads the token from an environment
variable (default ``MESAMPLER_TOKEN``) and never logs it or puts it in an exception or repr; a
server started with a token answers 401 to a missing or wrong one (on every endpoint).

Errors: status >= 400 with ``application/json`` body ``{"error": "<message>"}``. The reference
server answers 400 (malformed body, wrong shape or dtype, values outside [0, 1] or not finite),
401 (token), 404 (path), 411 (no Content-Length), 413 (more than ``max_batch`` videos or more than
``max_bytes`` of body), 415 (other Content-Type) and 500 (the model failed or returned bad scores).

Client behaviour: 5xx, 429, connection errors and timeouts are retried with exponential backoff
(bounded); other 4xx and malformed answers (not npy/JSON, wrong shape, NaN) raise at once.
A video counts as a query once, when the answer carrying its scores has been received and checked;
a batch whose answer was lost may have been evaluated by the server without being counted.
"""

from __future__ import annotations

import io
import json

import numpy as np

from mesampler.models.adapters._arrays import video_shape_error
from mesampler.remote.transport import DEFAULT_TOKEN_ENV
from mesampler.remote.v2 import JSON_TYPE, ProtocolError, error_body, error_message, loads

PROTOCOL_VERSION = 1
PREDICT_PATH = "/predict"
INFO_PATH = "/info"
NPY_TYPE = "application/x-npy"
FORMATS: dict[str, str] = {"npy": NPY_TYPE, "json": JSON_TYPE}
NPY_MAGIC = b"\x93NUMPY"
__all__ = [
    "DEFAULT_TOKEN_ENV",
    "JSON_TYPE",
    "ProtocolError",
    "check_score_batch",
    "check_video_batch",
    "decode_array",
    "encode_array",
    "error_body",
    "error_message",
    "media_type",
]


def media_type(content_type: str | None) -> str:
    """``"application/json; charset=utf-8"`` -> ``"application/json"``."""
    return (content_type or "").split(";")[0].strip().lower()


def encode_array(a: np.ndarray, content_type: str, key: str) -> bytes:
    """Encode ``a`` as an npy body, or as JSON ``{key: nested lists}``."""
    if media_type(content_type) == NPY_TYPE:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(a, dtype=np.float32), allow_pickle=False)
        return buf.getvalue()
    return json.dumps({key: np.asarray(a, dtype=np.float32).tolist()}, allow_nan=False).encode()


def decode_array(body: bytes, content_type: str | None, key: str) -> np.ndarray:
    """Decode an npy body or JSON ``{key: nested lists}`` -> float32 array; ``ProtocolError`` if malformed."""
    mt = media_type(content_type)
    if mt == NPY_TYPE:
        if not body.startswith(NPY_MAGIC):
            raise ProtocolError(f"body is not a .npy array (starts with {body[:16]!r})")
        try:
            a = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ProtocolError(f"body is not a readable .npy array ({e})") from None
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "fiu":
            raise ProtocolError(f"npy array has dtype {getattr(a, 'dtype', '?')}; expected float32")
        return a.astype(np.float32, copy=False)
    if mt == JSON_TYPE:
        obj = loads(body, "body")
        if not isinstance(obj, dict) or key not in obj:
            raise ProtocolError(f'JSON body must be an object with key "{key}"')
        try:
            a = np.asarray(obj[key], dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ProtocolError(f'"{key}" is not a rectangular array of numbers ({e})') from None
        return a
    raise ProtocolError(f"unsupported Content-Type {content_type!r}; use {NPY_TYPE} or {JSON_TYPE}")


def check_video_batch(a: np.ndarray) -> None:
    """``ProtocolError`` unless ``a`` is ``(N, T, H, W, 3)``, N >= 1, finite, in [0, 1]."""
    err = video_shape_error(a.shape)
    if err:
        raise ProtocolError(err)
    if not np.isfinite(a).all():
        raise ProtocolError("videos contain NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise ProtocolError(f"video values must lie in [0, 1], got [{lo:g}, {hi:g}]")


def check_score_batch(a: np.ndarray, n: int) -> None:
    """``ProtocolError`` unless ``a`` is ``(n, K)``, K >= 1, finite."""
    if a.ndim != 2 or a.shape[0] != n or a.shape[1] < 1:
        raise ProtocolError(f"scores have shape {a.shape}; expected ({n}, K) for {n} videos")
    if not np.isfinite(a).all():
        raise ProtocolError("scores contain NaN or infinite values")
