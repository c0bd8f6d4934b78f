"""``mesampler report DIR``: Markdown, self-contained HTML, CSV tables and figures of a campaign."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "report"
HELP = "write the report of a campaign folder (report.md, report.html, CSV tables, figures)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", type=Path, help="campaign results folder (mesampler campaign run --out)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default DIR/report)")
    p.add_argument("--gallery", type=int, default=None, help="per-video figures (default: the campaign's, 12)")


def run(args: argparse.Namespace) -> int:
    from mesampler.reports.campaign import write_campaign_report

    res = write_campaign_report(args.directory, out=args.out, gallery=args.gallery)
    print(f"wrote {res['markdown']}, {res['html']}, {len(res['tables'])} CSV table(s), {len(res['figures'])} figure(s)")
    return 0
