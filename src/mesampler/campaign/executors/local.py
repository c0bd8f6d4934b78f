"""In-process executor: chunks one after another, each a batched ``attack_batch`` call."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mesampler.campaign.work import Chunk, Rows, Workspace, run_chunk


class LocalExecutor:
    """Runs chunks here, sharing one :class:`Workspace` (models loaded once) with the driver."""

    def __init__(self, *, device: str | None = None, workspace: Workspace | None = None) -> None:
        self.workspace = workspace or Workspace(device=device)

    def run(self, chunks: Iterable[Chunk], on_rows: Callable[[Chunk, Rows], None]) -> None:
        for chunk in chunks:
            on_rows(chunk, run_chunk(self.workspace, chunk))

    def close(self) -> None:
        pass
