"""Campaign configs: every example validates without running attacks; windows of a manifest's clips;
methods restricted to some settings; ``campaign run --dry-run``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mesampler.campaign import read_config
from mesampler.campaign.outline import check_config, outline
from mesampler.cli.main import main
from mesampler.datasets import Window, load_dataset, sample_clip
from mesampler.video import read_video
from videogen import moving_square, write_clip

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
SHARED = ROOT.parent / "shared"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    cfg = read_config(path)
    needs_shared = any(d.root and not Path(d.root).exists() for d in cfg.datasets)
    if needs_shared:
        pytest.skip(f"{path.name} reads {SHARED}, absent here")
    check_config(cfg)
    units = outline(cfg, load_datasets=False)
    assert units and all(cfg.runs(cfg.methods[[m.name for m in cfg.methods].index(u.method)],
                                  next(s for s in cfg.settings if s.name == u.setting)) for u in units)  # fmt: skip


def test_paper_and_cpu_examples_are_the_protocols() -> None:
    paper = read_config(ROOT / "examples" / "paper_k400_i3d.toml")
    (m,) = paper.models
    assert (m.ref, m.frames, m.options["frames"], m.options["clips"]) == ("i3d-k400", 250, 64, 10)
    assert {(s.name, s.targeted, s.eps, s.max_queries) for s in paper.settings} == {
        ("untargeted", False, 0.03, 60_000), ("targeted", True, 0.05, 200_000)}  # fmt: skip
    attacks = {x.method for x in paper.methods}
    assert {"me-sampler", "e-nes", "e-bandits", "v-bad", "multi-noise", "one-noise", "u-sample", "s-value",
            "geo-trap", "square", "motion-square", "random-noise"} <= attacks  # fmt: skip
    assert {x.loss for x in paper.methods if x.method == "me-sampler"} >= {None, "cross-entropy", "probability"}
    assert Path(m.options["weights"]).is_absolute()  # resolved relative to the config
    cpu = read_config(ROOT / "examples" / "k400_i3d_cpu.toml")
    (c,) = cpu.models
    assert (c.frames, c.size, c.crop, c.options["clips"]) == (16, 256, 224, 1)
    assert (cpu.selection, cpu.max_videos, cpu.order, cpu.batch_videos) == ("in-order", 20, "video", 1)
    s = {x.name: x for x in cpu.settings}
    assert {(x.eps, x.max_queries, x.clean_in_budget) for x in s.values()} == {(0.01, 1000, True), (0.03, 1000, True)}
    assert s["api003"].output == {"top_k": 5, "decimals": 4} and s["api003"].max_videos == 10
    assert s["grid003"].output == {"probabilities": False, "step": 1.0}
    strongest = {"me-sampler", "geo-trap", "square", "motion-square", "e-bandits", "random-noise", "auto"}
    low = {x.method for x in cpu.methods if cpu.runs(x, s["eps001"])}
    assert low == strongest | {"multi-noise", "one-noise"}
    high = {x.method for x in cpu.methods if cpu.runs(x, s["eps003"])}
    assert strongest | {"e-nes", "v-bad", "multi-noise", "one-noise", "u-sample", "s-value"} <= high
    assert {x.loss for x in cpu.methods if x.method == "me-sampler"} == {None, "cross-entropy", "probability"}
    assert next(x for x in cpu.methods if x.name == "random-noise").budget(s["eps001"]) == 200
    assert cpu.datasets[0].options == {"label_column": "kinetics400_class", "windows": 4, "stride": 16,
                                       "window_order": [0, 2, 1, 3]}  # fmt: skip


def _video(path: Path, frames: int) -> Path:
    return write_clip(path, moving_square(frames=frames, height=32, width=48, size=12).frames, codec="h264")


def test_manifest_windows(tmp_path: Path) -> None:
    _video(tmp_path / "long.mp4", 70)
    _video(tmp_path / "short.mp4", 40)
    (tmp_path / "MANIFEST.csv").write_text("file,label\nlong.mp4,a\nshort.mp4,b\n")
    ds = load_dataset("manifest", tmp_path, windows=4, stride=16)
    ids = [it.id for it in ds.items]
    assert ids == ["long.mp4@0", "long.mp4@1", "long.mp4@2", "long.mp4@3", "short.mp4@0", "short.mp4@1"]
    whole = read_video(tmp_path / "long.mp4", size=None)
    starts = []
    for it in ds.items[:4]:
        c = ds.clip(it, frames=16, size=None)
        starts.append(c.start)
        np.testing.assert_array_equal(c.video, whole[c.start : c.start + 16])
    assert starts == [3, 19, 35, 51]  # the quarters of the centre 64 of 70 frames
    assert ds.by_class()["a"] == ds.items[:4] and ds.items[0].source == "long.mp4"
    with pytest.raises(ValueError, match=r"window 1 of 4 .* needs frames \[16, 48\) but the video has 40"):
        sample_clip(tmp_path / "short.mp4", frames=32, size=None, window=Window(1, 4, 16))
    with pytest.raises(ValueError, match="needs stride"):
        load_dataset("manifest", tmp_path, windows=2)
    with pytest.raises(ValueError, match="windows must be an integer"):
        load_dataset("manifest", tmp_path, windows=0)
    assert [it.id for it in load_dataset("manifest", tmp_path).items] == ["long.mp4", "short.mp4"]


def test_method_settings_restrict_the_plan(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[campaign]\nsettings = ["a", "b"]\n[[models]]\nname = "testbed-motion"\n[[datasets]]\nname = "testbed"\n'
        'videos = 10\n[[methods]]\nname = "me-sampler"\nmotion = "testbed"\n[[methods]]\nname = "one-noise"\n'
        'settings = ["b"]\n[settings.a]\neps = 0.03\nmax_queries = 30\n[settings.b]\neps = 0.01\nmax_queries = 30\n'
    )
    units = outline(read_config(toml))
    assert sorted((u.method, u.setting) for u in units) == [
        ("me-sampler", "a"),
        ("me-sampler", "b"),
        ("one-noise", "b"),
    ]
    assert all(u.videos == 10 for u in units)  # 10 classes x 1 video
    bad = toml.read_text().replace('settings = ["b"]', 'settings = ["c"]')
    toml.write_text(bad)
    with pytest.raises(ValueError, match=r"c.toml: method 'one-noise' names unknown setting\(s\) \['c'\]"):
        read_config(toml)


def test_check_config_names_what_cannot_run(tmp_path: Path) -> None:
    base = ROOT / "examples" / "campaign_testbed.toml"
    with pytest.raises(TypeError, match="sigmaa"):
        check_config(read_config(base, methods=[{"name": "me-sampler", "sigmaa": 1}]))
    with pytest.raises(ValueError, match="neither a registered model nor a file"):
        check_config(read_config(base, models=[{"name": "nope"}]))
    with pytest.raises(TypeError, match=r"model 'testbed-motion' .*unknown option\(s\) \['colour'\]"):
        check_config(read_config(base, models=[{"name": "testbed-motion", "colour": 1}]))
    with pytest.raises(FileNotFoundError, match="root .*nowhere not found"):
        check_config(read_config(base, datasets=[{"name": "m", "kind": "manifest", "root": str(tmp_path / "nowhere")}]))


def test_cli_dry_run_plans_without_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never"
    assert main(["campaign", "run", str(ROOT / "examples" / "campaign_testbed.toml"), "--out", str(out),
                 "--dry-run"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "testbed / testbed-motion / me-sampler (me-sampler, logits loss, motion testbed) / untargeted" in text
    assert "4 work unit(s), at most 40 attacks" in text and not out.exists()
