"""``write_campaign_report(DIR)``: Markdown + self-contained HTML + CSV tables + PNG figures from a campaign's
SQLite results (``DIR/report/``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mesampler.reports.campaign_html import render_html
from mesampler.reports.campaign_markdown import render_markdown
from mesampler.reports.campaign_plots import write_all
from mesampler.reports.campaign_tables import campaign_tables, clean_check


def _selection(config: dict[str, Any]) -> str:
    if config.get("selection") == "in-order":
        n = config.get("max_videos")
        return f"the first {n if n is not None else 'all'} correctly classified video(s) in the dataset's order"
    return f"{config.get('videos_per_class', '-')} video(s) per class"


def write_campaign_report(
    directory: str | os.PathLike, *, out: str | os.PathLike | None = None, gallery: int | None = None
) -> dict[str, Any]:
    """Write ``report.md``, ``report.html`` (images inlined), ``<table>.csv`` and PNGs into ``out``
    (default ``DIR/report``). ``gallery``: per-video figures (default: the campaign's ``gallery`` setting).

    Returns ``{"markdown", "html", "tables": [csv paths], "figures": [png paths]}``.
    """
    from mesampler.campaign.store import ResultStore

    directory = Path(directory)
    with ResultStore(directory, create=False) as store:
        rows = store.rows(history=True)
        clean = store.clean_rows()
        runs = store.runs()
    if not rows:
        raise ValueError(f"{directory}: the campaign has no results yet")
    config = json.loads(runs[-1]["config"]) if runs else {}
    n_gallery = gallery if gallery is not None else int(config.get("gallery", 12))
    dest = Path(out) if out is not None else directory / "report"
    dest.mkdir(parents=True, exist_ok=True)
    refs = {m["name"]: m.get("ref") or m["name"] for m in config.get("models", [])}
    tables = campaign_tables(rows, refs, clean)
    csvs = []
    for t in tables:
        t.write_csv(dest / f"{t.name}.csv")
        csvs.append(dest / f"{t.name}.csv")
    figures = write_all(rows, directory, dest, gallery_n=n_gallery)
    versions = sorted({r["version"] for r in rows})
    correct = sum(int(c["correct"]) for c in clean)
    intro = [
        f"{len(rows)} attacks: datasets {', '.join(sorted({r['dataset'] for r in rows}))}; models "
        f"{', '.join(sorted({r['model'] for r in rows}))}; methods {', '.join(sorted({r['method'] for r in rows}))}; "
        f"settings {', '.join(sorted({r['setting'] for r in rows}))}.",
        f"Protocol seed {config.get('seed', '-')}, {_selection(config)}; "
        f"{len(clean)} clean queries ({correct} correct) chose the videos and are not counted in any attack.",
        "ANQ counts a failed video at the budget Q; 'ANQ (succ.)' averages successful videos only; "
        + clean_check(rows),
        f"mesampler {', '.join(versions)}; {len(runs)} run(s) of this campaign.",
    ]
    for t in tables:
        if t.extra.get("verdict"):
            intro.append(f"{t.title}: {t.extra['verdict']}. {t.note}")
    title = f"Campaign report: {directory.name}"
    md = dest / "report.md"
    md.write_text(render_markdown(title, intro, tables, figures, dest))
    page = dest / "report.html"
    page.write_text(render_html(title, intro, tables, figures))
    pngs = [p for figs in figures.values() for _, p in figs]
    return {"markdown": md, "html": page, "tables": csvs, "figures": pngs}
