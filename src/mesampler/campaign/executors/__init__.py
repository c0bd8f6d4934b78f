"""Where chunks run: :class:`LocalExecutor` (this process) or :class:`RayExecutor` (Ray workers).

An executor has ``run(chunks, on_rows)``: it calls ``on_rows(chunk, rows)`` in the driver process as each
chunk finishes (the driver alone writes the database), and ``close()``.
"""

from __future__ import annotations

from typing import Any

from mesampler.registry import Registry

EXECUTORS: Registry[Any] = Registry("executor")


@EXECUTORS.register("local")
def _local(**options: Any) -> Any:
    from mesampler.campaign.executors.local import LocalExecutor

    return LocalExecutor(device=options.get("device"))


@EXECUTORS.register("ray")
def _ray(**options: Any) -> Any:
    from mesampler.campaign.executors.ray_executor import RayExecutor

    return RayExecutor(**options)


def make_executor(name: str, **options: Any) -> Any:
    """``"local"`` or ``"ray"`` (``address``, ``workers``, ``device`` options)."""
    return EXECUTORS.create(name, **options)


__all__ = ["EXECUTORS", "make_executor"]
