"""The Open Inference Protocol (KServe v2 / Triton HTTP) as far as a video classifier needs it.

One source of truth for the client (:mod:`mesampler.remote.v2_client`) and the server
(:mod:`mesampler.remote.server`). Endpoints, relative to the server's base URL:

* ``GET /v2/models/{name}[/versions/{v}]``: metadata ``{"name", "versions", "platform", "inputs": [{"name",
  "datatype", "shape"}], "outputs": [...]}``; ``-1`` in a shape is a free size (the batch, usually).
* ``POST /v2/models/{name}[/versions/{v}]/infer``: a JSON request ``{"inputs": [{"name", "shape", "datatype",
  "data": [row-major values]}], "outputs": [{"name"}]}``, or the binary tensor extension: the same JSON
  header with ``"parameters": {"binary_data_size": n}`` instead of ``data``, followed by the raw
  little-endian bytes, the header's length in ``Inference-Header-Content-Length``. An output asked for with
  ``"parameters": {"binary_data": true}`` comes back the same way.
* Errors: status >= 400 with ``{"error": "<message>"}``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

HEADER_LENGTH = "inference-header-content-length"
"""HTTP header (case-insensitive) holding the JSON header's length in a binary-extension body."""
JSON_TYPE = "application/json"
BINARY_TYPE = "application/octet-stream"
MAX_DEPTH = 32
"""Deepest ``[``/``{`` nesting a JSON body may have (a flat v2 request needs 4, nested data 9)."""

DATATYPES: dict[str, np.dtype] = {
    name: np.dtype(t).newbyteorder("<")
    for name, t in (
        ("BOOL", np.bool_), ("UINT8", np.uint8), ("UINT16", np.uint16), ("UINT32", np.uint32),
        ("UINT64", np.uint64), ("INT8", np.int8), ("INT16", np.int16), ("INT32", np.int32), ("INT64", np.int64),
        ("FP16", np.float16), ("FP32", np.float32), ("FP64", np.float64),
    )
}  # fmt: skip
"""The protocol's tensor datatypes (BYTES, strings, is not a number type and is refused)."""

MODEL_PATH = re.compile(r"^(?P<prefix>.*?)/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?:/infer)?/?$")
"""A model URL's path: ``[prefix]/v2/models/NAME[/versions/V][/infer]``."""


class ProtocolError(ValueError):
    """A message that does not follow the protocol (the text says why)."""


@dataclass(frozen=True)
class Tensor:
    """One tensor's metadata: name, v2 datatype, shape (``-1``: free)."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Metadata:
    """``GET /v2/models/{name}``: the model's inputs and outputs, plus optional ``parameters``."""

    name: str
    platform: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    parameters: dict[str, Any]


