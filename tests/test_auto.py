"""``auto``: one budget shared by its members, exact counts, member attribution, motion, CLI and evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mesampler
from mesampler.attacks import attack_params, create_attack, method_spec
from mesampler.attacks.registry import needs_motion
from toymodels import CountingLinear, Recording, random_maps

SHAPE = (3, 6, 6, 3)
DEFAULT_MEMBERS = attack_params("auto")["members"]
CORNER_MEMBERS = ("random-noise", "square")
"""The members whose first query is a corner of the ball (random noise; square's stripe start)."""


def _videos(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [rng.random(SHAPE).astype(np.float32) for _ in range(n)], [random_maps(rng, 3, 6, 6) for _ in range(n)]


class Fragile:
    """Class 0 on the clean videos it was given, class 1 on any other video (random noise fools it at once)."""

    def __init__(self, clean: list[np.ndarray]) -> None:
        self.clean = np.stack(clean)
        self.seen = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.seen += len(x)
        same = np.array([any(np.array_equal(v, c) for c in self.clean) for v in x])
        return np.stack([same, ~same], 1).astype(np.float32)


class Corners:
    """Class 1 only where almost every pixel sits at the ball's edge, ``|x - x0| > 0.9 eps``; elsewhere the
    scores are constant: no finite difference ever sees a signal, while a random corner of the ball fools it."""

    def __init__(self, x0: np.ndarray, eps: float) -> None:
        self.x0, self.eps, self.seen = x0, eps, 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.seen += len(x)
        d = np.abs(x - self.x0[None]).reshape(len(x), -1)
        edge = ((d > 0.9 * self.eps) & (d <= self.eps + 1e-6)).mean(1) > 0.95
        return np.stack([~edge, edge], 1).astype(np.float32)


def test_registered_with_its_record_and_motion_rule() -> None:
    p = attack_params("auto")
    assert set(p["members"]) == {"random-noise", "square", "me-sampler"} and sum(p["shares"]) == pytest.approx(1)
    assert len(p["starts"]) in (0, len(p["members"])) and p["streams"] == "method"
    assert "AutoAttack" in method_spec("auto").paper
    assert needs_motion("auto") == any(needs_motion(m) for m in p["members"])
    assert create_attack("auto").queries_per_iteration == 1


def test_counts_are_exact_and_add_up_over_members() -> None:
    videos, maps = _videos(4)
    model = CountingLinear(SHAPE, 4, seed=2, scale=8)
    res = mesampler.attack_batch(model, videos, method="auto", motions=maps, eps=0.01, max_queries=200, seed=3)
    assert model.videos_seen == sum(r.queries for r in res)
    for r in res:
        assert r.queries == r.loss_queries + r.check_queries <= 200
        assert [m["method"] for m in r.members] == list(attack_params("auto")["members"])
        assert 1 + sum(m["queries"] for m in r.members) == r.queries  # the clean-label query belongs to none
        assert sum(m["loss_queries"] for m in r.members) == r.loss_queries
        assert 1 + sum(m["check_queries"] for m in r.members) == r.check_queries
        assert sum(m["iterations"] for m in r.members) == r.iterations
        assert sum(m["broke"] for m in r.members) == int(r.success)
        if r.success:
            breaker = next(m for m in r.members if m["broke"])
            assert r.broken_by == breaker["method"] and breaker["iterations"] > 0
            later = r.members[r.members.index(breaker) + 1 :]
            assert all(m["queries"] == 0 for m in later)
        else:
            assert r.broken_by is None
        d = json.loads(json.dumps(r.to_dict()))
        assert d["members"] == r.members and d["broken_by"] == r.broken_by


def test_each_member_keeps_to_its_share() -> None:
    videos, maps = _videos(3)
    shares = (0.1, 0.5, 0.4)
    budget = 120
    res = mesampler.attack_batch(CountingLinear(SHAPE, 4, seed=2, scale=1), videos, method="auto", motions=maps,
                                 eps=0.001, max_queries=budget, members=("random-noise", "me-sampler", "square"),
                                 shares=shares, starts=())  # fmt: skip
    limits = np.round(np.cumsum(shares) * budget)
    for r in res:
        spent = 1 + np.cumsum([m["queries"] for m in r.members])
        assert (spent[:-1] <= limits[:-1]).all() and spent[-1] <= budget
        assert all(m["iterations"] > 0 for m in r.members) or r.success


def test_a_video_broken_by_the_first_member_never_reaches_the_others() -> None:
    videos, maps = _videos(2)
    model = Fragile(videos)
    res = mesampler.attack_batch(model, videos, method="auto", motions=maps, max_queries=500)
    for r in res:
        assert r.success and r.broken_by == "random-noise" and r.queries == 2  # the clean query and one probe
        assert [m["queries"] for m in r.members] == [1] + [0] * (len(DEFAULT_MEMBERS) - 1)
    assert model.seen == 4


def test_a_misclassified_video_is_never_attacked() -> None:
    videos, maps = _videos(1)
    model = CountingLinear(SHAPE, 4, seed=2)
    wrong = (int(model(videos[0][None]).argmax()) + 1) % 4
    model.videos_seen = 0
    r = mesampler.attack(model, videos[0], label=wrong, method="auto", motion=maps[0], max_queries=100)
    assert r.status == "misclassified" and r.queries == model.videos_seen == 1 and r.broken_by is None
    assert all(m["queries"] == 0 for m in r.members)


def test_fools_a_model_only_random_corners_break_where_me_sampler_is_stuck() -> None:
    videos, maps = _videos(1, seed=5)
    eps = 0.03
    alone = mesampler.attack(Corners(videos[0], eps), videos[0], method="me-sampler", motion=maps[0], eps=eps,
                             max_queries=300)  # fmt: skip
    assert not alone.success
    r = mesampler.attack(Corners(videos[0], eps), videos[0], method="auto", motion=maps[0], eps=eps, max_queries=300)
    assert r.success and r.broken_by in CORNER_MEMBERS and r.queries <= 10


class SoftCorners:
    """Logits ``[0, 8 (f - 0.9)]`` with ``f`` the mean of ``|x - x0| / eps`` over pixels inside the ball (0 outside):
    smooth, but seen through a rounded top-1 API it answers the same to every small change."""

    def __init__(self, x0: np.ndarray, eps: float) -> None:
        self.x0, self.eps = x0, eps

    def __call__(self, x: np.ndarray) -> np.ndarray:
        d = np.abs(x - self.x0[None]).reshape(len(x), -1) / self.eps
        f = np.where(d <= 1 + 1e-4, d, 0).mean(1)
        return np.stack([np.zeros_like(f), 8 * (f - 0.9)], 1).astype(np.float32)


def test_fools_a_rounded_api_where_me_sampler_alone_is_stuck() -> None:
    from mesampler.models.adapters import APIOutput

    videos, maps = _videos(1, seed=7)
    eps = 0.03
    api = APIOutput(SoftCorners(videos[0], eps), top_k=1, decimals=1)
    kw = dict(motion=maps[0], eps=eps, max_queries=300)
    alone = mesampler.attack(api, videos[0], method="me-sampler", **kw)
    assert not alone.success and alone.queries >= 290
    r = mesampler.attack(api, videos[0], method="auto", **kw)
    assert r.success and r.broken_by in CORNER_MEMBERS and r.queries <= 10
    assert int(np.nanargmax(api(r.adversarial[None])[0])) == r.adv_label != r.label


def test_fools_a_smooth_model_through_its_gradient_member() -> None:
    """A smooth model random corners rarely fool: the finite-difference member does it."""
    videos, maps = _videos(6, seed=1)
    kw = dict(motions=maps, eps=0.01, max_queries=300, seed=0)
    floor = mesampler.attack_batch(CountingLinear(SHAPE, 4, seed=2, scale=8), videos, method="random-noise", **kw)
    res = mesampler.attack_batch(CountingLinear(SHAPE, 4, seed=2, scale=8), videos, method="auto", **kw)
    assert sum(r.success for r in res) > sum(r.success for r in floor)
    assert any(r.broken_by == "me-sampler" for r in res)


def test_a_video_without_maps_skips_the_motion_member_with_a_note() -> None:
    import torch

    from mesampler.attacks.losses import get_loss
    from mesampler.attacks.oracle import QueryOracle
    from mesampler.samplers.base import VideoBatch

    videos, maps = _videos(2)
    model = CountingLinear(SHAPE, 4, seed=2, scale=8)
    attack = create_attack("auto")
    x0 = torch.from_numpy(np.stack(videos))
    batch = VideoBatch(x0, [torch.Generator().manual_seed(i) for i in range(2)],
                       [torch.from_numpy(maps[0]), None], 0.001, 90)  # fmt: skip
    oracle = QueryOracle(model, 2, 90)
    res = attack.run(oracle, batch, torch.tensor([-1, -1]), None, eps=0.001, loss=get_loss("logits"))
    with_maps, without = res
    me = list(attack_params("auto")["members"]).index("me-sampler")
    assert with_maps.members[me]["iterations"] > 0 and not any("skipped" in n for n in with_maps.notes)
    assert without.members[me]["queries"] == 0 and without.members[me + 1]["iterations"] > 0
    assert any("me-sampler skipped: no motion maps" in n for n in without.notes)
    assert without.queries <= 90 and model.videos_seen == with_maps.queries + without.queries


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"shares": (0.6,) * len(DEFAULT_MEMBERS)}, "sum to 1"),
        ({"shares": (0.5, 0.5)}, "one length"),
        ({"shares": (1.2,) + (-0.2 / (len(DEFAULT_MEMBERS) - 1),) * (len(DEFAULT_MEMBERS) - 1)}, "> 0"),
        ({"members": ("auto", "square"), "shares": (0.5, 0.5)}, "member of itself"),
        ({"members": ("nope", "square"), "shares": (0.5, 0.5)}, "unknown method 'nope'"),
        ({"schedule": "half"}, "schedule must be one of"),
    ],
)
def test_bad_portfolios_are_refused_before_any_query(params: dict, match: str) -> None:
    videos, maps = _videos(1)
    model = CountingLinear(SHAPE, 4)
    with pytest.raises(ValueError, match=match):
        mesampler.attack(model, videos[0], method="auto", motion=maps[0], max_queries=50, **params)
    assert model.videos_seen == 0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.integers(1, 80),
    raw=st.lists(st.floats(0.01, 1.0), min_size=len(DEFAULT_MEMBERS), max_size=len(DEFAULT_MEMBERS)),
    seed=st.integers(0, 2**16),
    targeted=st.booleans(),
)
def test_queries_never_exceed_the_budget(budget: int, raw: list[float], seed: int, targeted: bool) -> None:
    shares = tuple(v / sum(raw) for v in raw)
    shares = (*shares[:-1], 1.0 - sum(shares[:-1]))
    videos, maps = _videos(2, seed)
    model = CountingLinear(SHAPE, 3, seed=seed, scale=6)
    targets = [(int(model(v[None]).argmax()) + 1) % 3 for v in videos] if targeted else None
    model.videos_seen = 0
    res = mesampler.attack_batch(model, videos, targets=targets, method="auto", motions=maps, eps=0.02,
                                 max_queries=budget, shares=shares, seed=seed)  # fmt: skip
    assert model.videos_seen == sum(r.queries for r in res)
    for r in res:
        assert r.queries <= budget and 1 + sum(m["queries"] for m in r.members) == r.queries
        assert r.linf <= 0.02 + 1e-6 and len(r.history) == 1 + r.iterations


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[int]]:
    """Three held-out test-bed clips written losslessly, and their classes."""
    from mesampler import testbed
    from mesampler.video import write_video

    videos, labels, _ = testbed.make_dataset(3, testbed.TEST_SEED)
    folder = tmp_path_factory.mktemp("clips")
    paths = [write_video(folder / f"clip{i}.mkv", v, fps=10) for i, v in enumerate(videos)]
    return paths, [int(v) for v in labels]


