"""Motion test-bed: procedurally generated clips whose class is how an object moves, and a tiny 3D CNN.

Data::

    from mesampler.testbed import CLASSES, TestbedConfig, make_clip, make_dataset, TRAIN_SEED, TEST_SEED
    video, motion = make_clip(label, seed)             # (T, H, W, 3) uint8, (T // interval, H, W, 2) float32
    videos, labels, motions = make_dataset(200, TEST_SEED)   # held-out clips

The trained classifier is registered as ``mesampler.models.create("testbed-motion")``; its network
is :mod:`mesampler.testbed.net`, its training script ``python -m mesampler.testbed.train``.
"""

from mesampler.testbed.config import CLASSES, TEST_SEED, TRAIN_SEED, TestbedConfig
from mesampler.testbed.generate import make_clip, make_dataset

__all__ = ["CLASSES", "TEST_SEED", "TRAIN_SEED", "TestbedConfig", "make_clip", "make_dataset"]
