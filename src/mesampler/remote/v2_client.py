"""A model behind an Open Inference Protocol endpoint (KServe v2, Triton, MLServer): :class:`V2Model`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mesampler.models.adapters._arrays import (
    LAYOUTS,
    check_layout,
    check_mean_std,
    like_input,
    normalise_numpy,
    to_numpy_videos,
)
from mesampler.remote import v2
from mesampler.remote.transport import DEFAULT_TOKEN_ENV, RemoteModel, RemoteModelError, split_url

__all__ = ["V2Model", "V2Spec", "is_v2_url"]

# Where T, H, W and the 3 channels sit in each layout (batch first).
_AXES = {"NTHWC": (1, 2, 3, 4), "NCTHW": (2, 3, 4, 1), "NTCHW": (1, 3, 4, 2)}


def is_v2_url(url: str) -> bool:
    """Whether ``url``'s path names an Open Inference Protocol model (``.../v2/models/NAME[...]``)."""
    return bool(v2.MODEL_PATH.match(split_url(url).path))


def _layouts(shape: tuple[int, ...], exact: bool = False) -> list[str]:
    """Layouts consistent with a batched 5-d input ``shape``: 3 channels (or, unless ``exact``, a free size)
    where the layout puts them."""
    return [lay for lay, (_, _, _, c) in _AXES.items() if shape[c] == 3 or (shape[c] == -1 and not exact)]


@dataclass(frozen=True)
class V2Spec:
    """What the endpoint's metadata says the model expects (``None`` where it leaves it free)."""

    frames: int | None
    size: int | None
    num_classes: int | None
    layout: str
    datatype: str
    max_batch: int | None


