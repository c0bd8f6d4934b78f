"""The motion test-bed as a dataset: generated clips (``mesampler.testbed``), no files needed.

Clip ``i`` is ``make_dataset``'s clip ``i`` for ``seed`` (default ``TEST_SEED``, the held-out split), of class
``CLASSES[i % 10]``; ``motion="testbed"`` gives its ground-truth maps.
"""

from __future__ import annotations

import numpy as np

from mesampler.datasets.base import Clip, VideoDataset, VideoItem, clip_motion
from mesampler.testbed import CLASSES, TEST_SEED, make_clip


class TestbedDataset(VideoDataset):
    __test__ = False

    def _render(self, item: VideoItem) -> tuple[np.ndarray, np.ndarray]:
        assert item.index is not None
        child = np.random.SeedSequence(self.options["seed"], spawn_key=(item.index,))  # = make_dataset's clip i
        return make_clip(CLASSES.index(item.label), child)

    def clip(self, item: VideoItem, *, frames: int | None, size: int | None, crop: int | None = None) -> Clip:
        """The generated clip (``frames``/``size``/``crop`` are ignored: the test-bed model takes it as it is)."""
        return Clip(self._render(item)[0], 0)

    def motion(self, item: VideoItem, clip: Clip, *, kind: str) -> np.ndarray:
        """``"testbed"``: ground-truth maps; ``"mv"``/``"clip"``: motion vectors of the clip; ``"flow"``: TV-L1."""
        if kind == "testbed":
            return self._render(item)[1]
        if kind in ("mv", "clip"):
            return clip_motion(clip.video)
        if kind == "flow":
            from mesampler.motion import motion_maps

            return motion_maps(clip.video, kind="flow", partial=True)  # type: ignore[return-value]
        raise ValueError(f"unknown motion kind {kind!r} for the test-bed; use testbed, mv, flow or clip")


def load_testbed(*, videos: int = 50, seed: int = TEST_SEED) -> TestbedDataset:
    """``videos`` generated clips (balanced classes, ``i % 10``), as :func:`mesampler.testbed.make_dataset`."""
    if isinstance(videos, bool) or not isinstance(videos, int) or videos < 1:
        raise ValueError(f"testbed: videos must be a positive integer, got {videos!r}")
    items = [VideoItem(id=f"testbed-{seed}-{i:05d}", label=CLASSES[i % len(CLASSES)], index=i) for i in range(videos)]
    return TestbedDataset("testbed", "testbed", list(CLASSES), items, options={"seed": seed, "videos": videos})
