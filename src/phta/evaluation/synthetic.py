"""A synthetic scored population for the demo, tests and benchmarks: a 1-year type 2 diabetes
risk model whose calibration differs by ethnic group (it under-predicts risk for South Asian and
Black people, as QDiabetes-era models without ethnicity terms did), so a report shows a real finding.

No real person is involved; the seed makes it reproducible.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from phta.evaluation.evaluate import EvaluationData

ETHNIC_GROUPS = ("White", "South Asian", "Black", "Mixed", "Other")
ETHNIC_SHARES = (0.70, 0.16, 0.07, 0.04, 0.03)
# the region's census shares the evaluated population is compared with
REGION_SHARES = {"White": 0.71, "South Asian": 0.15, "Black": 0.07, "Mixed": 0.04, "Other": 0.03}
# log-odds the model misses for each group: it was developed without an ethnicity term
MISSED_LOG_ODDS = {"White": 0.0, "South Asian": 0.9, "Black": 0.6, "Mixed": 0.2, "Other": 0.0}


def diabetes_population(n: int = 20_000, seed: int = 2026) -> EvaluationData:
    rng = np.random.default_rng(seed)
    ethnic = rng.choice(ETHNIC_GROUPS, n, p=ETHNIC_SHARES)
    imd = rng.integers(1, 6, n)
    sex = rng.choice(["Female", "Male"], n)
    age = rng.integers(25, 85, n)
    bmi = rng.normal(28, 5, n)
    model_lp = -5.2 + 0.035 * (age - 25) + 0.09 * (bmi - 22) + 0.12 * (5 - imd)
    predicted = expit(model_lp)
    true_lp = model_lp + np.vectorize(MISSED_LOG_ODDS.get)(ethnic)
    outcome = (rng.uniform(size=n) < expit(true_lp)).astype(np.int8)
    age_band = np.where(age < 45, "25-44", np.where(age < 65, "45-64", "65-84"))
    quarter = rng.choice(["2025Q1", "2025Q2", "2025Q3", "2025Q4"], n)
    version = np.where(quarter < "2025Q3", "v1", "v2")
    excluded_prior = int(n * 0.06)
    return EvaluationData(
        score=np.clip(predicted, 1e-6, 1 - 1e-6), outcome=outcome,
        groups={"ethnic_group": ethnic, "imd_quintile": np.char.add("IMD ", imd.astype(str)), "sex": sex,
                "age_band": age_band},
        period=quarter, version=version,
        flow=(("scores received", n + excluded_prior + 41), ("excluded: no matching person at the node", 29),
              ("excluded: duplicate person key", 12), ("excluded: outcome before the index date", excluded_prior)),
        reference_shares={"ethnic_group": REGION_SHARES},
    )


__all__ = ["ETHNIC_GROUPS", "REGION_SHARES", "diabetes_population"]