def test_cli_attack_method_auto(tmp_path: Path, clip_files: tuple[list[Path], list[int]]) -> None:
    from mesampler.cli.main import main

    out = tmp_path / "o"
    argv = ["attack", str(clip_files[0][2]), "--model", "testbed-motion", "--out", str(out), "--method", "auto",
            "--max-queries", "60", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["method"] == "auto" and s["queries"] <= 60
    assert [m["method"] for m in s["members"]] == list(attack_params("auto")["members"])
    assert 1 + sum(m["queries"] for m in s["members"]) == s["queries"]
    assert s["broken_by"] == (next(m["method"] for m in s["members"] if m["broke"]) if s["success"] else None)


def test_cli_evaluate_with_labels(tmp_path: Path, clip_files: tuple[list[Path], list[int]]) -> None:
    from mesampler.cli.main import main
    from mesampler.testbed import CLASSES

    paths, labels = clip_files
    csv_file = tmp_path / "labels.csv"
    wrong = (labels[1] + 1) % len(CLASSES)  # clip 1 is given a wrong label: it counts as misclassified
    rows = [f"{paths[0].name},{CLASSES[labels[0]]}", f"{paths[1]},{wrong}", f"{paths[2].name},{labels[2]}"]
    csv_file.write_text("file,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "eval"
    argv = ["evaluate", "testbed-motion", *map(str, paths), "--budget", "40", "--labels", str(csv_file),
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "evaluation.json").read_text())
    s = report["summary"]
    assert s["clips"] == 3 and s["correct"] == 2 and s["clean_accuracy"] == pytest.approx(2 / 3)
    assert s["robust_accuracy"] == pytest.approx((2 - s["fooled"]) / 2)
    assert s["robust_accuracy_all_clips"] == pytest.approx((2 - s["fooled"]) / 3)
    assert sum(s["broken_by"].values()) == s["fooled"] == s["queries_to_fool"]["n"]
    assert report["clips"][1]["status"] == "misclassified" and report["clips"][1]["queries"] == 1
    assert all(c["queries"] <= 40 and c["floor"]["queries"] <= 40 for c in report["clips"])
    assert s["random_noise_floor"]["budget"] == 40
    md = (out / "evaluation.md").read_text()
    assert "robust accuracy" in md and "random-noise floor" in md and paths[0].name in md


def test_cli_evaluate_without_labels_says_so(tmp_path: Path, clip_files: tuple[list[Path], list[int]]) -> None:
    from mesampler.cli.main import main

    out = tmp_path / "eval"
    argv = ["evaluate", "testbed-motion", str(clip_files[0][0]), "--budget", "20", "--method", "random-noise",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    s = json.loads((out / "evaluation.json").read_text())["summary"]
    assert s["clean_accuracy"] is None and "model's own clean top-1" in s["labels"]
    assert s["random_noise_floor"]["fooled"] == s["fooled"]  # the floor is the run itself here
    assert "not measured (no labels)" in (out / "evaluation.md").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "nope"], "unknown method 'nope'"),
        (["--eps", "2"], "--eps must be in"),
        (["--labels", "{missing}"], "no such file"),
        (["--labels", "{partial}"], "no label for clip"),
        (["{clip}"], "listed twice"),
        (["missing.mp4"], "missing.mp4"),
        (["--label", "dancing"], "is not one of the model's"),
    ],
)
def test_cli_evaluate_errors(extra: list[str], message: str, tmp_path: Path, clip_files, capsys) -> None:  # type: ignore[no-untyped-def]
    from mesampler.cli.main import main

    clip = str(clip_files[0][0])
    partial = tmp_path / "partial.csv"
    partial.write_text("file,label\nother.mkv,1\n")
    subs = {"{clip}": clip, "{missing}": str(tmp_path / "none.csv"), "{partial}": str(partial)}
    extra = [subs.get(a, a) for a in extra]
    clips = [clip, *extra] if not extra[0].startswith("--") else [clip]  # more clips, or options
    options = extra if extra[0].startswith("--") else []
    argv = ["evaluate", "testbed-motion", *clips, "--budget", "20", "--out", str(tmp_path / "o"), *options]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "evaluation.json").exists()


