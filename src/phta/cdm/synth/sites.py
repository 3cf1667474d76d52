"""The sites of a synthetic region: GP federations (every person's home) and hospital trusts.

Codes are synthetic ODS-style codes ("X" prefix: no real organisation has them). Urban sites
(the WMCA conurbation) take the urban ethnicity and IMD parameters; shire sites the shire ones.
"""

from __future__ import annotations

from dataclasses import dataclass

URBAN_PLACES = ("Birmingham", "Wolverhampton", "Coventry", "Sandwell", "Walsall", "Dudley", "Solihull")
SHIRE_PLACES = ("Shropshire", "Herefordshire", "Worcestershire", "Staffordshire", "Warwickshire", "Telford")
URBAN_GP_WEIGHT = 1.5  # urban federations are larger


@dataclass(frozen=True)
class Site:
    index: int
    code: str
    name: str
    kind: str  # "gp" (GP federation) or "trust" (hospital trust)
    setting: str  # "urban" or "shire"

    @property
    def weight(self) -> float:
        return URBAN_GP_WEIGHT if self.setting == "urban" else 1.0


def plan_sites(k: int) -> list[Site]:
    """K sites: ceil(K/2) GP federations then the trusts; each kind alternates urban, shire, ..."""
    if k < 1:
        raise ValueError("--sites must be at least 1")
    n_gp = (k + 1) // 2
    sites: list[Site] = []
    for kind, count in (("gp", n_gp), ("trust", k - n_gp)):
        for i in range(count):
            setting = "urban" if i % 2 == 0 else "shire"
            places = URBAN_PLACES if setting == "urban" else SHIRE_PLACES
            place = places[(i // 2) % len(places)]
            suffix = "" if i // 2 < len(places) else f" {i // 2 // len(places) + 1}"
            label = "GP Federation" if kind == "gp" else "Hospitals NHS Trust"
            code = f"X{'G' if kind == 'gp' else 'T'}{i + 1:03d}"
            sites.append(Site(len(sites), code, f"{place}{suffix} {label} (synthetic)", kind, setting))
    return sites
