"""The generator's parameters: ``params/region.yaml`` read, checked and turned into arrays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from phta.cdm import uk, vocabulary

PARAMS_FILE = Path(__file__).parent / "params" / "region.yaml"
EPOCH = dt.date(1970, 1, 1)
SETTINGS = ("urban", "shire")
ETHNIC_CODES = tuple(uk.NHS_ETHNIC_CATEGORIES)  # index -> NHS ethnic category letter
ONS_GROUPS = uk.ONS_ETHNIC_GROUPS


class ParamsError(ValueError):
    """The parameter file is inconsistent; the message names the key."""


def day(d: dt.date) -> int:
    return (d - EPOCH).days


@dataclass(frozen=True)
class Params:
    raw: dict

    @property
    def extract_day(self) -> int:
        return day(self.raw["extract_date"])

    @property
    def data_start_day(self) -> int:
        return day(self.raw["data_start"])

    def age_band_probs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = self.raw["age_sex"]
        lower = np.array(a["band_lower"], dtype=float)
        upper = np.append(lower[1:], a["oldest"])
        p = np.array(a["percent"], dtype=float)
        return lower, upper, p / p.sum()

    def female_fraction(self) -> np.ndarray:
        return np.array(self.raw["age_sex"]["female_fraction"], dtype=float)

    def census_group_shares(self, setting: str) -> dict[str, float]:
        groups = {k: v for k, v in self.raw["ethnicity"]["census_groups"][setting].items() if k != "source"}
        total = sum(groups.values())
        return {k: v / total for k, v in groups.items()}

    def ethnic_probs(self, setting: str) -> np.ndarray:
        """Probability of each NHS ethnic category (order of ``ETHNIC_CODES``) at a kind of site."""
        eth = self.raw["ethnicity"]
        probs = dict.fromkeys(ETHNIC_CODES, 0.0)
        for group, share in self.census_group_shares(setting).items():
            split = eth["split"][group]
            if abs(sum(split.values()) - 1) > 1e-6:
                raise ParamsError(f"ethnicity.split.{group} must sum to 1")
            for code, s in split.items():
                probs[code] += (1 - eth["not_stated"]) * share * s
        probs["Z"] = eth["not_stated"]
        return np.array([probs[c] for c in ETHNIC_CODES])

    def imd_probs(self, setting: str) -> np.ndarray:
        p = np.array(self.raw["imd_quintile"][setting], dtype=float)
        return p / p.sum()

    @property
    def conditions(self) -> dict[str, dict]:
        return self.raw["conditions"]

    @property
    def condition_names(self) -> tuple[str, ...]:
        return tuple(self.raw["conditions"])

    def risk_band(self, age_years: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.array(self.raw["risk_age_bands"]), age_years, side="right") - 1

    def check(self) -> Params:
        """Every code named must be in the embedded vocabulary; shares must be proportions."""
        for name, c in self.conditions.items():
            for key in ("code", "icd10"):
                _known(c[key], f"conditions.{name}.{key}")
            for stage, icd in c.get("stage_icd10", {}).items():
                _known(stage, f"conditions.{name}.stage_icd10")
                _known(icd, f"conditions.{name}.stage_icd10")
            if len(c["age_rr"]) != len(self.raw["risk_age_bands"]):
                raise ParamsError(f"conditions.{name}.age_rr needs one value per risk_age_bands entry")
        for cond, drugs in self.raw["prescribing"].items():
            if cond not in self.conditions:
                raise ParamsError(f"prescribing.{cond}: no such condition")
            for d in flat_drugs(drugs):
                _known(d["code"], f"prescribing.{cond}")
        for setting in SETTINGS:
            if abs(self.ethnic_probs(setting).sum() - 1) > 1e-6:
                raise ParamsError(f"ethnicity for {setting} does not sum to 1")
        return self


def flat_drugs(entries: list[dict]) -> list[dict]:
    out: list[dict] = []
    for e in entries:
        out.extend(e.get("one_of", [e]))
    return out


def _known(ref: str, where: str) -> None:
    try:
        vocabulary.concept_id(ref)
    except vocabulary.UnknownConceptError:
        raise ParamsError(f"{PARAMS_FILE.name}: {where}: {ref!r} is not in the embedded vocabulary") from None


@cache
def load_params(path: Path = PARAMS_FILE) -> Params:
    with Path(path).open(encoding="utf-8") as f:
        return Params(yaml.safe_load(f)).check()
