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
