from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mesampler.attacks.losses import cross_entropy, logits_margin, probability

S = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0]])


def test_margin_values() -> None:
    y = torch.tensor([0, 0])
    torch.testing.assert_close(logits_margin(S, y, False), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(logits_margin(S, torch.tensor([1, 2]), True), torch.tensor([2.0, 4.0]))


def test_probability_and_ce_values() -> None:
    p = S.softmax(1)
    y = torch.tensor([0, 1])
    torch.testing.assert_close(probability(S, y, False), 1 - torch.stack([p[0, 2], p[1, 2]]))
    torch.testing.assert_close(probability(S, y, True), 1 - torch.stack([p[0, 0], p[1, 1]]))
    torch.testing.assert_close(cross_entropy(S, y, False), torch.stack([p[0, 0], p[1, 1]]).log())
    torch.testing.assert_close(cross_entropy(S, y, True), -torch.stack([p[0, 0], p[1, 1]]).log())


@given(arrays(np.float32, (4, 5), elements=st.floats(-50, 50, width=32)), st.integers(0, 4))
def test_margin_is_zero_exactly_when_goal_reached(scores: np.ndarray, c: int) -> None:
    s = torch.from_numpy(scores)
    y = torch.full((4,), c)
    top = s.argmax(1)
    unt = logits_margin(s, y, False)
    tgt = logits_margin(s, y, True)
    assert bool(((unt > 0) <= (top == y)).all())  # positive loss only while still classified as y
    assert bool(((tgt == 0) >= (top == y)).all())  # reached target -> zero loss
    assert bool((unt >= 0).all() and (tgt >= 0).all())
