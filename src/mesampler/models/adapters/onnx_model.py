"""ONNX files behind the black-box contract, run with onnxruntime (numpy in, numpy out)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mesampler.models.adapters._arrays import (
    check_layout,
    check_mean_std,
    like_input,
    normalise_numpy,
    scores_to_numpy,
    to_numpy_videos,
)

ONNX_SUFFIXES: tuple[str, ...] = (".onnx",)
_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


class ONNXModel:
    """An ONNX graph as a black-box model.

    The graph's first input receives ``(N, T, H, W, 3)`` float32 in [0, 1] by default; ``layout``
    (``"NCTHW"``, ``"NTCHW"``) and ``mean``/``std`` (3 values on [0, 1] RGB) adapt the batch to
    graphs that expect otherwise. Its first output must be ``(N, K)`` scores. A graph exported with
    a fixed batch dimension is fed chunks of exactly that size (the last one zero-padded).

    Args:
        path: the ``.onnx`` file.
        batch_size: videos per ``session.run`` when the batch dimension is dynamic.
        providers: onnxruntime execution providers; ``None`` uses onnxruntime's default order.
        threads: intra-op threads (0: onnxruntime's default).
    """

    accepts_torch = False

    def __init__(
        self,
        path: str | Path,
        *,
        batch_size: int = 16,
        layout: str = "NTHWC",
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        providers: Sequence[str] | None = None,
        threads: int = 0,
        num_classes: int | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"ONNX file {str(p)!r} does not exist")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.layout = check_layout(layout)
        self.mean, self.std = check_mean_std(mean, std)
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ImportError("ONNX models need onnxruntime: pip install 'mesampler[onnx]'") from e
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(p), sess_options=opts, providers=providers)
        except Exception as e:  # onnxruntime raises its own exception types
            raise ValueError(f"cannot load ONNX model {str(p)!r}: {str(e).splitlines()[0][:300]}") from None
        inp = self.session.get_inputs()[0]
        self._input_name = inp.name
        self._input_dtype = _ORT_DTYPES.get(inp.type)
        if self._input_dtype is None:
            raise ValueError(f"{str(p)!r}: input {inp.name!r} has type {inp.type}; expected a float tensor")
        if len(inp.shape) != 5:
            raise ValueError(f"{str(p)!r}: input {inp.name!r} has shape {inp.shape}; expected 5 dimensions")
        self._fixed_batch = inp.shape[0] if isinstance(inp.shape[0], int) and inp.shape[0] > 0 else None
        self.batch_size = self._fixed_batch or batch_size
        self.path = p
        self.classes = list(classes) if classes is not None else None
        self._k = num_classes if num_classes is not None else (len(classes) if classes is not None else None)

    @property
    def num_classes(self) -> int | None:
        return self._k

    def __repr__(self) -> str:
        return f"ONNXModel({self.path.name!r}, layout={self.layout}, batch_size={self.batch_size})"

    def __call__(self, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32 (same kind of array as the input)."""
        x = normalise_numpy(to_numpy_videos(videos), self.layout, self.mean, self.std).astype(
            self._input_dtype, copy=False
        )
        n = x.shape[0]
        out = []
        for i in range(0, n, self.batch_size):
            chunk = x[i : i + self.batch_size]
            m = chunk.shape[0]
            if self._fixed_batch and m < self._fixed_batch:
                chunk = np.concatenate([chunk, np.zeros((self._fixed_batch - m, *chunk.shape[1:]), chunk.dtype)])
            try:
                res = self.session.run(None, {self._input_name: chunk})[0]
            except Exception as e:  # onnxruntime's own exception types
                raise ValueError(
                    f"{self!r} failed on input of shape {chunk.shape}: {str(e).splitlines()[0][:300]}"
                ) from None
            out.append(scores_to_numpy(res, chunk.shape[0], repr(self))[:m])
        scores = np.concatenate(out)
        self._k = scores.shape[1]
        return like_input(scores, videos)


def from_onnx(path: str | Path, **options: Any) -> ONNXModel:
    """Load an ONNX file as a black-box model: ``ONNXModel(path, **options)`` (see :class:`ONNXModel`)."""
    return ONNXModel(path, **options)
