"""Mid-attack checkpoints: kill an attack part-way, resume, and get exactly the uninterrupted result."""

from __future__ import annotations

import numpy as np
import pytest

import mesampler
from mesampler.attacks import list_attacks
from mesampler.attacks.checkpoint import Checkpoint
from toymodels import CountingLinear, random_maps


class Crash(Exception):
    pass


def _case(seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = (3, 6, 6, 3)
    videos = [rng.random(shape).astype(np.float32) for _ in range(3)]
    maps = [random_maps(rng, 3, 6, 6) for _ in range(3)]
    return shape, videos, maps


@pytest.mark.parametrize("method", list_attacks())
def test_resume_after_a_crash_equals_the_uninterrupted_run(tmp_path, method):
    shape, videos, maps = _case()
    kw = dict(method=method, motions=maps, eps=0.002, max_queries=400, seed=3)
    if method == "v-bad":
        kw["split"] = 2  # its 8 x 8 partitions need frames of at least 8 px
    full = mesampler.attack_batch(CountingLinear(shape, 4, seed=2, scale=8), videos, **kw)
    assert max(len(r.history) for r in full) > 3  # the crash below happens mid-attack

    calls = {"n": 0}

    def crash_after_some_checks(event: dict) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash

    path = tmp_path / "ckpt.pt"
    first = CountingLinear(shape, 4, seed=2, scale=8)
    with pytest.raises(Crash):
        mesampler.attack_batch(first, videos, checkpoint=Checkpoint(path, every_s=0), callback=crash_after_some_checks,
                               **kw)  # fmt: skip
    assert path.is_file()
    second = CountingLinear(shape, 4, seed=2, scale=8)
    resumed = mesampler.attack_batch(second, videos, checkpoint=Checkpoint(path, every_s=0), **kw)
    assert not path.exists()  # removed once the attack ended
    for r, f in zip(resumed, full, strict=True):
        assert (r.queries, r.loss_queries, r.check_queries, r.success, r.adv_label) == (
            f.queries, f.loss_queries, f.check_queries, f.success, f.adv_label)  # fmt: skip
        assert r.history == f.history
        np.testing.assert_array_equal(r.adversarial, f.adversarial)
    total = sum(r.queries for r in full)
    assert second.videos_seen < total  # it resumed: the clean query and the first iteration were not redone
    assert first.videos_seen + second.videos_seen >= total  # queries after the last save are made again


def test_checkpoint_of_another_attack_is_refused(tmp_path):
    shape, videos, maps = _case()
    path = tmp_path / "ckpt.pt"

    calls = {"n": 0}

    def stop(event: dict) -> None:  # the clean check, one iteration's check, then a crash
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash

    with pytest.raises(Crash):
        mesampler.attack_batch(CountingLinear(shape, 4), videos, motions=maps, eps=0.002, max_queries=400,
                               checkpoint=Checkpoint(path, every_s=0), callback=stop)  # fmt: skip
    assert path.is_file()
    with pytest.raises(ValueError, match="different attack"):
        mesampler.attack_batch(CountingLinear(shape, 4), videos, motions=maps, eps=0.02, max_queries=400,
                               checkpoint=path)  # fmt: skip
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable mesampler checkpoint"):
        mesampler.attack_batch(CountingLinear(shape, 4), videos, motions=maps, eps=0.002, max_queries=400,
                               checkpoint=path)  # fmt: skip
