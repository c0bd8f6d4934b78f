"""Campaign options that make it the one real-model benchmark harness: in-order selection, what the attacker
sees per setting (API view), the clean query inside the budget, per-method budget caps, per-setting video
limits, video-by-video order, a centre crop, the perturbation statistics stored with every attack, merging a
store run elsewhere (a GPU machine), and fp32 on CUDA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mesampler.campaign import ResultStore, read_config, run_campaign
from mesampler.campaign.protocol import select_in_order
from mesampler.datasets import load_dataset
from mesampler.reports.perturbation import perturbation_stats
from videogen import moving_square, write_clip

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
[campaign]
selection = "in-order"
max_videos = 3
order = "video"
batch_videos = 1
settings = ["plain", "api"]
[[models]]
name = "testbed-motion"
[[datasets]]
name = "testbed"
videos = 12
[[methods]]
name = "me-sampler"
motion = "testbed"
[[methods]]
name = "random-noise"
max_queries = 5
[settings.plain]
eps = 0.03
max_queries = 12
clean_in_budget = true
[settings.api]
eps = 0.03
max_queries = 12
output = { probabilities = false, step = 0.5 }
max_videos = 2
"""


def test_in_order_selection_takes_the_first_correct_items() -> None:
    ds = load_dataset("testbed", videos=12)
    mapped = {c: i for i, c in enumerate(ds.classes)}
    wrong = {ds.items[1].id, ds.items[3].id}
    recorded: list[dict] = []

    def predict(items):
        return [((mapped[it.label] + 1) % 10 if it.id in wrong else mapped[it.label], 0, 16) for it in items]

    sel = select_in_order(ds, mapped, predict, max_videos=3, batch=2, record=recorded.extend)
    assert [s.item.id for s in sel] == [ds.items[i].id for i in (0, 2, 4)] and [s.ordinal for s in sel] == [0, 1, 2]
    assert len(recorded) == 6  # three batches of two, then enough were found
    again = select_in_order(ds, mapped, lambda items: pytest.fail("re-queried"), max_videos=3, batch=2,
                            known={r["video_id"]: r for r in recorded})  # fmt: skip
    assert again == sel