def test_campaign_runs_auto(tmp_path: Path) -> None:
    from mesampler.campaign import ResultStore, read_config, run_campaign

    example = Path(__file__).resolve().parents[1] / "examples" / "campaign_testbed.toml"
    config = read_config(example, datasets=[{"name": "testbed", "videos": 20}],
                         methods=[{"name": "auto", "motion": "testbed"}], max_classes=2, max_queries=30,
                         settings=["untargeted"])  # fmt: skip
    s = run_campaign(config, tmp_path / "c", progress=False)
    assert s.stored == 2
    with ResultStore(tmp_path / "c") as store:
        rows = store.rows()
    assert all(r["attack"] == "auto" and r["queries"] <= 30 for r in rows)
    assert rows[0]["params"]["members"] == list(attack_params("auto")["members"])
    again = run_campaign(config, tmp_path / "c", resume=True, progress=False)
    assert (again.skipped, again.stored) == (2, 0)


class Distance:
    """Logits ``[2 + 5, mean |x - x0| / eps + 5]``: never fooled within the ball, lower loss further out (so a random
    corner is the best point checked); records the largest and the mean ``|x - x0|`` of every video it is asked
    about."""

    def __init__(self, x0: np.ndarray, eps: float) -> None:
        self.x0, self.eps = x0, eps
        self.dist: list[float] = []
        self.mean_dist: list[float] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        d = np.abs(x - self.x0[None]).reshape(len(x), -1)
        self.dist += d.max(1).tolist()
        self.mean_dist += d.mean(1).tolist()
        f = np.minimum(d, self.eps).mean(1) / self.eps
        return np.stack([np.full_like(f, 7.0), f + 5], 1).astype(np.float32)


