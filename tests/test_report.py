"""`mesampler report`: Markdown, self-contained HTML (every image inlined and decodable), CSV tables, figures.

A headless-browser screenshot would be the gold standard; none is installed here, so the HTML is parsed and
every image is decoded.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from mesampler.campaign import read_config, run_campaign
from mesampler.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "c"
    cfg = read_config(
        ROOT / "examples" / "campaign_testbed.toml",
        datasets=[{"name": "testbed", "videos": 10}],
        methods=[{"name": "me-sampler", "motion": "testbed"}, {"name": "me-sampler-ce", "method": "me-sampler",
                 "motion": "testbed", "loss": "cross-entropy"}, {"name": "one-noise"}],
        settings=["untargeted", "targeted"], max_classes=2, max_queries=12, gallery=3,
    )  # fmt: skip
    run_campaign(cfg, out, progress=False)
    return out


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])


def test_report_html_markdown_csv(campaign, capsys):
    assert main(["report", str(campaign)]) == 0
    assert "report.html" in capsys.readouterr().out
    rep = campaign / "report"
    page = _Collect()
    page.feed((rep / "report.html").read_text())
    assert page.tags.count("table") >= 4 and page.imgs
    for src in page.imgs:
        assert src.startswith("data:image/png;base64,"), src[:40]
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        img.verify()
    md = (rep / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links and all((rep / p).is_file() for p in links)
    assert len(links) == len(page.imgs)
    names = {p.name for p in rep.glob("*.csv")}
    assert {"summary.csv", "table3_untargeted.csv", "table3_targeted.csv", "verdicts.csv", "results.csv"} <= names
    assert {"videos_untargeted.csv", "videos_targeted.csv"} <= names
    assert "table5_untargeted.csv" in names  # two losses of one method: the Table 5 ablation
    assert sum(1 for p in links if p.startswith("gallery_")) == 3
    assert any(p.startswith("targeted_") for p in links) and any(p.startswith("loss_") for p in links)
    with open(rep / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and all(0 <= float(r["SR %"]) <= 100 for r in rows)


def test_report_errors(tmp_path):
    assert main(["report", str(tmp_path)]) == 2
    from mesampler.reports.campaign import write_campaign_report

    with pytest.raises(FileNotFoundError, match="no campaign results"):
        write_campaign_report(tmp_path)
