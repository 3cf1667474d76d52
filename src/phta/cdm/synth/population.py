"""People: demographics, GP registration, long-term conditions and death, for a block of persons.

Everything is vectorised over the block; one ``numpy.random.Generator`` per block keeps the
result a pure function of (seed, site, block).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from phta.cdm import uk
from phta.cdm.synth.params import ETHNIC_CODES, ONS_GROUPS, Params

YEAR = 365.25
_GROUP_OF_CODE = np.array([ONS_GROUPS.index(uk.ETHNIC_GROUP_OF[c]) for c in ETHNIC_CODES])


@dataclass
class People:
    """A block of persons (arrays of equal length; dates are days since 1970-01-01)."""

    female: np.ndarray
    birth: np.ndarray
    age: np.ndarray  # age in years at the extract date (float)
    ethnic: np.ndarray  # index into ETHNIC_CODES
    imd: np.ndarray  # 1..5
    obs_start: np.ndarray
    obs_end: np.ndarray
    dead: np.ndarray
    onset: dict[str, np.ndarray] = field(default_factory=dict)  # condition -> day, or -1 (none)

    def __len__(self) -> int:
        return len(self.birth)

    def has(self, name: str) -> np.ndarray:
        return self.onset[name] >= 0


def demographics(params: Params, setting: str, n: int, rng: np.random.Generator) -> People:
    lower, upper, p = params.age_band_probs()
    band = rng.choice(len(p), size=n, p=p)
    age = lower[band] + rng.random(n) * (upper[band] - lower[band])
    female = rng.random(n) < params.female_fraction()[band]
    extract = params.extract_day
    birth = (extract - age * YEAR).astype(np.int64)
    ethnic = rng.choice(len(ETHNIC_CODES), size=n, p=params.ethnic_probs(setting))
    imd = rng.choice(5, size=n, p=params.imd_probs(setting)) + 1
    reg_years = rng.exponential(params.raw["registration_mean_years"], size=n)
    obs_start = np.maximum.reduce([birth, np.full(n, params.data_start_day), (extract - reg_years * YEAR).astype(np.int64)])
    obs_end = np.full(n, extract, dtype=np.int64)
    return People(female, birth, age, ethnic, imd, obs_start, obs_end, np.zeros(n, dtype=bool))


def condition_probability(params: Params, name: str, people: People) -> np.ndarray:
    """Unscaled risk multiplier of a condition for each person (age, sex, ethnicity, IMD)."""
    c = params.conditions[name]
    rr = np.array(c["age_rr"], dtype=float)[params.risk_band(people.age)]
    rr = rr * np.where(people.female, c["sex_rr"]["F"], c["sex_rr"]["M"])
    eth = np.array([c["ethnic_rr"][g] for g in ONS_GROUPS])
    rr = rr * eth[_GROUP_OF_CODE[people.ethnic]]
    rr = rr * np.array(c["imd_rr"])[people.imd - 1]
    return np.where(people.age >= c["min_age"], rr, 0.0)


def calibrate(params: Params, setting: str, n: int = 200_000) -> dict[str, float]:
    """Scale per condition so that the expected share among eligible persons matches the table.

    Uses a fixed-seed reference sample of the setting, so the scale does not depend on the run.
    """
    ref = demographics(params, setting, n, np.random.default_rng(20_240_101))
    scale = {}
    for name, c in params.conditions.items():
        rr = condition_probability(params, name, ref)
        eligible = ref.age >= c["min_age"]
        scale[name] = c["prevalence"] / max(rr[eligible].mean(), 1e-12)
    return scale


def add_conditions_and_death(params: Params, people: People, scale: dict[str, float], rng: np.random.Generator) -> None:
    """Decide who has each condition and who dies; place onsets inside the observation period."""
    n = len(people)
    has = {}
    for name in params.condition_names:
        p = np.clip(scale[name] * condition_probability(params, name, people), 0, 0.95)
        has[name] = rng.random(n) < p
    # Death within the observation period: Gompertz hazard at the mid-window age, times HRs.
    m = params.raw["mortality"]
    years = (people.obs_end - people.obs_start) / YEAR
    mid_age = people.age - years / 2
    hazard = np.exp(m["a"] + m["b"] * mid_age)
    for cond, hr in m["condition_hr"].items():
        hazard = hazard * np.where(has[cond], hr, 1.0)
    dead = rng.random(n) < 1 - np.exp(-hazard * years)
    death_day = people.obs_start + (rng.random(n) ** 0.5 * (people.obs_end - people.obs_start)).astype(np.int64)
    people.dead = dead
    people.obs_end = np.where(dead, death_day, people.obs_end)
    for name, c in params.conditions.items():
        earliest = np.maximum(people.obs_start, people.birth + int(c["min_age"] * YEAR))
        ok = has[name] & (earliest <= people.obs_end)
        # Later onsets are likelier (incidence rises with age): sqrt of a uniform skews late.
        span = people.obs_end - earliest
        onset = earliest + (np.sqrt(rng.random(n)) * span).astype(np.int64)
        people.onset[name] = np.where(ok, onset, -1)