class V2Model(RemoteModel):
    """Scores from an Open Inference Protocol model: ``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32.

    The endpoint's metadata (read once, before any query) gives the input's name, datatype and shape; the
    layout is ``layout=``, else the metadata's ``parameters.layout``, else where the 3 channels are; frames
    and size come from the fixed dimensions. Videos are sent as the input's datatype: float types get
    ``(x - mean) / std`` (``mean``/``std`` per channel, default none), ``UINT8`` gets ``round(255 x)``.
    A 4-d input (no batch dimension) takes one video per request.

    Counters: ``queries`` (videos whose scores came back and passed the checks: what an attack is charged),
    ``attempts`` (infer requests, retries included), ``videos_sent``.

    Args:
        url: ``http(s)://host:port[/prefix]/v2/models/NAME[/versions/V]``.
        output: the scores output's name; needed only when the model has several outputs.
        binary: send tensors with the binary tensor extension (default) or as JSON ``data`` lists.
        batch_size: videos per request (default: the metadata's fixed batch, or ``max_batch`` in its
            ``parameters``, else all at once).
        classes: class names, when the server does not list them in its metadata ``parameters``.
        token_env, connect_timeout, read_timeout, deadline, retries, backoff, max_backoff, max_response_bytes:
            see :class:`~mesampler.remote.transport.Transport`.
    """

    def __init__(
        self,
        url: str,
        *,
        output: str | None = None,
        layout: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        binary: bool = True,
        batch_size: int | None = None,
        classes: Sequence[str] | None = None,
        token_env: str | None = DEFAULT_TOKEN_ENV,
        **transport: Any,
    ) -> None:
        parts = split_url(url)
        m = v2.MODEL_PATH.match(parts.path)
        if not m:
            raise ValueError(f"{url!r} is not an Open Inference Protocol model URL (.../v2/models/NAME)")
        self.name, self.version = m["name"], m["version"]
        base = f"{parts.scheme}://{parts.netloc}{m['prefix']}"
        self.model_path = f"/v2/models/{self.name}" + (f"/versions/{self.version}" if self.version else "")
        self.url = base + self.model_path
        self.output_name = output
        self._layout = check_layout(layout) if layout is not None else None
        self.mean, self.std = check_mean_std(mean, std)
        self.binary = binary
        self._classes = list(classes) if classes is not None else None
        self._connect(base, token_env, batch_size, transport)
        self._requests = 0
        self._meta: v2.Metadata | None = None
        self._input: v2.Tensor | None = None
        self._output: v2.Tensor | None = None

    def __repr__(self) -> str:
        return f"V2Model({self.url!r}, {'binary' if self.binary else 'json'}{self._auth()})"

    # -- metadata ----------------------------------------------------------------------------------

    def metadata(self) -> v2.Metadata:
        """The endpoint's ``GET`` metadata, checked (cached after the first success)."""
        if self._meta is None:
            _, _, body = self.transport.exchange("GET", self.model_path, None, {"Accept": v2.JSON_TYPE})
            try:
                meta = v2.parse_metadata(body)
            except v2.ProtocolError as e:
                raise RemoteModelError(f"{self.url}: {self.transport.scrub(str(e))}") from None
            self._input, self._output = self._choose(meta)
            self._meta = meta
        return self._meta

    def _choose(self, meta: v2.Metadata) -> tuple[v2.Tensor, v2.Tensor]:
        where = f"{self.url}"
        if len(meta.inputs) != 1:
            names = [t.name for t in meta.inputs]
            raise RemoteModelError(f"{where}: the model has {len(names)} inputs {names}; a video model takes one")
        inp = meta.inputs[0]
        try:
            dtype = v2.dtype_of(inp.datatype)
        except v2.ProtocolError as e:
            raise RemoteModelError(f"{where}: input {inp.name!r}: {e}") from None
        if dtype.kind not in "fu" or (dtype.kind == "u" and dtype != np.uint8):
            raise RemoteModelError(f"{where}: input {inp.name!r} is {inp.datatype}; videos go as FP16/32/64 or UINT8")
        if dtype.kind == "u" and (self.mean is not None or self.std is not None):
            raise ValueError(f"{where}: mean/std apply to float inputs; {inp.name!r} takes UINT8 pixels")
        shape = inp.shape if len(inp.shape) == 5 else (1, *inp.shape)
        if len(shape) != 5:
            raise RemoteModelError(f"{where}: input {inp.name!r} has shape {list(inp.shape)}; expected 5-d video")
        fits, exact = _layouts(shape), _layouts(shape, exact=True)
        said = meta.parameters.get("layout")
        if self._layout is None and said in fits:
            self._layout = str(said)
        elif self._layout is None and len(exact) == 1:
            self._layout = exact[0]
        elif self._layout is None:
            if len(fits) != 1:
                raise ValueError(
                    f"{where}: input shape {list(inp.shape)} fits layouts {fits or 'none'} of {list(LAYOUTS)}; "
                    "give layout= (--layout)"
                )
            self._layout = fits[0]
        elif self._layout not in fits:
            raise ValueError(f"{where}: layout {self._layout} does not fit input shape {list(inp.shape)}")
        outs = {t.name: t for t in meta.outputs}
        if self.output_name is not None:
            if self.output_name not in outs:
                raise ValueError(f"{where}: no output {self.output_name!r}; the model has {sorted(outs)}")
            out = outs[self.output_name]
        elif len(outs) == 1:
            out = meta.outputs[0]
        else:
            raise ValueError(f"{where}: the model has outputs {sorted(outs)}; say which holds the scores (--output)")
        return inp, out

    @property
    def spec(self) -> V2Spec:
        self.metadata()
        assert self._input is not None and self._layout is not None
        shape = self._input.shape if len(self._input.shape) == 5 else (1, *self._input.shape)
        t, h, w, _ = (shape[a] for a in _AXES[self._layout])
        return V2Spec(
            frames=t if t > 0 else None,
            size=h if h > 0 and h == w else None,
            num_classes=self.num_classes,
            layout=self._layout,
            datatype=self._input.datatype,
            max_batch=self._max_batch(),
        )

    @property
    def num_classes(self) -> int | None:
        self.metadata()
        assert self._output is not None
        k = self._output.shape[-1] if self._output.shape else -1
        if k > 0:
            return k
        return len(self.classes) if self.classes else None

    @property
    def classes(self) -> list[str] | None:
        if self._classes is not None:
            return self._classes
        c = self.metadata().parameters.get("classes")
        return [str(x) for x in c] if isinstance(c, list) else None

    def _max_batch(self) -> int | None:
        assert self._input is not None and self._meta is not None
        if len(self._input.shape) == 4:
            return 1
        if self._input.shape[0] > 0:
            return self._input.shape[0]
        b = self._meta.parameters.get("max_batch")
        return b if type(b) is int and b > 0 else None  # not True, which is an int too

    # -- inference ---------------------------------------------------------------------------------

    def _encode(self, x: np.ndarray) -> np.ndarray:
        assert self._input is not None and self._layout is not None
        dtype = v2.dtype_of(self._input.datatype)
        if dtype == np.uint8:
            a = np.rint(normalise_numpy(x, self._layout, None, None) * 255).astype(np.uint8)
        else:
            a = normalise_numpy(x, self._layout, self.mean, self.std).astype(dtype, copy=False)
        return a if len(self._input.shape) == 5 else a[0]

    def _infer(self, x: np.ndarray) -> np.ndarray:
        assert self._input is not None and self._output is not None
        n = x.shape[0]
        with self.transport.lock:
            self._requests += 1
            rid = str(self._requests)
        body, headers = v2.encode_request(
            self._input.name, self._encode(x), self._output.name, binary=self.binary, binary_output=self.binary,
            request_id=rid,
        )  # fmt: skip
        _, h, data = self.transport.exchange("POST", self.model_path + "/infer", body, headers, n)
        try:
            outputs, _ = v2.decode_tensors(data, h, "outputs", "infer answer")
            if self._output.name not in outputs:
                raise v2.ProtocolError(f"no output {self._output.name!r} in the answer (got {sorted(outputs)})")
            scores = np.asarray(outputs[self._output.name], dtype=np.float32)
            if scores.ndim == 1 and n == 1:
                scores = scores[None]
            if scores.ndim != 2 or scores.shape[0] != n or scores.shape[1] < 1:
                raise v2.ProtocolError(f"scores have shape {scores.shape}; expected ({n}, K) for {n} videos")
            if not np.isfinite(scores).all():
                raise v2.ProtocolError("scores contain NaN or infinite values")
        except v2.ProtocolError as e:
            raise RemoteModelError(
                f"{self.url}/infer sent a malformed answer: {self.transport.scrub(str(e))}"
            ) from None
        self._charge(n)
        return scores

    def __call__(self, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32 (numpy or torch, like the input)."""
        x = to_numpy_videos(videos)
        spec = self.spec
        for name, want, got in (("frames", spec.frames, x.shape[1]), ("height", spec.size, x.shape[2])):
            if want is not None and want != got:
                raise ValueError(f"{self.url} takes videos of {want} {name}, got {got} (shape {x.shape})")
        bs = self.batch_size or self._max_batch() or x.shape[0]
        scores = np.concatenate([self._infer(x[i : i + bs]) for i in range(0, x.shape[0], bs)])
        return like_input(scores, videos)
