"""Markdown rendering of a campaign report (images referenced by relative path)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mesampler.reports.campaign_tables import Table, fmt, sections


def table_markdown(t: Table) -> str:
    if t.extra.get("csv_only"):
        return f"### {t.title}\n\n{t.note} {len(t.rows)} rows: `{t.name}.csv`.\n"
    lines = [f"### {t.title}", ""]
    if t.note:
        lines += [t.note, ""]
    lines.append("| " + " | ".join(t.header) + " |")
    lines.append("|" + "---|" * len(t.header))
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in t.rows]
    lines += ["", f"CSV: `{t.name}.csv`", ""]
    return "\n".join(lines)


def render_markdown(title: str, intro: Sequence[str], tables: Sequence[Table], figures: dict[str, list],
                    base: Path) -> str:  # fmt: skip
    parts = [f"# {title}", "", *intro, ""]
    for section, group in sections(tables):
        parts += [f"## {section}", ""]
        parts += [table_markdown(t) for t in group]
    names = {"loss": "Loss curves", "success": "Success rate versus queries", "targeted": "Targeted comparison",
             "gallery": "Gallery"}  # fmt: skip
    for key, figs in figures.items():
        if not figs:
            continue
        parts += [f"## {names.get(key, key)}", ""]
        for caption, path in figs:
            parts += [f"![{caption}]({Path(path).relative_to(base).as_posix()})", "", f"*{caption}*", ""]
    return "\n".join(parts) + "\n"
