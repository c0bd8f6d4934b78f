"""The command line end to end on generated test-bed clips (demo, attack) and its error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mesampler import models, testbed
from mesampler.cli.main import main
from mesampler.video import read_video, write_video


@pytest.fixture(scope="module")
def testbed_model() -> models.VideoModel:
    return models.create("testbed-motion")


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A held-out test-bed clip written losslessly to disk, and its class."""
    videos, labels, _ = testbed.make_dataset(3, testbed.TEST_SEED)
    path = tmp_path_factory.mktemp("clips") / "clip.mkv"
    write_video(path, videos[2], fps=10)
    return path, int(labels[2])


def test_demo_writes_everything(tmp_path: Path, testbed_model: models.VideoModel) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--max-queries", "900", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["queries"] == summary["loss_queries"] + summary["check_queries"] <= 900
    assert summary["method"] == "me-sampler" and summary["linf"] <= 0.03 + 1e-6
    adv = np.load(out / "adversarial.npy")
    assert int(np.asarray(testbed_model(adv[None])).argmax()) == summary["adv_label"]
    assert read_video(out / "adversarial.mkv").shape == adv.shape
    assert (out / "figure.png").stat().st_size > 10_000


def test_attack_command_on_a_clip(tmp_path: Path, clip_file: tuple[Path, int], testbed_model) -> None:
    path, label = clip_file
    out = tmp_path / "run"
    code = main(
        [
            "attack",
            str(path),
            "--model",
            "testbed-motion",
            "--out",
            str(out),
            "--max-queries",
            "600",
            "--label",
            testbed.CLASSES[label],
            "--no-progress",
        ]
    )
    assert code == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["label"] == label and s["queries"] <= 600
    assert s["clip"] == {"start_frame": 0, "frames": 16, "size": 64}
    assert s["motion"]["maps"] >= 1
    rob = s["robustness"]
    assert rob["float32"]["top1"] == s["adv_label"]
    assert set(rob) >= {"8bit", "h264_crf23"}
    for f in ("summary.txt", "adversarial.mkv", "adversarial.npy", "clean.mkv", "figure.png"):
        assert (out / f).exists(), f


def test_targeted_attack_command(tmp_path: Path, clip_file: tuple[Path, int]) -> None:
    path, label = clip_file
    target = (label + 1) % len(testbed.CLASSES)
    out = tmp_path / "t"
    assert (
        main(
            [
                "attack",
                str(path),
                "--model",
                "testbed-motion",
                "--out",
                str(out),
                "--max-queries",
                "60",
                "--targeted",
                "--target",
                str(target),
                "--no-progress",
                "--method",
                "one-noise",
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text())
    assert s["target"] == target and s["eps"] == 0.05 and s["targeted"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["attack", "missing.mp4", "--model", "testbed-motion", "--out", "x"], "missing.mp4"),
        (["attack", "{clip}", "--model", "no-such-model", "--out", "x"], "no-such-model"),
        (["attack", "{clip}", "--model", "testbed-motion", "--out", "x", "--target", "3"], "go together"),
        (
            ["attack", "{clip}", "--model", "testbed-motion", "--out", "x", "--label", "dancing"],
            "not one of the model's",
        ),
        (["attack", "{clip}", "--model", "testbed-motion", "--out", "x", "--method", "nope"], "unknown method"),
    ],
)
def test_attack_command_errors(argv, message, clip_file, capsys, tmp_path) -> None:
    argv = [a.replace("{clip}", str(clip_file[0])) for a in argv]
    argv[argv.index("x")] = str(tmp_path / "x")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_attack_command_resumes_after_a_crash(tmp_path: Path, clip_file: tuple[Path, int], monkeypatch) -> None:
    from mesampler.cli import attack as cli_attack

    path, _ = clip_file
    base = ["attack", str(path), "--model", "testbed-motion", "--eps", "0.004", "--max-queries", "120",
            "--no-progress", "--checkpoint-every", "0"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    whole = json.loads((tmp_path / "whole" / "summary.json").read_text())
    assert whole["iterations"] > 5 and not (tmp_path / "whole" / "checkpoint.pt").exists()

    class Crash(Exception):
        pass

    seen = {"n": 0}
    original = cli_attack._Progress.__call__

    def crashing(self, event: dict) -> None:  # noqa: ANN001
        seen["n"] += 1
        if seen["n"] == 5:
            raise Crash
        original(self, event)

    out = tmp_path / "crashed"
    monkeypatch.setattr(cli_attack._Progress, "__call__", crashing)
    with pytest.raises(Crash):
        main([*base, "--out", str(out)])
    monkeypatch.setattr(cli_attack._Progress, "__call__", original)
    assert (out / "checkpoint.pt").is_file()
    assert main([*base, "--out", str(out)]) == 2  # an interrupted attack is never overwritten silently
    assert main([*base, "--out", str(out), "--resume"]) == 0
    resumed = json.loads((out / "summary.json").read_text())
    for k in ("queries", "loss_queries", "check_queries", "success", "adv_label", "iterations", "history"):
        assert resumed[k] == whole[k], k
    np.testing.assert_array_equal(np.load(out / "adversarial.npy"), np.load(tmp_path / "whole" / "adversarial.npy"))
    assert main([*base, "--out", str(tmp_path / "fresh"), "--resume"]) == 2  # nothing to resume
