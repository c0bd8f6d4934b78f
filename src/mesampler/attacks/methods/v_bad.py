"""V-BAD (ME-Sampler paper, Table 2; Jiang, Ma, Chen, Bailey, Jiang, ACM MM 2019): image-model tentative
perturbations rectified by NES over partitions."""

from __future__ import annotations

from dataclasses import dataclass

from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.estimators.vbad import Surrogate, VBADEstimator

PAPER = "Jiang, Ma, Chen, Bailey, Jiang, Black-box Adversarial Attacks on Video Recognition Models, ACM MM 2019"


@dataclass(frozen=True)
class VBADDefaults:
    """V-BAD's released untargeted setting: 48 samples (its 50 rounded to its NES batch of 12), sigma 1e-3,
    8 x 8 partitions per frame, image step 0.01. ``surrogate``: a differentiable image model
    ``(N, 3, H, W)`` [0, 1] -> ``(N, D)``; ``None``: the pretrained EfficientNet-Lite0 of the model layer."""

    surrogate: Surrogate | None = None
    samples: int = 48
    sigma: float = 1e-3
    split: int = 8
    lr: float = 0.01


@register_attack("v-bad", defaults=VBADDefaults, paper=PAPER)
def v_bad(p: VBADDefaults) -> SignPGD:
    """Tentative perturbation from an image model, rectified by partition-wise NES."""
    surrogate = p.surrogate
    if surrogate is None:
        from mesampler.models.efficientnet import vbad_surrogate

        surrogate = vbad_surrogate()
    return SignPGD(VBADEstimator(surrogate, samples=p.samples, sigma=p.sigma, split=p.split), lr=p.lr)
