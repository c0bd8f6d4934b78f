"""The Ray executor on a local Ray instance (CPU): same rows as the local executor. Skipped without Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "mesampler[ray]")')

from mesampler.campaign import ResultStore, read_config, run_campaign  # noqa: E402
from mesampler.campaign.executors.ray_executor import RayExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path):
    cfg = read_config(
        ROOT / "examples" / "campaign_testbed.toml",
        datasets=[{"name": "testbed", "videos": 10}],
        methods=[{"name": "me-sampler", "motion": "testbed"}],
        max_classes=3, max_queries=12, batch_videos=1,
    )  # fmt: skip
    ex = RayExecutor(workers=2, num_cpus=2)
    try:
        s = run_campaign(cfg, tmp_path / "ray", progress=False, executor=ex)
    finally:
        ex.close()
    assert s.stored == 3
    run_campaign(cfg, tmp_path / "local", progress=False)
    key = ("video_id", "attack_seed", "queries", "success", "adv_label", "linf")
    by_ray = sorted(tuple(r[k] for k in key) for r in ResultStore(tmp_path / "ray").rows())
    by_local = sorted(tuple(r[k] for k in key) for r in ResultStore(tmp_path / "local").rows())
    assert by_ray == by_local
