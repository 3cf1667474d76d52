"""Where UK facts live in an OMOP CDM store. One place, so loaders, the generator and the query
compilers agree. Documented in docs/uk-facts-in-omop.md.

- **Sex**: ``person.gender_concept_id`` (8507 male, 8532 female, 8551 unknown), as OMOP.
- **NHS ethnic category** (NHS Data Dictionary ETHNIC CATEGORY, 2001 census codes A–Z):
  ``person.race_source_value`` holds the one-letter code; ``person.race_concept_id`` holds the
  local concept id for it (OMOP's race vocabulary is US-centred). OMOP's ``ethnicity_concept_id``
  means Hispanic / not Hispanic and is left 0 (no matching concept).
- **ONS 5-group rollup** of ethnic category: ``ETHNIC_GROUP_OF`` below.
- **IMD quintile** (English Index of Multiple Deprivation, 1 = most deprived): an ``observation``
  row with ``observation_concept_id = IMD_QUINTILE_CONCEPT_ID`` and ``value_as_number`` 1–5.
- **Regional person key**: ``person.person_source_value`` holds the keyed pseudonym (HMAC) of the
  NHS number under the regional linkage key, so nodes recognise the same person; the hub never
  holds the key. Computed by ``phta.cdm.pseudonymise``; ``person_id`` is local to each store.
- **Site**: ``person.care_site_id`` -> ``care_site.care_site_source_value`` (the site's ODS code).
- **Observation periods**: GP registration periods (period_type_concept_id = 32817 "EHR") at GP
  sites; hospital spells of care at trusts (overlapping visit spans merged).
- **Germline variants**: the PHTA extension table ``variant`` (``phta.cdm.extensions``).
"""

from __future__ import annotations

GENDER_MALE = 8507
GENDER_FEMALE = 8532
GENDER_UNKNOWN = 8551
# The sex a gender concept names; any other concept (or none) is "unknown".
SEX_OF_GENDER = {GENDER_MALE: "male", GENDER_FEMALE: "female"}
EHR_TYPE_CONCEPT_ID = 32817  # the type concept of every row PHTA writes from an EHR extract

LOCAL_CONCEPT_BASE = 2_000_000_000  # local concept ids (not in OHDSI Athena) start here

# NHS ethnic category code -> (description, ONS 5-group)
NHS_ETHNIC_CATEGORIES: dict[str, tuple[str, str]] = {
    "A": ("White - British", "White"),
    "B": ("White - Irish", "White"),
    "C": ("White - Any other White background", "White"),
    "D": ("Mixed - White and Black Caribbean", "Mixed"),
    "E": ("Mixed - White and Black African", "Mixed"),
    "F": ("Mixed - White and Asian", "Mixed"),
    "G": ("Mixed - Any other mixed background", "Mixed"),
    "H": ("Asian or Asian British - Indian", "Asian"),
    "J": ("Asian or Asian British - Pakistani", "Asian"),
    "K": ("Asian or Asian British - Bangladeshi", "Asian"),
    "L": ("Asian or Asian British - Any other Asian background", "Asian"),
    "M": ("Black or Black British - Caribbean", "Black"),
    "N": ("Black or Black British - African", "Black"),
    "P": ("Black or Black British - Any other Black background", "Black"),
    "R": ("Other Ethnic Groups - Chinese", "Other"),
    "S": ("Other Ethnic Groups - Any other ethnic group", "Other"),
    "Z": ("Not stated", "Unknown"),
}
ETHNIC_GROUP_OF: dict[str, str] = {code: group for code, (_, group) in NHS_ETHNIC_CATEGORIES.items()}
ONS_ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Other", "Unknown")

# Local concept ids: 2_000_000_100 + position of the code in NHS_ETHNIC_CATEGORIES.
NHS_ETHNIC_CATEGORY_CONCEPT: dict[str, int] = {
    code: LOCAL_CONCEPT_BASE + 100 + i for i, code in enumerate(NHS_ETHNIC_CATEGORIES)
}

IMD_QUINTILE_CONCEPT_ID = LOCAL_CONCEPT_BASE + 1  # observation: "IMD quintile", value 1..5
IMD_QUINTILES = (1, 2, 3, 4, 5)  # 1 = most deprived
