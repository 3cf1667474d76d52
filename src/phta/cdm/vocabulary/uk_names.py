"""UK names for medicines on pages: the dm+d / British Approved Name, not the US one.

RxNorm (the OMOP standard for drug ingredients) names medicines as in the US: albuterol,
acetaminophen, epinephrine. NHS clinicians, dm+d and the BNF use the UK names: salbutamol,
paracetamol, adrenaline. The concept rows keep RxNorm's names (a store must match Athena);
what people read goes through ``uk_name``. A test checks that no drug the vocabulary offers is
shown under a US name listed here.
"""

from __future__ import annotations

import re

#: US (USAN / RxNorm) name -> UK (BAN / dm+d) name, lower case. The common differences, and
#: every one that occurs in the embedded vocabulary.
US_TO_UK = {
    "acetaminophen": "paracetamol",
    "albuterol": "salbutamol",
    "beclomethasone": "beclometasone",
    "cyclosporine": "ciclosporin",
    "dicyclomine": "dicycloverine",
    "epinephrine": "adrenaline",
    "glyburide": "glibenclamide",
    "isoproterenol": "isoprenaline",
    "levalbuterol": "levosalbutamol",
    "meperidine": "pethidine",
    "nitroglycerin": "glyceryl trinitrate",
    "norepinephrine": "noradrenaline",
    "rifampin": "rifampicin",
    "acetylsalicylic acid": "aspirin",
    "tiotropium bromide": "tiotropium",
}
_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, US_TO_UK), key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


def _same_case(original: str, replacement: str) -> str:
    if original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def uk_name(name: str) -> str:
    """``name`` with US medicine names replaced by the UK ones, keeping the case of each word."""
    return _PATTERN.sub(lambda m: _same_case(m.group(0), US_TO_UK[m.group(0).lower()]), name)


def display_name(name: str) -> str:
    """A medicine's name as a page shows it: the UK name, with a capital first letter (RxNorm's
    ingredient names are a mix of "Simvastatin" and "metformin")."""
    uk = uk_name(name)
    return uk[:1].upper() + uk[1:]
