"""Bad models and careless use must not produce silent wrong results (reliability issue, one test per defect)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import mesampler
from mesampler.models.protocol import model_info
from mesampler.remote import HTTPModel, serve_in_thread
from mesampler.reports.summary import summary_text

SHAPE = (4, 8, 8, 3)


def _video(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(SHAPE).astype(np.float32) * 0.8 + 0.1


class InPlaceNumpy:
    """Normalises its input in place, as careless preprocessing code does."""

    def __init__(self) -> None:
        self.w = np.random.default_rng(3).normal(size=(int(np.prod(SHAPE)), 3)).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x -= 0.45
        x /= 0.225
        return x.reshape(len(x), -1) @ self.w


class InPlaceModule(torch.nn.Module):
    accepts_torch = True
    device = "cpu"

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(int(np.prod(SHAPE)), 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.sub_(0.5).div_(0.25)
        return self.lin(x.flatten(1))


@pytest.mark.parametrize("model", [InPlaceNumpy(), InPlaceModule()], ids=["numpy", "module"])
def test_model_mutating_its_input_cannot_change_the_attack(model: object) -> None:
    video = _video()
    with torch.no_grad():
        r = mesampler.attack(model, video, eps=0.03, max_queries=60, method="one-noise")
    assert r.adversarial.min() >= 0 and r.adversarial.max() <= 1
    true_linf = float(np.abs(r.adversarial - video).max())
    assert true_linf <= 0.03 + 1e-6 and abs(true_linf - r.linf) < 1e-6


def test_misclassified_clip_is_reported_not_attacked() -> None:
    video = _video()
    model = InPlaceNumpy()
    top1 = int(model(video[None].copy()).argmax())
    r = mesampler.attack(model, video, label=(top1 + 1) % 3, max_queries=50)
    assert r.status == "misclassified" and not r.success and r.queries == 1 and r.iterations == 0
    assert r.to_dict()["status"] == "misclassified"
    assert "MISCLASSIFIED, not attacked" in summary_text(r) and "SUCCESS" not in summary_text(r)
    unlabelled = mesampler.attack(model, video, max_queries=4)
    assert not unlabelled.label_given and "the model's clean top-1, p=" in summary_text(unlabelled)


def test_http_model_advertises_the_servers_frames_and_size() -> None:
    server, url = serve_in_thread(mesampler.models.create("testbed-motion"), "127.0.0.1", 0)
    try:
        info = model_info(HTTPModel(url))
        assert (info.frames, info.size) == (16, 64)
    finally:
        server.close()


def test_cli_uses_the_size_an_http_model_advertises(tmp_path: Path) -> None:
    """A 96x80 file attacked through a 64x64 server: the CLI resizes to the advertised size (was HTTP 400)."""
    from mesampler import testbed
    from mesampler.cli.main import main
    from mesampler.video import write_video

    videos, _, _ = testbed.make_dataset(1, testbed.TEST_SEED)
    big = np.repeat(np.repeat(videos[0], 2, axis=1), 2, axis=2)[:, :80, :96]
    path = tmp_path / "clip.mkv"
    write_video(path, big, fps=10)
    server, url = serve_in_thread(mesampler.models.create("testbed-motion"), "127.0.0.1", 0)
    try:
        code = main(["attack", str(path), "--model", url, "--out", str(tmp_path / "out"), "--max-queries", "7",
                     "--no-progress"])  # fmt: skip
    finally:
        server.close()
    assert code == 0


class Linear:
    def __init__(self, shape: tuple[int, ...] = SHAPE, k: int = 3, seed: int = 0) -> None:
        self.w = np.random.default_rng(seed).normal(size=(int(np.prod(shape)), k)).astype(np.float32) * 4
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        return x.reshape(len(x), -1) @ self.w


class InterruptedAt(Linear):
    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.calls + 1 == self.at:
            self.calls += 1
            raise KeyboardInterrupt
        return super().__call__(x)


def test_ctrl_c_saves_the_state_and_resume_ends_as_uninterrupted(tmp_path: Path) -> None:
    video = _video(2)
    kw = {"eps": 0.01, "max_queries": 90, "method": "multi-noise", "seed": 4}
    whole = mesampler.attack(Linear(), video, **kw)
    ck = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        mesampler.attack(InterruptedAt(12), video, checkpoint=mesampler.attacks.checkpoint.Checkpoint(ck, every_s=1e9),
                         **kw)  # fmt: skip
    assert ck.is_file()
    resumed = mesampler.attack(Linear(), video, checkpoint=ck, **kw)
    assert (resumed.queries, resumed.success, resumed.adv_label) == (whole.queries, whole.success, whole.adv_label)
    np.testing.assert_array_equal(resumed.adversarial, whole.adversarial)


def test_model_output_that_requires_grad_is_accepted() -> None:
    class Grad(torch.nn.Module):
        accepts_torch = True

        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(int(np.prod(SHAPE)), 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x.flatten(1))  # no torch.no_grad(): the scores require grad

    r = mesampler.attack(Grad(), _video(), max_queries=30)
    assert r.queries <= 30


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"seed": -1}, ValueError, "must be a non-negative int, got -1"),
        ({"max_queries": 2.7}, TypeError, "max_queries must be an int"),
        ({"max_queries": True}, TypeError, "max_queries must be an int"),
        ({"max_queries": 2}, ValueError, r"below one iteration of 'me-sampler' \(3 queries\)"),
        ({"max_queries": 50, "method": "e-nes"}, ValueError, r"\(51 queries\); give at least 51"),
        ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1"),
    ],
)
def test_bad_numbers_are_refused_before_any_query(kwargs: dict, error: type[Exception], message: str) -> None:
    model = Linear()
    with pytest.raises(error, match=message):
        mesampler.attack(model, _video(), **kwargs)
    assert model.calls == 0


def test_readme_import_style_works() -> None:
    import subprocess
    import sys

    code = "import mesampler; m = mesampler.models.create('testbed-motion'); print(m.spec.frames)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "16", done.stderr


def test_8bit_output_stays_in_the_eps_ball() -> None:
    from mesampler.video.transform import quantise_in_ball

    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    eps = 0.03  # 7.65 levels: plain rounding can give 8 levels = 0.0314
    adv = np.clip(clean / 255 + rng.choice([-eps, eps], clean.shape), 0, 1).astype(np.float32)
    assert np.abs(np.rint(adv * 255) - clean).max() / 255 > eps  # the defect: rounding leaves the ball
    q = quantise_in_ball(adv, clean, eps)
    assert np.abs(q.astype(int) - clean).max() / 255 <= eps
    assert np.abs(q / 255 - adv).max() <= 1.5 / 255


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mesampler import testbed
    from mesampler.video import write_video

    videos, _, _ = testbed.make_dataset(3, testbed.TEST_SEED)
    path = tmp_path_factory.mktemp("clips") / "clip.mkv"
    write_video(path, videos[2], fps=10)
    return path


def _cli(*argv: str) -> int:
    from mesampler.cli.main import main

    return main(["attack", *argv, "--model", "testbed-motion", "--no-progress"])


def test_cli_refuses_an_output_that_is_a_file(tmp_path: Path, clip_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "taken"
    out.write_text("x")
    assert _cli(str(clip_path), "--out", str(out), "--max-queries", "9") != 0
    assert "exists and is not a folder" in capsys.readouterr().err


def test_cli_frames_beyond_the_video_needs_pad(tmp_path: Path, clip_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _cli(str(clip_path), "--out", str(tmp_path / "a"), "--frames", "40", "--max-queries", "9") != 0
    assert "--pad" in capsys.readouterr().err
    assert _cli(str(clip_path), "--out", str(tmp_path / "b"), "--frames", "40", "--pad", "--max-queries", "9") == 0
    import json

    assert json.loads((tmp_path / "b" / "summary.json").read_text())["clip"]["frames"] == 40


def test_cli_keeps_the_checkpoint_until_outputs_are_written(
    tmp_path: Path, clip_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mesampler.video as V

    def full_disk(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(V, "write_video", full_disk)
    out = tmp_path / "o"
    with pytest.raises(OSError):
        _cli(str(clip_path), "--out", str(out), "--max-queries", "9", "--checkpoint-every", "0")
    assert (out / "checkpoint.pt").is_file()  # the attack can be resumed
    assert not (out / "adversarial.mkv").exists() and not list(out.glob(".*tmp*"))


def test_cli_summary_states_the_8bit_linf(tmp_path: Path, clip_path: Path) -> None:
    import json

    assert _cli(str(clip_path), "--out", str(tmp_path / "s"), "--max-queries", "30", "--eps", "0.03") == 0
    s = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert s["linf_8bit"] <= 0.03
    from mesampler.video import read_video

    adv = read_video(tmp_path / "s" / "adversarial.mkv")
    clean = read_video(tmp_path / "s" / "clean.mkv")
    assert np.abs(adv.astype(int) - clean.astype(int)).max() / 255 <= 0.03
    assert not (tmp_path / "s" / "checkpoint.pt").exists()


def test_campaign_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    from mesampler.campaign import run_campaign
    from mesampler.campaign.config import read_config

    root = Path(__file__).resolve().parents[1] / "examples" / "campaign_testbed.toml"

    def cfg(**kw: object):  # type: ignore[no-untyped-def]
        args = {"datasets": [{"name": "testbed", "videos": 20}], "methods": [{"name": "one-noise"}],
                "max_classes": 2, "max_queries": 9, "settings": ["untargeted"], **kw}  # fmt: skip
        return read_config(root, **args)

    run_campaign(cfg(eps=0.004), tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"setting 'untargeted' eps: 0\.004 -> 0\.03.*max_queries: 9 -> 12"):
        run_campaign(cfg(eps=0.03, max_queries=12), tmp_path, resume=True, progress=False)
    run_campaign(cfg(eps=0.004), tmp_path, resume=True, progress=False)  # the same settings resume


def test_second_campaign_writer_is_refused(tmp_path: Path) -> None:
    import fcntl

    from mesampler.campaign.runner import _writer_lock

    with _writer_lock(tmp_path):
        with pytest.raises(ValueError, match="is being written by process"):
            with _writer_lock(tmp_path):
                pass
    with open(tmp_path / ".writer.lock") as f:  # released afterwards
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_report_on_a_corrupt_database_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from mesampler.cli.main import main

    (tmp_path / "results.sqlite").write_bytes(b"this is not sqlite" * 100)
    assert main(["report", str(tmp_path)]) != 0
    assert "not a readable mesampler results database" in capsys.readouterr().err


def test_motion_cli_on_a_folder_or_a_short_clip(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from mesampler.cli.main import main
    from mesampler.video import write_video

    assert main(["motion", str(tmp_path), "--out", str(tmp_path / "m")]) != 0
    assert "not a video file (a folder)" in capsys.readouterr().err
    frames = (np.random.default_rng(0).random((8, 32, 32, 3)) * 255).astype(np.uint8)  # shorter than one GOP
    short = write_video(tmp_path / "short.mkv", frames, fps=10)
    assert main(["motion", str(short), "--out", str(tmp_path / "m2")]) == 0
    assert len(np.load(tmp_path / "m2" / "maps.npz")["maps"]) == 1


def test_api_motion_from_a_file_uses_the_attacked_window(tmp_path: Path) -> None:
    from mesampler.api import _motion
    from mesampler.motion import maps_for_clip
    from mesampler.video import read_video, write_video

    rng = np.random.default_rng(0)
    base = (rng.random((48, 48, 3)) * 255).astype(np.uint8)
    frames = np.stack([np.roll(base, (i // 12) * i, axis=1) for i in range(48)])  # motion grows GOP by GOP
    path = write_video(tmp_path / "v.mkv", frames, fps=10)
    clip = torch.from_numpy(read_video(path, frames=12, start=24).astype(np.float32) / 255)
    window = maps_for_clip(path, height=48, width=48, start=24, frames=12)
    np.testing.assert_allclose(_motion((path, 24), clip, 0).numpy(), window)
    first = maps_for_clip(path, height=48, width=48, start=0, frames=12)
    np.testing.assert_allclose(_motion(path, clip, 0).numpy(), first)  # a bare path: the clip starts at 0
    assert len(window) < len(maps_for_clip(path, height=48, width=48))  # not the whole file's maps
    with pytest.raises(ValueError, match="start >= 0"):
        _motion((path, -1), clip, 0)