@pytest.mark.parametrize("start", ["best", "clean"])
def test_a_member_starts_where_its_start_rule_says(start: str) -> None:
    """After random noise, me-sampler's first probes lie around the best corner (|x - x0| = eps) or, with
    ``starts=(..., "clean")``, around the clean video (|x - x0| of the probe size, inside the ball)."""
    videos, maps = _videos(1, seed=3)
    eps = 0.03
    model = Distance(videos[0], eps)
    r = mesampler.attack(model, videos[0], method="auto", motion=maps[0], eps=eps, max_queries=40,
                         members=("random-noise", "me-sampler"), shares=(0.1, 0.9), starts=("best", start))  # fmt: skip
    assert not r.success and [m["queries"] for m in r.members] == [3, 36]
    assert model.dist[1:4] == pytest.approx([eps] * 3, abs=1e-6)  # the random corners
    first_probes = np.array(model.mean_dist[4:6])  # mean |x - x0| over pixels: eps at a corner
    if start == "clean":
        assert (first_probes < 0.5 * eps).all()
    else:
        assert (first_probes > 0.9 * eps).all()
    assert r.queries == len(model.dist) <= 40 and r.linf <= eps + 1e-6


def test_clean_starts_keep_counts_exact() -> None:
    videos, maps = _videos(3)
    model = CountingLinear(SHAPE, 4, seed=2, scale=8)
    members, shares = ("random-noise", "square", "me-sampler", "square"), (0.05, 0.05, 0.6, 0.3)
    res = mesampler.attack_batch(model, videos, method="auto", motions=maps, eps=0.01, max_queries=150, seed=1,
                                 members=members, shares=shares, starts=("best", "clean", "clean", "best"))  # fmt: skip
    assert model.videos_seen == sum(r.queries for r in res)
    for r in res:
        assert r.queries <= 150 and 1 + sum(m["queries"] for m in r.members) == r.queries
        assert r.linf <= 0.01 + 1e-6 and len(r.history) == 1 + r.iterations


