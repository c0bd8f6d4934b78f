"""Where chunks run: :class:`LocalExecutor` (this process) or :class:`RayExecutor` (Ray workers).

An executor has ``run(chunks, on_rows)``: it calls ``on_rows(chunk, rows)`` in the driver process as each
chunk finishes (the driver alone writes the database), and ``close()``.
"""

from __future__ import annotations

from typing import Any

from mesampler.campaign.executors.local import LocalExecutor


def make_executor(name: str, **options: Any) -> Any:
    """``"local"`` or ``"ray"`` (``address``, ``workers``, ``device`` options)."""
    if name == "local":
        return LocalExecutor(device=options.get("device"))
    if name == "ray":
        from mesampler.campaign.executors.ray_executor import RayExecutor

        return RayExecutor(**options)
    raise ValueError(f"unknown executor {name!r}; choose local or ray")


__all__ = ["LocalExecutor", "make_executor"]
