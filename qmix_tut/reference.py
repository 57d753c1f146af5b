"""The published and reference numbers this course compares its results with, in one place.

Each number says where it comes from. Nothing here is computed: the code that measures
our own numbers is in ``benchmarks/`` and the stored runs are in ``figures/data/``.

>>> float(PAPER_TWO_STEP["qmix"]["2B"][1, 1])
8.0
"""

from __future__ import annotations

import numpy as np

PAPER_TWO_STEP: dict[str, dict[str, np.ndarray]] = {
    "qmix": {
        "1": np.array([[6.93, 6.93], [7.92, 7.92]]),
        "2A": np.array([[7.00, 7.00], [7.00, 7.00]]),
        "2B": np.array([[0.00, 1.00], [1.00, 8.00]]),
    },
    "vdn": {
        "1": np.array([[6.94, 6.94], [6.35, 6.36]]),
        "2A": np.array([[6.99, 7.02], [6.99, 7.02]]),
        "2B": np.array([[-1.87, 2.31], [2.33, 6.51]]),
    },
}
"""The QMIX paper's Table 1 (Rashid et al. 2018): Q_tot learned on the two-step game, by
state (``"1"``, ``"2A"``, ``"2B"``); rows agent 1's action (A, B), columns agent 2's."""

REFERENCE_SIMPLE_SPREAD: tuple[tuple[int, float], ...] = (
    (0, -176.0),
    (30_000, -60.9),
    (50_000, -56.9),
    (160_000, -52.4),
    (330_000, -48.6),
)
"""The reference implementation's greedy test return on MPE simple_spread (3 agents, 25
steps, summed team reward), as measured for the cooperative MARL benchmark's (EPyMARL)
QMIX configuration on the same machine type: (env steps, return)."""

REFERENCE_LBF_NEVER_ABOVE: tuple[int, float] = (430_000, 0.05)
"""The reference implementation (EPyMARL's QMIX) on Foraging-8x8-2p-2f-coop-v3: greedy
return never above 0.05 within 430,000 steps (15 minutes) on any of 3 seeds:
(steps, return)."""
