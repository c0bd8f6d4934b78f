"""mesampler: black-box adversarial attacks on video classifiers.

The pipeline, one package per stage::

    video/       read clips, write lossless adversarial clips
    motion/      motion maps: accumulated motion vectors, TV-L1 flow
    samplers/    noise priors: ME-Sampler (sparked prior), multi-noise, one-noise, ...
    estimators/  gradient estimators built on a sampler (Algorithm 1)
    attacks/     the query oracle, losses and the attack loop (Algorithm 2)
    models/      black-box models: the contract, registry, real and test-bed models
    reports/     figures and summaries

Entry points: :func:`attack` and :func:`attack_batch`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mesampler")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+src"

from mesampler import models  # noqa: E402  (so that `mesampler.models.create(...)` works after `import mesampler`)
from mesampler.api import attack, attack_batch  # noqa: E402
from mesampler.attacks.result import AttackResult  # noqa: E402

__all__ = ["AttackResult", "__version__", "attack", "attack_batch", "models"]
