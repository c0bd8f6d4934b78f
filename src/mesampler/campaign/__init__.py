"""Experiment campaigns: models × methods × datasets × settings under the paper's protocol, resumable.

``read_config(path, **overrides)`` -> :class:`CampaignConfig`; ``run_campaign(config, out, resume=...)`` stores
one SQLite row per attack (:mod:`mesampler.campaign.store`); the rules are in :mod:`mesampler.campaign.protocol`.
"""

from mesampler.campaign.config import (
    CampaignConfig,
    DatasetConfig,
    MethodConfig,
    ModelConfig,
    SettingConfig,
    read_config,
)
from mesampler.campaign.runner import CampaignSummary, run_campaign
from mesampler.campaign.store import ResultStore

__all__ = [
    "CampaignConfig",
    "CampaignSummary",
    "DatasetConfig",
    "MethodConfig",
    "ModelConfig",
    "ResultStore",
    "SettingConfig",
    "read_config",
    "run_campaign",
]
