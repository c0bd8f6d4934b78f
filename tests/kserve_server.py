"""A real KServe ``ModelServer`` for the tests: the test-bed network as a "foreign" deployed model.

Run by ``tests/test_v2.py`` in its own process: ``python tests/kserve_server.py`` with the environment
variables ``KS_PORT`` (HTTP port), ``KS_LOG`` (request log, one JSON line per infer call) and ``KS_NAME``.
The model takes what a deployed classifier typically takes: ``(N, 3, T, H, W)`` float32 normalised with the
test bed's mean 0.5 / std 0.25 (layout NCTHW), and returns two outputs, ``logits`` and ``probabilities``.
Bound to 127.0.0.1 only (KServe 0.21's REST server would bind 0.0.0.0: its uvicorn config is patched).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

MEAN, STD = 0.5, 0.25


def main() -> None:
    port, log_path, name = int(os.environ["KS_PORT"]), os.environ["KS_LOG"], os.environ.get("KS_NAME", "testbed")
    sys.argv = sys.argv[:1]  # kserve parses the command line when imported
    import kserve
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse
    from kserve.protocol.rest import server as rest

    import mesampler.models as M

    original = rest.RESTServer.__init__

    def loopback_only(self: rest.RESTServer, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        self.config.host = "127.0.0.1"

    rest.RESTServer.__init__ = loopback_only  # type: ignore[method-assign]
    net = M.create("testbed-motion")
    spec = net.spec
    torch.set_num_threads(1)

    class Deployed(kserve.Model):
        def __init__(self) -> None:
            super().__init__(name)
            self.ready = True

        def get_input_types(self) -> list[dict]:
            return [{"name": "clip", "datatype": "FP32", "shape": [-1, 3, spec.frames, spec.size, spec.size]}]

        def get_output_types(self) -> list[dict]:
            k = net.num_classes
            return [
                {"name": "logits", "datatype": "FP32", "shape": [-1, k]},
                {"name": "probabilities", "datatype": "FP32", "shape": [-1, k]},
            ]

        async def predict(
            self, payload: InferRequest, headers: dict | None = None, response_headers: dict | None = None
        ) -> InferResponse:  # noqa: E501
            x = payload.inputs[0].as_numpy()
            videos = np.ascontiguousarray(x.transpose(0, 2, 3, 4, 1) * STD + MEAN, dtype=np.float32)
            with torch.inference_mode():
                logits = np.asarray(net(videos), dtype=np.float32)
            probs = torch.softmax(torch.from_numpy(logits), 1).numpy()
            with open(log_path, "a") as f:
                f.write(json.dumps({"n": int(x.shape[0])}) + "\n")
            outs = [
                InferOutput(k, list(a.shape), "FP32", data=a) for k, a in (("logits", logits), ("probabilities", probs))
            ]
            return InferResponse(payload.id, self.name, outs, requested_outputs=payload.request_outputs,
                                 use_binary_outputs=payload.use_binary_outputs)  # fmt: skip

    kserve.ModelServer(http_port=port, enable_grpc=False, workers=1).start([Deployed()])


if __name__ == "__main__":
    main()
