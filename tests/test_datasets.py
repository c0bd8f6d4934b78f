"""Dataset layouts (tiny fake trees of generated clips), the clip rule and class mapping."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesampler.datasets import clip_window, load_dataset, map_classes, read_mapping, sample_clip
from mesampler.testbed import CLASSES, TEST_SEED, make_dataset
from videogen import moving_square, write_clip

FRAMES = 20


def _clip(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = moving_square(frames=FRAMES, height=32, width=48, size=12, seed=seed).frames
    if path.suffix == ".webm":  # FFV1 in Matroska under a .webm name: FFmpeg probes the content
        with av.open(str(path), "w", format="matroska") as c:
            s = c.add_stream("ffv1", rate=Fraction(25))
            s.width, s.height, s.pix_fmt = 48, 32, "bgr0"
            for i, f in enumerate(frames):
                vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="bgr0")
                vf.pts = i
                c.mux(s.encode(vf))
            c.mux(s.encode(None))
        return path
    return write_clip(path, frames, codec="mpeg4")


@pytest.fixture(scope="module")
def ucf(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ucf")
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n3 Basketball\n")
    (ann / "testlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\nArchery/v_Archery_g01_c01.avi\nArchery/v_Archery_g02_c01.avi\n"
    )
    (ann / "testlist02.txt").write_text("Basketball/v_Basketball_g01_c01.avi\n")
    for i, rel in enumerate(["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", "Archery/v_Archery_g01_c01.avi",
                             "Archery/v_Archery_g02_c01.avi", "Basketball/v_Basketball_g01_c01.avi"]):  # fmt: skip
        _clip(root / "UCF-101" / rel, i)
    return root


def test_ucf101(ucf):
    ds = load_dataset("ucf101", ucf)
    assert ds.classes == ["ApplyEyeMakeup", "Archery", "Basketball"]
    assert [it.label for it in ds.items] == ["ApplyEyeMakeup", "Archery", "Archery"]
    assert ds.items[0].id == "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"
    c = ds.clip(ds.items[1], frames=8, size=16)
    assert c.video.shape == (8, 16, 16, 3) and c.video.dtype == np.uint8 and c.start == (FRAMES - 8) // 2
    assert len(load_dataset("ucf101", ucf, split=2)) == 1
    maps = ds.motion(ds.items[0], c, kind="mv")
    assert maps.ndim == 4 and maps.shape[1:] == (16, 16, 2)


def test_ucf101_errors(ucf, tmp_path):
    with pytest.raises(ValueError, match="split must be 1, 2 or 3"):
        load_dataset("ucf101", ucf, split=4)
    with pytest.raises(FileNotFoundError, match="classInd.txt not found"):
        load_dataset("ucf101", tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_dataset("ucf101", tmp_path / "nope")


def test_hmdb51(tmp_path):
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    (splits / "brush_hair_test_split1.txt").write_text("a.avi 1\nb.avi 2\nc.avi 0\n")
    (splits / "cartwheel_test_split1.txt").write_text("d.avi 2 \ne.avi 2\n")
    for rel in ("brush_hair/b.avi", "cartwheel/d.avi", "cartwheel/e.avi"):
        _clip(tmp_path / rel)
    ds = load_dataset("hmdb51", tmp_path)
    assert ds.classes == ["brush_hair", "cartwheel"]
    assert [it.id for it in ds.items] == ["brush_hair/b.avi", "cartwheel/d.avi", "cartwheel/e.avi"]
    (splits / "bad_test_split1.txt").write_text("x.avi 7\n")
    with pytest.raises(ValueError, match="expected '<file> <0|1|2>'"):
        load_dataset("hmdb51", tmp_path)
    with pytest.raises(FileNotFoundError, match="_test_split2.txt"):
        load_dataset("hmdb51", tmp_path, split=2)


def test_kinetics400(tmp_path):
    rows = [("abseiling", "AAAAAAAAAAA", 10, 20, "val"), ("archery", "BBBBBBBBBBB", 0, 10, "val"),
            ("archery", "CCCCCCCCCCC", 5, 15, "val"), ("archery", "DDDDDDDDDDD", 5, 15, "train")]  # fmt: skip
    with open(tmp_path / "validate.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        w.writerows(rows)
    _clip(tmp_path / "val" / "abseiling" / "AAAAAAAAAAA_000010_000020.mp4")
    _clip(tmp_path / "val" / "archery" / "BBBBBBBBBBB_000000_000010.mp4")
    _clip(tmp_path / "val" / "archery" / "DDDDDDDDDDD_000005_000015.mp4")  # C is missing: skipped
    ds = load_dataset("kinetics400", tmp_path, split="val")
    assert ds.classes == ["abseiling", "archery"]
    assert [it.id for it in ds.items] == ["AAAAAAAAAAA_000010_000020", "BBBBBBBBBBB_000000_000010"]
    assert len(load_dataset("kinetics400", tmp_path)) == 3
    (tmp_path / "bad.csv").write_text("label,youtube_id\nx,y\n")
    with pytest.raises(ValueError, match="missing column"):
        load_dataset("kinetics400", tmp_path, annotations="bad.csv")


def test_sthsth_v2(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps({"Pushing something": "1", "Approaching something": "0"}))
    (tmp_path / "validation.json").write_text(json.dumps([
        {"id": "12", "template": "Pushing [something]", "placeholders": ["a cup"]},
        {"id": "7", "template": "Approaching [something]", "placeholders": ["a pen"]},
    ]))  # fmt: skip
    _clip(tmp_path / "12.webm")
    _clip(tmp_path / "7.webm")
    ds = load_dataset("sthsth-v2", tmp_path)
    assert ds.classes == ["Approaching something", "Pushing something"]
    assert {it.id: it.label for it in ds.items} == {"12": "Pushing something", "7": "Approaching something"}
    assert ds.clip(ds.items[0], frames=4, size=None).video.shape == (4, 32, 48, 3)
    (tmp_path / "validation.json").write_text(json.dumps([{"id": "1", "template": "Unknown [x]"}]))
    with pytest.raises(ValueError, match="not in labels.json"):
        load_dataset("sthsth-v2", tmp_path)


def test_manifest(tmp_path):
    _clip(tmp_path / "a.avi")
    _clip(tmp_path / "b.avi")
    (tmp_path / "MANIFEST.csv").write_text("file,label,other\na.avi,archery,x\nb.avi,,y\nmissing.avi,archery,z\n")
    ds = load_dataset("manifest", tmp_path / "MANIFEST.csv")
    assert ds.classes == ["archery"] and [it.id for it in ds.items] == ["a.avi"]
    assert len(load_dataset("manifest", tmp_path, label_column="other")) == 2
    (tmp_path / "bad.csv").write_text("path,label\na.avi,x\n")
    with pytest.raises(ValueError, match="expected columns 'file,label'"):
        load_dataset("manifest", tmp_path / "bad.csv")


def test_testbed_dataset_matches_make_dataset():
    ds = load_dataset("testbed", videos=12)
    videos, labels, motions = make_dataset(12, TEST_SEED)
    it = ds.items[11]
    clip = ds.clip(it, frames=None, size=None)
    assert np.array_equal(clip.video, videos[11]) and it.label == CLASSES[labels[11]]
    assert np.array_equal(ds.motion(it, clip, kind="testbed"), motions[11])
    with pytest.raises(ValueError, match="takes no root"):
        load_dataset("testbed", "/tmp")


def test_load_dataset_errors():
    with pytest.raises(ValueError, match="unknown dataset kind 'ucf'"):
        load_dataset("ucf", "/tmp")
    with pytest.raises(TypeError, match="unknown option"):
        load_dataset("testbed", videos=3, frames=8)
    with pytest.raises(ValueError, match="needs a root"):
        load_dataset("ucf101")


@given(n=st.integers(1, 500), frames=st.one_of(st.none(), st.integers(1, 200)))
def test_clip_window(n, frames):
    start, length = clip_window(n, frames)
    assert 0 <= start and start + length <= n
    assert length == (n if frames is None else min(n, frames))
    if frames is not None and n > frames:
        assert abs((n - start - length) - start) <= 1  # centred


def test_sample_clip_short_video(tmp_path):
    p = _clip(tmp_path / "s.avi")
    c = sample_clip(p, frames=64, size=None)
    assert c.start == 0 and len(c.video) == FRAMES


def test_map_classes(tmp_path):
    model = ["abseiling", "flipping pancake", "playing cricket"]
    assert map_classes(["abseiling", "Flipping_Pancake", "zumba"], model) == {"abseiling": 0, "Flipping_Pancake": 1}
    (tmp_path / "m.json").write_text(json.dumps({"CricketShot": "playing cricket", "Other": 0}))
    assert map_classes(["CricketShot", "Other"], model, mapping=tmp_path / "m.json") == {"CricketShot": 2, "Other": 0}
    (tmp_path / "m.csv").write_text("dataset_class,model_class\nCricketShot,playing cricket\nAbseil,0\n")
    assert read_mapping(tmp_path / "m.csv") == {"CricketShot": "playing cricket", "Abseil": 0}
    assert map_classes(["x", "y"], None, mapping="index", num_classes=5) == {"x": 0, "y": 1}
    with pytest.raises(ValueError, match="no dataset class maps"):
        map_classes(["zumba"], model)
    (tmp_path / "bad.json").write_text(json.dumps({"CricketShot": "cricket"}))
    with pytest.raises(ValueError, match="not one of the model's class names"):
        map_classes(["CricketShot"], model, mapping=tmp_path / "bad.json")
    (tmp_path / "big.json").write_text(json.dumps({"CricketShot": 9}))
    with pytest.raises(ValueError, match="outside the model's 3 classes"):
        map_classes(["CricketShot"], model, mapping=tmp_path / "big.json")
