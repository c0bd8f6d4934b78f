"""One file per attack method, each with one frozen dataclass of defaults citing its paper.

* ``me-sampler`` and its Table 3/4 ablations ``multi-noise``, ``one-noise``, ``u-sample``, ``s-value``
  (Zhang et al., ECCV 2020), which share ME-Sampler's record;
* ``me-sampler-released``: the authors' released code (``PAPER.md``);
* the Table 2 comparators ``e-nes``, ``e-bandits`` and ``v-bad``;
* beyond the paper: ``geo-trap`` (Li et al., NeurIPS 2021), ``square`` (Square Attack with spatio-temporal
  tubes), ``motion-square`` (ours: Square tubes carried along the motion vectors) and ``random-noise``
  (the floor);
* ``auto``: a fixed portfolio of the above sharing one budget (after AutoAttack, Croce & Hein, ICML 2020).
"""

METHOD_MODULES = (
    "me_sampler",
    "multi_noise",
    "one_noise",
    "u_sample",
    "s_value",
    "me_sampler_released",
    "e_nes",
    "e_bandits",
    "v_bad",
    "random_noise",
    "square",
    "geo_trap",
    "motion_square",
    "auto",
)