def check_depth(body: bytes, limit: int = MAX_DEPTH) -> None:
    """``ProtocolError`` when ``[``/``{`` nest deeper than ``limit`` (counted on raw bytes, strings included,
    so the bound errs on the safe side); runs before any JSON parser sees the body."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # cannot nest deeper than it opens (a flat v2 request opens 4)
    b = np.frombuffer(body, np.uint8)
    opens = (b == ord("[")) | (b == ord("{"))
    at = np.flatnonzero(opens | (b == ord("]")) | (b == ord("}")))
    if int(np.cumsum(np.where(opens[at], 1, -1)).max()) > limit:
        raise ProtocolError(f"JSON nested deeper than {limit} levels")


def loads(body: bytes, what: str) -> Any:
    """Parse a JSON body (depth-checked first); ``ProtocolError`` naming ``what`` if malformed."""
    check_depth(body)
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ProtocolError(f"{what} is not valid JSON ({e})") from None


def _tensor(obj: Any, where: str) -> Tensor:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise ProtocolError(f"{where}: expected an object with a string 'name', got {str(obj)[:80]}")
    dt, shape = obj.get("datatype"), obj.get("shape")
    if not isinstance(dt, str) or not isinstance(shape, list) or not all(type(s) is int for s in shape):
        raise ProtocolError(f"{where} {obj['name']!r}: needs a string 'datatype' and an integer list 'shape'")
    return Tensor(obj["name"], dt.upper(), tuple(shape))


def parse_metadata(body: bytes) -> Metadata:
    """A metadata answer -> :class:`Metadata`; ``ProtocolError`` if it is not one."""
    obj = loads(body, "model metadata")
    if not isinstance(obj, dict) or not isinstance(obj.get("inputs"), list) or not isinstance(obj.get("outputs"), list):
        raise ProtocolError("model metadata must be an object with 'inputs' and 'outputs' lists")
    params = obj.get("parameters")
    return Metadata(
        name=str(obj.get("name", "")),
        platform=str(obj.get("platform", "")),
        inputs=tuple(_tensor(t, "input") for t in obj["inputs"]),
        outputs=tuple(_tensor(t, "output") for t in obj["outputs"]),
        parameters=params if isinstance(params, dict) else {},
    )


def dtype_of(datatype: str) -> np.dtype:
    """v2 datatype name -> little-endian numpy dtype; ``ProtocolError`` for BYTES and unknown names."""
    try:
        return DATATYPES[datatype.upper()]
    except KeyError:
        raise ProtocolError(f"datatype {datatype!r} is not a numeric v2 datatype ({', '.join(DATATYPES)})") from None


def datatype_of(dtype: np.dtype) -> str:
    """numpy dtype -> v2 datatype name."""
    for name, d in DATATYPES.items():
        if d == np.dtype(dtype).newbyteorder("<"):
            return name
    raise ProtocolError(f"no v2 datatype for numpy {dtype}")


def _entry(name: str, a: np.ndarray, binary: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "shape": list(a.shape), "datatype": datatype_of(a.dtype)}
    if binary:
        entry["parameters"] = {"binary_data_size": a.nbytes}
    else:
        entry["data"] = a.reshape(-1).tolist()
    return entry


def _body(header: dict[str, Any], arrays: list[np.ndarray], binary: bool) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    if not binary:
        return text, {"Content-Type": JSON_TYPE}
    raw = b"".join(np.ascontiguousarray(a, a.dtype.newbyteorder("<")).tobytes() for a in arrays)
    return text + raw, {"Content-Type": BINARY_TYPE, HEADER_LENGTH: str(len(text))}


def encode_request(
    name: str, a: np.ndarray, output: str | None, *, binary: bool, binary_output: bool, request_id: str = "0"
) -> tuple[bytes, dict[str, str]]:
    """One-input infer request -> (body, headers). ``output``: the one output to return (``None``: all)."""
    header: dict[str, Any] = {"id": request_id, "inputs": [_entry(name, a, binary)]}
    if output is not None:
        header["outputs"] = [{"name": output, **({"parameters": {"binary_data": True}} if binary_output else {})}]
    elif binary_output:
        header["parameters"] = {"binary_data_output": True}
    return _body(header, [a], binary)


def encode_response(
    model: str, outputs: dict[str, np.ndarray], binary: bool, request_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """Named output arrays -> (body, headers) of an infer answer."""
    header: dict[str, Any] = {"model_name": model, "outputs": [_entry(k, v, binary) for k, v in outputs.items()]}
    if request_id is not None:
        header["id"] = request_id
    return _body(header, list(outputs.values()), binary)


def _split(body: bytes, headers: dict[str, str], what: str) -> tuple[Any, bytes]:
    """(parsed JSON header, the binary part after it) of a v2 message."""
    length = headers.get(HEADER_LENGTH)
    if length is None:
        return loads(body, what), b""
    if not (length.isascii() and length.isdigit() and len(length) <= 18):  # int() also takes "+5", " 5", "1_0"
        raise ProtocolError(f"{HEADER_LENGTH} is not a decimal byte count: {length[:40]!r}")
    n = int(length)
    if not 0 < n <= len(body):
        size = len(body)
        raise ProtocolError(f"{HEADER_LENGTH} is {n}, but the body has {size} bytes (it must lie in 1..{size})")
    return loads(body[:n], what), body[n:]


def _json_data(data: list[Any], dtype: np.dtype, t: Tensor, what: str) -> np.ndarray:
    """JSON ``data`` (flat or nested, row-major) -> an array of ``dtype``; ``ProtocolError`` unless every value
    is a number that the datatype holds: no strings or ``null``, no fractions or out-of-range values for an
    integer type (numpy's own cast would take ``"0.5"``, truncate 0.7 to 0 and wrap 300 to 44)."""
    bad = f"{what} tensor {t.name!r}: 'data' is not numbers of {t.datatype}"
    try:
        a = np.asarray(data)
    except (TypeError, ValueError, OverflowError) as e:
        raise ProtocolError(f"{bad} ({e})") from None
    if a.size == 0:
        return a.astype(dtype)
    if dtype.kind == "b":
        ok = a.dtype.kind == "b"
    elif dtype.kind in "iu":
        ok = a.dtype.kind in "iu" or (a.dtype.kind == "f" and bool(np.all(a == np.rint(a))))
        info = np.iinfo(dtype)
        if ok and not info.min <= a.min() <= a.max() <= info.max:
            got = f"values in [{a.min()}, {a.max()}]"
            raise ProtocolError(f"{bad} ({got}; {t.datatype} holds [{info.min}, {info.max}])")
    else:
        ok = a.dtype.kind in "iuf"
    if not ok:
        what_kind = {"b": "booleans", "U": "strings", "O": "mixed values or null", "f": "fractions"}
        raise ProtocolError(f"{bad} (got {what_kind.get(a.dtype.kind, str(a.dtype))})")
    with np.errstate(over="ignore"):  # a float beyond the type becomes inf, which the callers refuse
        return a.astype(dtype)


def _shaped(a: np.ndarray, t: Tensor, what: str) -> np.ndarray:
    try:
        return a.reshape(t.shape)
    except (ValueError, OverflowError) as e:
        raise ProtocolError(f"{what} tensor {t.name!r}: shape {list(t.shape)} cannot be built ({e})") from None


def decode_tensors(body: bytes, headers: dict[str, str], key: str, what: str) -> tuple[dict[str, np.ndarray], Any]:
    """The tensors in ``body[key]`` (``"inputs"`` or ``"outputs"``) by name, and the parsed JSON header.

    ``headers`` must have lower-case names. Checks sizes against shapes and datatypes; ``ProtocolError``."""
    header, raw = _split(body, headers, what)
    if not isinstance(header, dict) or not isinstance(header.get(key), list) or not header[key]:
        raise ProtocolError(f"{what} must be a JSON object with a non-empty '{key}' list")
    out: dict[str, np.ndarray] = {}
    offset = 0
    for item in header[key]:
        t = _tensor(item, what)
        if any(s < 0 for s in t.shape):
            raise ProtocolError(f"{what} tensor {t.name!r} has a negative size in shape {list(t.shape)}")
        if t.name in out:
            raise ProtocolError(f"{what} has two tensors named {t.name!r}")
        dtype, count = dtype_of(t.datatype), math.prod(t.shape)  # Python ints: no int64 wrap-around
        params = item.get("parameters") if isinstance(item.get("parameters"), dict) else {}
        size = params.get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size != count * dtype.itemsize or offset + size > len(raw):
                raise ProtocolError(
                    f"{what} tensor {t.name!r}: binary_data_size {size} does not match shape {list(t.shape)} "
                    f"{t.datatype} ({count * dtype.itemsize} bytes) or the {len(raw) - offset} bytes left"
                )
            a = _shaped(np.frombuffer(raw, dtype, count, offset), t, what)
            offset += size
        else:
            data = item.get("data")
            if not isinstance(data, list):
                raise ProtocolError(f"{what} tensor {t.name!r} has neither 'data' nor 'binary_data_size'")
            a = _json_data(data, dtype, t, what)
            if a.size != count:
                raise ProtocolError(f"{what} tensor {t.name!r}: {a.size} values for shape {list(t.shape)}")
            a = _shaped(a, t, what)
        out[t.name] = a
    if offset != len(raw):
        raise ProtocolError(f"{what}: {len(raw) - offset} bytes after the last binary tensor")
    return out, header


def error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def error_message(body: bytes, limit: int = 300) -> str:
    """The ``error`` field of an error body, or the start of the raw body, at most ``limit`` characters."""
    try:
        check_depth(body[:100_000])
        obj: Any = json.loads(body[:100_000])
        msg = str(obj["error"]) if isinstance(obj, dict) and "error" in obj else body.decode("utf-8", "replace")
    except (UnicodeDecodeError, json.JSONDecodeError, ProtocolError, RecursionError):
        msg = body[:10_000].decode("utf-8", "replace")
    msg = " ".join(msg.split())
    return msg[:limit] + ("..." if len(msg) > limit else "")
