"""The ME-Sampler paper's own numbers (Zhang et al., ECCV 2020), the one place reports read them from.

``PAPER[(table, dataset, model, row)] = (ANQ, SR %)``, copied from the paper's Tables 2-5 (``../shared/paper``).
Tables 3 and 4 come from a subset of 80 Kinetics-400 / 30 UCF-101 classes; their "Ours" row equals Table 5's
probability-loss row, so those ablations ran ME-Sampler with the probability loss. Budgets: 60,000 queries,
eps 0.03 (untargeted); I3D with 10 test-time clips, TSN2D with 25 segments.
"""

from __future__ import annotations

PAPER_SETTING = {"targeted": False, "eps": 0.03, "max_queries": 60_000}
"""The setting every table below was measured in."""

MODEL_CELLS = {"i3d-k400": ("Kinetics-400", "I3D")}
"""Registered models whose (dataset, model) cell the paper reports: our I3D-K400 is the paper's I3D on K400."""

_T2 = {
    ("SthSth-V2", "I3D"): {"E-NES": (11552, 86.96), "E-Bandits": (968, 100.0), "V-BAD": (7239, 97.70),
                           "ME-Sampler (OF)": (735, 98.90), "ME-Sampler (MV)": (592, 100.0)},
    ("SthSth-V2", "TSN2D"): {"E-NES": (1698, 99.41), "E-Bandits": (435, 99.41), "V-BAD": (495, 100.0),
                             "ME-Sampler (OF)": (315, 100.0), "ME-Sampler (MV)": (244, 100.0)},
    ("HMDB-51", "I3D"): {"E-NES": (13237, 84.31), "E-Bandits": (4549, 99.80), "V-BAD": (5064, 100.0),
                         "ME-Sampler (OF)": (3306, 100.0), "ME-Sampler (MV)": (3915, 100.0)},
    ("HMDB-51", "TSN2D"): {"E-NES": (19407, 76.47), "E-Bandits": (4261, 100.0), "V-BAD": (2405, 100.0),
                           "ME-Sampler (OF)": (842, 100.0), "ME-Sampler (MV)": (831, 100.0)},
    ("Kinetics-400", "I3D"): {"E-NES": (11423, 89.30), "E-Bandits": (3697, 99.00), "V-BAD": (4047, 99.75),
                              "ME-Sampler (OF)": (3415, 99.30), "ME-Sampler (MV)": (2717, 99.00)},
    ("Kinetics-400", "TSN2D"): {"E-NES": (20698, 71.93), "E-Bandits": (6149, 97.50), "V-BAD": (2623, 99.75),
                                "ME-Sampler (OF)": (2631, 98.80), "ME-Sampler (MV)": (1715, 99.75)},
    ("UCF-101", "I3D"): {"E-NES": (23531, 69.23), "E-Bandits": (10590, 89.10), "V-BAD": (8819, 97.03),
                         "ME-Sampler (OF)": (6101, 96.00), "ME-Sampler (MV)": (4748, 98.02)},
    ("UCF-101", "TSN2D"): {"E-NES": (41328, 34.65), "E-Bandits": (24890, 66.33), "V-BAD": (17638, 91.09),
                           "ME-Sampler (OF)": (6598, 97.00), "ME-Sampler (MV)": (5353, 99.00)},
}  # fmt: skip
_T3 = {
    ("Kinetics-400", "I3D"): {"Multi-noise": (11416, 95.00), "One-noise": (8258, 96.25), "Ours": (3089, 100.0)},
    ("Kinetics-400", "TSN2D"): {"Multi-noise": (15966, 89.87), "One-noise": (8392, 96.25), "Ours": (2494, 100.0)},
    ("UCF-101", "I3D"): {"Multi-noise": (15798, 90.00), "One-noise": (22908, 93.33), "Ours": (6876, 100.0)},
    ("UCF-101", "TSN2D"): {"Multi-noise": (30337, 70.00), "One-noise": (16620, 90.00), "Ours": (8399, 100.0)},
}  # fmt: skip
_T4 = {
    ("Kinetics-400", "I3D"): {"U-Sample": (10250, 96.25), "S-Value": (8610, 98.75), "Ours": (3089, 100.0)},
    ("Kinetics-400", "TSN2D"): {"U-Sample": (9166, 96.20), "S-Value": (8429, 96.20), "Ours": (2494, 100.0)},
    ("UCF-101", "I3D"): {"U-Sample": (13773, 93.33), "S-Value": (11471, 96.67), "Ours": (6876, 100.0)},
    ("UCF-101", "TSN2D"): {"U-Sample": (17718, 83.33), "S-Value": (17116, 86.67), "Ours": (8399, 100.0)},
}  # fmt: skip
_T5 = {
    ("Kinetics-400", "I3D"): {"Cross-Entropy": (3452, 98.75), "Probability": (3089, 100.0), "Logits": (2423, 100.0)},
    ("Kinetics-400", "TSN2D"): {"Cross-Entropy": (2248, 100.0), "Probability": (2494, 100.0), "Logits": (1780, 100.0)},
    ("UCF-101", "I3D"): {"Cross-Entropy": (17362, 80.00), "Probability": (13217, 90.00), "Logits": (6876, 100.0)},
    ("UCF-101", "TSN2D"): {"Cross-Entropy": (17992, 73.26), "Probability": (14842, 81.19), "Logits": (6182, 100.0)},
}  # fmt: skip

PAPER: dict[tuple[int, str, str, str], tuple[int, float]] = {
    (t, d, m, row): v for t, table in ((2, _T2), (3, _T3), (4, _T4), (5, _T5))
    for (d, m), rows in table.items() for row, v in rows.items()
}  # fmt: skip

REFERENCE_ROW = {2: "ME-Sampler (MV)", 3: "Ours", 4: "Ours", 5: "Logits"}
"""Each table's ME-Sampler row, the denominator of its ANQ ratios."""


def paper_cell(model_ref: str) -> tuple[str, str] | None:
    """The paper's (dataset, model) cell for a campaign model reference, or ``None``."""
    return MODEL_CELLS.get(model_ref)


def paper_number(table: int, cell: tuple[str, str] | None, row: str) -> tuple[int, float] | None:
    """``(ANQ, SR %)`` of ``row`` in ``table`` for ``cell``, or ``None`` when the paper has none."""
    return None if cell is None else PAPER.get((table, cell[0], cell[1], row))