@pytest.mark.parametrize(
    "starts",
    [("best",), ("nowhere",) + ("clean",) * (len(DEFAULT_MEMBERS) - 1), ("best",) * (len(DEFAULT_MEMBERS) + 1)],
)
def test_bad_starts_are_refused_before_any_query(starts: tuple[str, ...]) -> None:
    videos, maps = _videos(1)
    model = CountingLinear(SHAPE, 4)
    with pytest.raises(ValueError, match="starts"):
        mesampler.attack(model, videos[0], method="auto", motion=maps[0], max_queries=50, starts=starts)
    assert model.videos_seen == 0


def _square_alone_and_in(**portfolio: object) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """What the model is asked by ``square`` alone and by ``auto(**portfolio)`` on one (4, 32, 32, 3) video at a
    200-query budget (neither fools it), and each portfolio member's queries."""
    rng = np.random.default_rng(4)
    shape = (4, 32, 32, 3)  # large enough for square's window sizes to differ between the two schedules
    video, maps = rng.random(shape).astype(np.float32), random_maps(rng, 4, 32, 32)
    alone, inside = (Recording(CountingLinear(shape, 4, seed=2, scale=0.5)) for _ in range(2))
    a = mesampler.attack(alone, video, method="square", eps=0.01, max_queries=200, seed=7)
    b = mesampler.attack(inside, video, method="auto", motion=maps, eps=0.01, max_queries=200, seed=7, **portfolio)
    assert not a.success and not b.success
    return alone.inputs, inside.inputs, [m["queries"] for m in b.members]


