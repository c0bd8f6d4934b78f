"""Invariants of every registered attack, over random videos, models, epsilons, budgets and losses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mesampler
from mesampler.attacks import LOSSES, create_attack, list_attacks
from toymodels import CountingLinear, random_maps


@st.composite
def cases(draw: st.DrawFn) -> dict:
    t, h, w = draw(st.integers(1, 4)), draw(st.integers(2, 8)), draw(st.integers(2, 8))
    k = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    video = rng.random((t, h, w, 3)).astype(np.float32)
    if draw(st.booleans()):
        video = (video * 255).astype(np.uint8)
    return {
        "shape": (t, h, w, 3),
        "k": k,
        "seed": seed,
        "video": video,
        "maps": random_maps(rng, draw(st.integers(1, 5)), h, w),
        "eps": draw(st.floats(1e-3, 0.3)),
        "budget": draw(st.integers(1, 40)),
        "method": draw(st.sampled_from(list_attacks())),
        "loss": draw(st.sampled_from(sorted(LOSSES))),
        "targeted": draw(st.booleans()),
        "scale": draw(st.floats(0.5, 30)),
    }


def _as_float(video: np.ndarray) -> np.ndarray:
    return video.astype(np.float32) / 255 if video.dtype == np.uint8 else video


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_invariants(case: dict) -> None:
    model = CountingLinear(case["shape"], case["k"], seed=case["seed"], scale=case["scale"])
    x = _as_float(case["video"])
    clean = int(model(x[None]).argmax())
    model.videos_seen = 0
    target = (clean + 1) % case["k"] if case["targeted"] else None
    if case["budget"] < create_attack(case["method"]).queries_per_iteration:  # refused before any query
        with pytest.raises(ValueError, match="below one iteration"):
            mesampler.attack(model, case["video"], target=target, method=case["method"], motion=case["maps"],
                             max_queries=case["budget"])  # fmt: skip
        assert model.videos_seen == 0
        return
    r = mesampler.attack(
        model,
        case["video"],
        target=target,
        method=case["method"],
        motion=case["maps"],
        eps=case["eps"],
        max_queries=case["budget"],
        loss=case["loss"],
        seed=case["seed"],
    )
    assert float(np.abs(r.adversarial - x).max()) <= case["eps"] + 1e-6
    assert r.linf <= case["eps"] + 1e-6
    assert r.adversarial.min() >= 0 and r.adversarial.max() <= 1
    assert r.adversarial.shape == x.shape and r.adversarial.dtype == np.float32
    assert r.queries <= case["budget"]
    assert r.queries == model.videos_seen == r.loss_queries + r.check_queries
    assert r.label == clean
    assert int(model(r.adversarial[None]).argmax()) == r.adv_label
    if r.success:
        assert r.adv_label == target if case["targeted"] else r.adv_label != clean
    else:
        assert r.adv_label != target if case["targeted"] else r.adv_label == clean
    assert len(r.history) == 1 + r.iterations  # the clean query, then one record per iteration
    assert [q for q, _ in r.history] == sorted(q for q, _ in r.history)


@pytest.mark.parametrize("method", list_attacks())
def test_batch_equals_single_and_counts_per_video(method: str) -> None:
    rng = np.random.default_rng(1)
    shape = (3, 6, 6, 3)
    videos = [rng.random(shape).astype(np.float32) for _ in range(5)]
    maps = [random_maps(rng, 3, 6, 6) for _ in range(5)]
    batch_model = CountingLinear(shape, 4, seed=2, scale=8)
    budgets = max(31, 2 * create_attack(method).queries_per_iteration)  # e-nes and v-bad need more
    extra = {"split": 2} if method == "v-bad" else {}  # 8 x 8 partitions need frames of at least 8 px
    batch = mesampler.attack_batch(batch_model, videos, method=method, motions=maps, max_queries=budgets, seed=10,
                                   **extra)  # fmt: skip
    assert batch_model.videos_seen == sum(r.queries for r in batch)
    # one call for the clean labels, then per iteration one call of probes and one of checks (one call in all
    # for a method of one query per iteration: random-noise's check, square's scored proposal); a portfolio's
    # videos move from member to member in step, so its iterations cost what its members' do
    longest = max(batch, key=lambda r: r.iterations)
    runs = [(m["method"], m["iterations"]) for m in longest.members] or [(method, longest.iterations)]
    calls = sum(it * (1 if create_attack(name).queries_per_iteration == 1 else 2) for name, it in runs)
    assert batch_model.calls == 1 + calls
    for i, r in enumerate(batch):
        single_model = CountingLinear(shape, 4, seed=2, scale=8)
        s = mesampler.attack(single_model, videos[i], method=method, motion=maps[i], max_queries=budgets, seed=10 + i,
                             **extra)  # fmt: skip
        assert single_model.videos_seen == s.queries == r.queries
        assert (s.loss_queries, s.check_queries, s.success, s.adv_label) == (
            r.loss_queries,
            r.check_queries,
            r.success,
            r.adv_label,
        )
        np.testing.assert_allclose(s.adversarial, r.adversarial, atol=1e-6)


def test_same_seed_same_result_and_other_seed_differs() -> None:
    rng = np.random.default_rng(3)
    video = rng.random((2, 5, 5, 3)).astype(np.float32)
    runs = [
        mesampler.attack(CountingLinear(video.shape, 3, seed=4), video, method="multi-noise", max_queries=30, seed=s)
        for s in (7, 7, 8)
    ]
    np.testing.assert_array_equal(runs[0].adversarial, runs[1].adversarial)
    assert not np.array_equal(runs[0].adversarial, runs[2].adversarial)


def test_finished_videos_leave_the_batch() -> None:
    """A video misclassified at the clean query costs one query, is never sent again and is not a success."""
    rng = np.random.default_rng(5)
    shape = (2, 4, 4, 3)
    model = CountingLinear(shape, 3, seed=6)
    videos = [rng.random(shape).astype(np.float32) for _ in range(3)]
    labels = [int(model(v[None]).argmax()) for v in videos]
    model.batch_sizes.clear()
    wrong = (labels[0] + 1) % 3  # video 0 is "misclassified" from the start
    res = mesampler.attack_batch(
        model, videos, labels=[wrong, labels[1], labels[2]], method="one-noise", max_queries=10
    )
    assert res[0].status == "misclassified" and not res[0].success and res[0].queries == 1 and res[0].linf == 0
    assert model.batch_sizes[0] == 3 and all(b <= 4 for b in model.batch_sizes[1:])


def test_explicit_seeds_reproduce_any_subset_of_a_batch() -> None:
    """``seeds=[...]`` lets a resumed run attack videos 1 and 3 of a batch exactly as the full batch did."""
    rng = np.random.default_rng(5)
    shape = (3, 6, 6, 3)
    videos = [rng.random(shape).astype(np.float32) for _ in range(4)]
    maps = [random_maps(rng, 3, 6, 6) for _ in range(4)]
    full = mesampler.attack_batch(CountingLinear(shape, 4, seed=2, scale=8), videos, motions=maps, eps=0.02,
                                  max_queries=40, seed=100)  # fmt: skip
    part = mesampler.attack_batch(CountingLinear(shape, 4, seed=2, scale=8), [videos[1], videos[3]],
                                  motions=[maps[1], maps[3]], eps=0.02, max_queries=40, seeds=[101, 103])  # fmt: skip
    for r, f in zip(part, [full[1], full[3]], strict=True):
        assert (r.seed, r.queries, r.success) == (f.seed, f.queries, f.success)
        np.testing.assert_array_equal(r.adversarial, f.adversarial)
    with pytest.raises(ValueError, match="seeds has 1 entries"):
        mesampler.attack_batch(CountingLinear(shape, 4), videos[:2], motions=maps[:2], seeds=[1])
    with pytest.raises(ValueError, match=r"seeds\[0\]"):
        mesampler.attack_batch(CountingLinear(shape, 4), videos[:1], motions=maps[:1], seeds=[-1])