def test_campaign_with_views_caps_and_video_order(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(CONFIG)
    out = tmp_path / "out"
    s = run_campaign(read_config(toml), out, progress=False)
    assert s.total == 2 * 3 + 2 * 2  # two methods x (3 videos plain + 2 through the API)
    with ResultStore(out) as store:
        rows = store.rows(history=True)
    ordinals = [r["attack_seed"] for r in rows]
    assert ordinals == sorted(ordinals)  # video by video
    for r in rows:
        budget = 5 if r["method"] == "random-noise" else 12
        assert r["max_queries"] == budget and r["queries"] <= budget
        inside = r["setting"] == "plain"  # the clean query counts against the budget there
        assert r["clean_queries"] == (0 if inside else 1)
        assert r["queries"] == r["loss_queries"] + r["check_queries"]
        assert r["history"][0, 0] == (1 if inside else 0) and r["history"][-1, 0] == r["queries"]
        assert 0 <= r["flicker"] <= 2 * r["eps"] + 1e-6 and 0 < r["mode_share"] <= 1
    api = [r for r in rows if r["setting"] == "api"]
    assert len(api) == 4 and {r["attack_seed"] for r in api} == {0, 1}
    for r in api:  # the attack saw logits on a 0.5 grid: every margin it recorded is on that grid
        losses = r["history"][:, 1].astype(np.float64) * 2
        np.testing.assert_allclose(losses, np.round(losses), atol=1e-4)
    plain = [r for r in rows if r["setting"] == "plain" and r["method"] == "me-sampler"]
    assert any(not np.allclose(r["history"][:, 1] * 2, np.round(r["history"][:, 1] * 2), atol=1e-4) for r in plain)


def test_harness_options_are_checked(tmp_path: Path) -> None:
    def bad(text: str, match: str) -> None:
        toml = tmp_path / "bad.toml"
        toml.write_text(text)
        with pytest.raises(ValueError, match=match):
            read_config(toml)

    bad(CONFIG.replace("step = 0.5", "steps = 0.5"), "setting 'api': output .*steps")
    bad(CONFIG.replace("step = 0.5", "step = 0"), "setting 'api': output: step must be")
    bad(CONFIG.replace("max_videos = 2", "max_videos = 0"), "setting 'api': max_videos must be")
    bad(CONFIG.replace("clean_in_budget = true", "clean_in_budget = 1"), "clean_in_budget must be true or false")
    bad(CONFIG.replace("max_queries = 5", "max_queries = 2"), "method 'random-noise': max_queries must be")
    bad(CONFIG.replace('"in-order"', '"random"'), "selection must be one of")
    bad(CONFIG.replace('order = "video"', 'order = "setting"'), "order must be one of")
    bad(CONFIG.replace('name = "testbed-motion"', 'name = "testbed-motion"\nsize = 32\ncrop = 48'),
        "crop 48 exceeds the short side size 32")  # fmt: skip
    bad(CONFIG.replace("clean_in_budget = true", "clean_in_budgets = true"), "unknown key.*clean_in_budgets")


def test_manifest_window_order_and_crop(tmp_path: Path) -> None:
    for name in ("a.mp4", "b.mp4"):
        write_clip(tmp_path / name, moving_square(frames=40, height=32, width=48, size=12).frames, codec="h264")
    (tmp_path / "MANIFEST.csv").write_text("file,label\na.mp4,x\nb.mp4,y\n")
    ds = load_dataset("manifest", tmp_path, windows=2, stride=16, window_order=[1, 0])
    assert [it.id for it in ds.listed] == ["a.mp4@1", "b.mp4@1", "a.mp4@0", "b.mp4@0"]
    assert [it.id for it in ds.items] == sorted(it.id for it in ds.listed)
    with pytest.raises(ValueError, match="window_order must be a permutation"):
        load_dataset("manifest", tmp_path, windows=2, stride=16, window_order=[0, 0])
    full = ds.clip(ds.items[0], frames=16, size=32)
    cropped = ds.clip(ds.items[0], frames=16, size=32, crop=24)
    assert full.video.shape[1:3] == (32, 32) and cropped.video.shape[1:3] == (24, 24)  # short side 32, then crops
    np.testing.assert_array_equal(cropped.video, full.video[:, 4:28, 4:28])


def test_perturbation_stats() -> None:
    t, h, w = 4, 8, 8
    still = np.full((t, h, w, 3), 0.03, np.float32)
    assert perturbation_stats(still) == (0.0, 1.0)
    signs = np.where(np.arange(t * h * w * 3).reshape(t, h, w, 3) % 2, 0.03, -0.03).astype(np.float32)
    flicker, mode = perturbation_stats(signs)
    assert mode == 0.5 and flicker == pytest.approx(0.0, abs=1e-7)  # the same checkerboard in every frame
    flip = signs * np.array([1, -1, 1, -1], np.float32)[:, None, None, None]
    assert perturbation_stats(flip)[0] == pytest.approx(0.06)
    assert perturbation_stats(signs[:1])[0] == 0.0


def test_merge_adds_what_the_other_store_has(tmp_path: Path) -> None:
    base = ROOT / "examples" / "campaign_testbed.toml"

    def tiny(classes: int):
        return read_config(base, datasets=[{"name": "testbed", "videos": 20}], max_classes=classes, max_queries=9,
                           methods=[{"name": "me-sampler", "motion": "testbed"}], settings=["untargeted"])  # fmt: skip

    run_campaign(tiny(2), tmp_path / "home", progress=False)
    run_campaign(tiny(3), tmp_path / "away", progress=False)
    with ResultStore(tmp_path / "home") as home:
        before = {r["video_id"]: r for r in home.rows()}
        assert home.merge_from(tmp_path / "away") == 1 and home.merge_from(tmp_path / "away") == 0
        rows = {r["video_id"]: r for r in home.rows(history=True)}
        assert len(rows) == 3 and len(home.runs()) == 2 and len(home.clean_rows()) >= 3
    (new,) = set(rows) - set(before)
    assert (tmp_path / "home" / rows[new]["video_file"]).is_file() and len(rows[new]["history"]) > 0
    assert all(rows[v]["finished_at"] == before[v]["finished_at"] for v in before)  # kept, not replaced


def test_full_fp32_turns_tf32_off_on_cuda_only() -> None:
    import torch

    from mesampler.models.base import full_fp32

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
        with full_fp32(torch.device("cuda")):  # flags only: no GPU needed
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
        with full_fp32(torch.device("cpu")):
            assert torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
