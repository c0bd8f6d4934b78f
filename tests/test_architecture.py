"""The shape every method and model shares: one registry, one defaults record per method, explicit run state."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

import mesampler
from mesampler.attacks import ATTACKS, attack_params, create_attack, method_spec
from mesampler.attacks.checkpoint import Checkpoint
from mesampler.attacks.methods.me_sampler import MESamplerDefaults, PriorDefaults
from mesampler.models.protocol import model_info
from mesampler.registry import Registry, UnknownName
from toymodels import Recording


def test_registry_suggests_close_names() -> None:
    with pytest.raises(ValueError, match="unknown method 'me-sampeler'.*did you mean 'me-sampler'"):
        method_spec("me-sampeler")
    with pytest.raises(KeyError):
        ATTACKS.get("nope")
    reg: Registry[int] = Registry("widget")
    reg.add("alpha", lambda: 1, paper="x")
    assert reg.create("alpha") == 1 and reg.meta("alpha", "paper") == "x" and "alpha" in reg
    with pytest.raises(UnknownName, match="unknown widget 'alpah'.*did you mean 'alpha'"):
        reg.get("alpah")


@pytest.mark.parametrize("name", ATTACKS.names())
def test_every_method_has_one_frozen_record_citing_its_paper(name: str) -> None:
    spec = method_spec(name)
    assert dataclasses.is_dataclass(spec.defaults) and spec.defaults.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert spec.paper and spec.summary
    record = spec.defaults()
    assert attack_params(name) == {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.lr = 1.0  # type: ignore[misc]


def test_ablations_share_me_samplers_record() -> None:
    assert method_spec("s-value").defaults is MESamplerDefaults
    assert method_spec("multi-noise").defaults is PriorDefaults and issubclass(MESamplerDefaults, PriorDefaults)
    assert issubclass(method_spec("u-sample").defaults, MESamplerDefaults)


def test_unknown_parameter_names_the_close_one() -> None:
    with pytest.raises(TypeError, match=r"unknown parameter\(s\) \['intervall'\].*did you mean 'interval'"):
        create_attack("me-sampler", intervall=3)


def test_cli_help_lists_each_methods_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from mesampler.cli.main import main

    with pytest.raises(SystemExit):
        main(["attack", "--help"])
    out = capsys.readouterr().out
    for name in ATTACKS.names():
        assert f"  {name}: " in out
    assert "interval=10" in out and "samples=50" in out


def test_any_module_imports_first() -> None:
    """No import cycle: every module can be the first mesampler module a program imports."""
    code = (
        "import importlib, pkgutil, sys, mesampler\n"
        "names = sorted(m.name for m in pkgutil.walk_packages(mesampler.__path__, 'mesampler.'))\n"
        "bad = []\n"
        "for n in names:\n"
        "    for k in [k for k in sys.modules if k.split('.')[0] == 'mesampler']: del sys.modules[k]\n"
        "    try: importlib.import_module(n)\n"
        "    except Exception as e: bad.append((n, repr(e)))\n"
        "print(len(names), bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


class Linear:
    """A fixed linear scorer over flattened videos."""

    def __init__(self, shape: tuple[int, ...], k: int = 3, seed: int = 0) -> None:
        self.w = np.random.default_rng(seed).normal(size=(int(np.prod(shape)), k)).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1) @ self.w


def test_checkpoint_holds_only_tensors_and_plain_values(tmp_path) -> None:
    """The saved state loads with weights_only=True: no pickled object graphs."""
    rng = np.random.default_rng(0)
    video = rng.random((4, 8, 8, 3)).astype(np.float32)
    model = Linear(video.shape)
    ck = Checkpoint(tmp_path / "ck.pt", every_s=0)
    saved: list[dict] = []
    orig = ck.clear
    ck.clear = lambda: saved.append(torch.load(ck.path, weights_only=True))  # type: ignore[method-assign]
    mesampler.attack(model, video, max_queries=40, eps=0.01, checkpoint=ck)
    ck.clear = orig  # type: ignore[method-assign]
    state = saved[0]
    assert set(state) >= {"format", "key", "loop", "method", "generators", "oracle"}
    assert isinstance(state["method"]["estimator"]["g"], torch.Tensor)
    assert isinstance(state["method"]["estimator"]["sampler"]["chosen"], torch.Tensor)


def test_crafted_checkpoint_cannot_run_code(tmp_path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (open, (str(marker), "w"))

    path = tmp_path / "ck.pt"
    torch.save({"format": 2, "key": "", "loop": Payload()}, path)
    video = np.random.default_rng(1).random((4, 8, 8, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="not a readable mesampler checkpoint"):
        mesampler.attack(Linear(video.shape), video, max_queries=20, checkpoint=path)
    assert not marker.exists()


def test_model_info_reads_optional_attributes() -> None:
    class Bare:
        def __call__(self, x: np.ndarray) -> np.ndarray:
            return np.zeros((len(x), 2), np.float32)

    assert model_info(Bare()) == model_info(Bare()) and model_info(Bare()).frames is None
    tb = mesampler.models.create("testbed-motion")
    info = model_info(tb)
    assert (info.frames, info.size, info.num_classes, info.accepts_torch) == (16, 64, len(tb.classes), True)


def test_config_resolves_every_model_file_suffix_relative_to_itself(tmp_path) -> None:
    from mesampler.campaign.config import read_config
    from mesampler.models.adapters import MODEL_SUFFIXES

    for suffix in MODEL_SUFFIXES:
        cfg = tmp_path / f"c{suffix.strip('.')}.toml"
        body = f'[[models]]\nname = "m"\nref = "nets/m{suffix}"\n'
        cfg.write_text(body + '[[datasets]]\nname = "t"\nkind = "testbed"\n[[methods]]\nname = "one-noise"\n')
        assert read_config(cfg).models[0].ref == str(tmp_path / "nets" / f"m{suffix}")


def test_eval_clip_is_the_one_clip_rule(tmp_path) -> None:
    """``i3d.eval_clip`` = ``sample_clip`` with short side 256 and crop 224 (one rule, two callers)."""
    from mesampler.datasets.clip import sample_clip
    from mesampler.models.i3d import eval_clip
    from mesampler.video import write_video

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (30, 260, 300, 3), dtype=np.uint8)
    path = write_video(tmp_path / "v.mkv", frames, fps=10)
    clip = sample_clip(path, frames=16, size=256, crop=224)
    assert clip.start == 7 and clip.video.shape == (16, 224, 224, 3)
    np.testing.assert_array_equal(eval_clip(path, frames=16), clip.video.astype(np.float32) / 255)
    full = sample_clip(path, frames=16, size=256)
    np.testing.assert_array_equal(full.video[:, 16:240, 16:240], clip.video)


@pytest.mark.parametrize("eps", [0.5, 3.0])
def test_me_sampler_l2_stays_in_its_ball(eps: float) -> None:
    rng = np.random.default_rng(0)
    video = rng.random((4, 8, 8, 3)).astype(np.float32)
    model = Linear(video.shape, seed=2)
    maps = rng.normal(0, 2, (2, 8, 8, 2)).astype(np.float32)
    r = mesampler.attack(model, video, motion=maps, norm="l2", eps=eps, max_queries=60, seed=1)
    true_l2 = float(np.linalg.norm(r.adversarial - video))
    assert true_l2 <= eps + 1e-4 and abs(true_l2 - r.l2) < 1e-4
    assert 0 <= r.adversarial.min() and r.adversarial.max() <= 1 and r.iterations > 0
    assert r.params["norm"] == "l2"
    with pytest.raises(ValueError, match="l2 radius"):
        mesampler.attack(model, video, motion=maps, norm="l2", eps=-1.0)
    with pytest.raises(ValueError, match="norm must be"):
        mesampler.attack(model, video, motion=maps, norm="l1")


def test_motion_square_with_still_maps_is_square() -> None:
    """With all-zero motion the tubes stay in place: motion-square equals square (its ablation)."""
    rng = np.random.default_rng(3)
    video = rng.random((6, 12, 12, 3)).astype(np.float32)
    model = Linear(video.shape, seed=4)
    a = mesampler.attack(model, video, method="square", max_queries=40, seed=2)
    b = mesampler.attack(model, video, method="motion-square", motion=np.zeros((1, 12, 12, 2), np.float32),
                         max_queries=40, seed=2)  # fmt: skip
    np.testing.assert_array_equal(a.adversarial, b.adversarial)
    assert a.queries == b.queries


@pytest.mark.parametrize("method", ["square", "motion-square"])
@pytest.mark.parametrize("stripes", ["video", "frame"])
def test_square_stripe_start_is_per_video_or_per_frame(method: str, stripes: str) -> None:
    """The first proposal is a corner of the ball made of vertical stripes: the same in every frame
    (``"video"``) or drawn afresh for each frame (``"frame"``); a bad choice is refused before any query."""
    rng = np.random.default_rng(5)
    video = rng.uniform(0.2, 0.8, (6, 12, 12, 3)).astype(np.float32)
    model = Recording(Linear(video.shape, seed=4))
    still = np.zeros((1, 12, 12, 2), np.float32)
    mesampler.attack(model, video, method=method, motion=still, max_queries=3, eps=0.05, seed=1, stripes=stripes)
    delta = model.inputs[1] - video  # after the clean-label query
    np.testing.assert_allclose(np.abs(delta), 0.05, atol=1e-6)
    signs = np.sign(delta)
    assert (signs == signs[:, :1]).all()  # stripes: one sign per column, the same in every row
    assert (signs == signs[:1]).all() == (stripes == "video")
    model.inputs.clear()
    with pytest.raises(ValueError, match="stripes must be one of"):
        mesampler.attack(model, video, method=method, motion=still, max_queries=3, stripes="rows")
    assert model.inputs == []


def test_motion_square_windows_follow_the_motion() -> None:
    from mesampler.attacks.methods.motion_square import MotionSquare
    from mesampler.samplers.base import VideoBatch

    maps = torch.zeros(2, 24, 24, 2)
    maps[0, ..., 0] = 6.0  # everything moves 6 px right over the first GOP of 4 frames
    ms = MotionSquare(gop=4)
    ms.init(VideoBatch(torch.zeros(1, 8, 24, 24, 3), [torch.Generator()], [maps], eps=0.03, max_queries=10))
    cols = [w[2].start for w in ms._windows(0, 0, 6, 2, 2, 5, (8, 24, 24, 3))]
    assert cols == [2, 4, 5, 6, 8, 8]  # 6 * f/4 for f = 0..3, then the whole 6 px, no motion in GOP 2
