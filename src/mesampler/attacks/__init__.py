"""The attack engine: query oracle, losses, the shared loop and the registered methods."""

from mesampler.attacks.base import ScoreAttack
from mesampler.attacks.losses import LOSSES, get_loss
from mesampler.attacks.oracle import BudgetExceeded, ModelError, QueryOracle
from mesampler.attacks.registry import (
    ATTACKS,
    MethodSpec,
    attack_params,
    create_attack,
    list_attacks,
    method_params,
    method_spec,
    register_attack,
)
from mesampler.attacks.result import AttackResult
from mesampler.attacks.sign_pgd import SignPGD

__all__ = [
    "ATTACKS",
    "MethodSpec",
    "LOSSES",
    "AttackResult",
    "BudgetExceeded",
    "ModelError",
    "QueryOracle",
    "ScoreAttack",
    "SignPGD",
    "attack_params",
    "create_attack",
    "get_loss",
    "list_attacks",
    "method_params",
    "method_spec",
    "register_attack",
]