@pytest.mark.parametrize("schedule", ["video", "share"])
def test_a_first_member_repeats_the_method_alone_until_its_share_is_spent(schedule: str) -> None:
    """With ``schedule="video"`` a 40-query share (the clean query and 39 of ``square``) asks exactly what
    ``square`` alone at the video's 200-query budget asks; scaled to its share (``"share"``), the windows shrink
    sooner and the queries part."""
    alone, inside, spent = _square_alone_and_in(members=("square", "me-sampler"), shares=(0.2, 0.8), schedule=schedule)
    assert spent[0] == 39  # 40 with the clean query
    same = [np.array_equal(u, v) for u, v in zip(alone[:40], inside[:40], strict=True)]
    assert all(same) if schedule == "video" else not all(same)


@pytest.mark.parametrize("streams", ["method", "video"])
def test_a_later_member_from_the_clean_video_draws_as_the_method_alone(streams: str) -> None:
    """With ``streams="method"`` square after three random corners, started from the clean video, asks exactly
    what square alone asks (three queries later); drawing from the video's generator (``"video"``), the corners
    shift its stripes."""
    alone, inside, spent = _square_alone_and_in(members=("random-noise", "square", "me-sampler"),
                                              shares=(0.02, 0.2, 0.78), starts=("best", "clean", "best"),
                                              streams=streams)  # fmt: skip
    assert spent[:2] == [3, 40]
    same = [np.array_equal(u, v) for u, v in zip(alone[1:41], inside[4:44], strict=True)]
    assert all(same) if streams == "method" else not any(same[:1])


def test_bad_streams_are_refused_before_any_query() -> None:
    videos, maps = _videos(1)
    model = CountingLinear(SHAPE, 4)
    with pytest.raises(ValueError, match="streams"):
        mesampler.attack(model, videos[0], method="auto", motion=maps[0], max_queries=50, streams="shared")
    assert model.videos_seen == 0
