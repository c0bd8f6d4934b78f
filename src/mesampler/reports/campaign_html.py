"""Self-contained HTML rendering of a campaign report: images inlined as base64 PNG data URIs."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from mesampler.reports.campaign_tables import Table, fmt, sections

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; max-width: 100%; }
figcaption { font-size: 12px; color: #555; max-width: 600px; }
img { max-width: 100%; border: 1px solid #eee; }
.note { color: #666; font-size: 12px; }
"""


def data_uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def table_html(t: Table) -> str:
    e = html.escape
    if t.extra.get("csv_only"):
        return (
            f'<h3 id="{e(t.name)}">{e(t.title)}</h3><p class="note">{e(t.note)} {len(t.rows)} rows: {e(t.name)}.csv</p>'
        )
    head = "".join(f"<th>{e(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{e(fmt(c))}</td>" for c in row) + "</tr>" for row in t.rows)
    note = f'<p class="note">{e(t.note)}</p>' if t.note else ""
    return (f'<h3 id="{e(t.name)}">{e(t.title)}</h3>{note}<table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")  # fmt: skip


def render_html(title: str, intro: Sequence[str], tables: Sequence[Table], figures: dict[str, list]) -> str:
    e = html.escape
    names = {"loss": "Loss curves", "success": "Success rate versus queries", "targeted": "Targeted comparison",
             "gallery": "Gallery"}  # fmt: skip
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>"]  # fmt: skip
    parts += [f"<p>{e(line)}</p>" for line in intro if line]
    for section, group in sections(tables):
        parts.append(f"<h2>{e(section)}</h2>")
        parts += [table_html(t) for t in group]
    for key, figs in figures.items():
        if not figs:
            continue
        parts.append(f"<h2>{e(names.get(key, key))}</h2>")
        for caption, path in figs:
            parts.append(f'<figure><img src="{data_uri(path)}" alt="{e(caption)}"><figcaption>{e(caption)}'
                         "</figcaption></figure>")  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)
