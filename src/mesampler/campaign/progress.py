"""Live campaign progress: videos done, success rate and mean queries of this run's attacks."""

from __future__ import annotations

from typing import Any


class Progress:
    def __init__(self, total: int, *, done: int = 0, disabled: bool = False) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=done, desc="campaign", unit="video", disable=disabled)
        self.n = self.successes = self.queries = 0

    def add(self, row: dict[str, Any]) -> None:
        self.n += 1
        self.successes += int(row["success"])
        self.queries += int(row["queries"])
        self.bar.update(1)
        self.bar.set_postfix_str(f"SR {100 * self.successes / self.n:.1f}% mean queries {self.queries / self.n:.0f}")

    def close(self) -> None:
        self.bar.close()
