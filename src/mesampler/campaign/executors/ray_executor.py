"""Ray executor: chunks spread over Ray actors, one GPU each where the cluster has GPUs.

Each actor keeps its own :class:`~mesampler.campaign.work.Workspace` (models loaded once per actor) and
returns rows to the driver, which alone writes the database as chunks finish. ``address=None`` starts a
local Ray instance; ``address="auto"`` or ``"ray://host:10001"`` joins an existing cluster.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from mesampler.campaign.work import Chunk, Rows, Workspace, run_chunk

log = logging.getLogger("mesampler.campaign")

INSTALL_HINT = 'the Ray executor needs Ray: pip install "mesampler[ray]"'


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return ray


class _Worker:
    def __init__(self, device: str | None, threads: int | None) -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.ws = Workspace(device=device)

    def run(self, chunk: Chunk) -> Rows:
        return run_chunk(self.ws, chunk)


class RayExecutor:
    """Args:
    address: Ray cluster address (``None``: start a local instance).
    workers: number of actors (default: one per GPU, else one per 2 CPUs of the cluster).
    device: device for models without GPUs (default cpu); with GPUs each actor uses ``cuda``.
    num_cpus: CPUs of a local instance (ignored with ``address``).
    """

    def __init__(
        self, *, address: str | None = None, workers: int | None = None, device: str | None = None,
        num_cpus: int | None = None,
    ) -> None:  # fmt: skip
        ray = import_ray()
        self.ray = ray
        self._own = not ray.is_initialized()
        if self._own:
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                kw["num_cpus"] = num_cpus or os.cpu_count() or 1
            try:
                ray.init(address=address, **kw)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise ValueError(f"cannot start or reach Ray (address={address!r}): {e}") from None
        res = ray.cluster_resources()
        gpus, cpus = int(res.get("GPU", 0)), int(res.get("CPU", 1))
        n = workers or (gpus if gpus else max(1, cpus // 2))
        per_cpu = max(1, cpus // n) if not gpus else 1
        actor = ray.remote(num_gpus=1 if gpus else 0, num_cpus=per_cpu)(_Worker)
        dev = "cuda" if gpus else device
        self.actors = [actor.remote(dev, None if gpus else per_cpu) for _ in range(n)]
        log.info("Ray: %d worker(s), %s", n, f"{gpus} GPU(s)" if gpus else f"{cpus} CPU(s), no GPU")

    def run(self, chunks: Iterable[Chunk], on_rows: Callable[[Chunk, Rows], None]) -> None:
        ray = self.ray
        queue = list(chunks)
        running: dict[Any, tuple[Any, Chunk]] = {}
        idle = list(self.actors)
        while queue or running:
            while queue and idle:
                actor, chunk = idle.pop(), queue.pop(0)
                running[actor.run.remote(chunk)] = (actor, chunk)
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                actor, chunk = running.pop(ref)
                idle.append(actor)
                on_rows(chunk, ray.get(ref))

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        if self._own:
            self.ray.shutdown()
