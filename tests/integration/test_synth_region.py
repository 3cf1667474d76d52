"""The synthetic region: determinism, marginals against the parameter file, referential
integrity, no events outside observation or after death, linkage, variants, --dirty faults."""

import hashlib
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

from phta.cdm import uk, vocabulary
from phta.cdm.extensions import VARIANT_COLUMNS
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.synth import MANIFEST, SynthError, generate
from phta.cdm.synth.dirty import FAULT_KINDS
from phta.cdm.synth.params import ETHNIC_CODES, load_params

KEY = b"test-linkage-key-0123456789abcdef"
N, K = 20_000, 4
CLINICAL = {  # table -> date column
    "condition_occurrence": "condition_start_date",
    "drug_exposure": "drug_exposure_start_date",
    "measurement": "measurement_date",
    "procedure_occurrence": "procedure_date",
    "visit_occurrence": "visit_start_date",
    "observation": "observation_date",
}


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    out = tmp_path_factory.mktemp("region")
    result = generate(out, patients=N, sites=K, seed=7, key=KEY, block_size=6_000)
    return result


def _con(result, code):
    return duckdb.connect(str(result.out / code / "cdm.duckdb"), read_only=True)


def _gp_codes(result):
    return [s.code for s in result.sites if s.kind == "gp"]


def _table_digest(con, table):
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    return hashlib.sha256(repr((cols, rows)).encode()).hexdigest()


def test_sites_mix_gp_federations_and_trusts_and_hold_n_persons(region):
    kinds = [s.kind for s in region.sites]
    assert kinds.count("gp") == 2 and kinds.count("trust") == 2
    assert sum(region.persons[c] for c in _gp_codes(region)) == N
    manifest = json.loads((region.out / MANIFEST).read_text())
    assert manifest["patients"] == N and len(manifest["sites"]) == K
    for s in region.sites:
        with _con(region, s.code) as con:
            assert con.execute("SELECT care_site_source_value FROM care_site").fetchall() == [(s.code,)]
            assert con.execute("SELECT count(*) FROM concept").fetchone()[0] == len(vocabulary.concepts())


def test_same_seed_gives_identical_stores(region, tmp_path):
    again = generate(tmp_path / "again", patients=N, sites=K, seed=7, key=KEY, block_size=6_000)
    other = generate(tmp_path / "other", patients=2_000, sites=K, seed=8, key=KEY)
    for s in region.sites:
        with _con(region, s.code) as a, _con(again, s.code) as b:
            for table in ("person", "condition_occurrence", "drug_exposure", "measurement", "visit_occurrence",
                          "observation_period", "death", "variant"):
                assert _table_digest(a, table) == _table_digest(b, table), f"{s.code}.{table} differs"
    with _con(region, "XG001") as a, _con(other, "XG001") as b:
        assert _table_digest(a, "person") != _table_digest(b, "person")


def test_refuses_to_overwrite_a_region(region):
    with pytest.raises(SynthError, match="already holds"):
        generate(region.out, patients=10, sites=1, seed=1, key=KEY)


def _persons(region):
    frames = []
    for code in _gp_codes(region):
        with _con(region, code) as con:
            frames.append(con.execute(
                "SELECT p.person_id, p.gender_concept_id, p.year_of_birth, p.race_source_value, o.value_as_number "
                "FROM person p JOIN observation o ON o.person_id = p.person_id AND o.observation_concept_id = ?",
                [uk.IMD_QUINTILE_CONCEPT_ID]).fetchnumpy() | {"site": code})
    return frames


def test_ethnicity_and_imd_marginals_match_the_parameters_per_kind_of_site(region):
    params = load_params()
    for s in region.sites:
        if s.kind != "gp":
            continue
        with _con(region, s.code) as con:
            eth = dict(con.execute("SELECT race_source_value, count(*) FROM person GROUP BY 1").fetchall())
            imd = dict(con.execute("SELECT value_as_number, count(*) FROM observation WHERE observation_concept_id = ? GROUP BY 1",
                                   [uk.IMD_QUINTILE_CONCEPT_ID]).fetchall())
        n = sum(eth.values())
        expected = dict(zip(ETHNIC_CODES, params.ethnic_probs(s.setting), strict=True))
        for code, p in expected.items():
            got = eth.get(code, 0) / n
            assert abs(got - p) <= 4 * np.sqrt(p * (1 - p) / n) + 0.002, (s.setting, code, got, p)
        for q, p in enumerate(params.imd_probs(s.setting), start=1):
            got = imd.get(float(q), 0) / n
            assert abs(got - p) <= 4 * np.sqrt(p * (1 - p) / n) + 0.002, (s.setting, q, got, p)
        # census broad groups among stated categories: WMCA figures for urban sites
        shares = params.census_group_shares(s.setting)
        stated = n - eth.get("Z", 0)
        asian = sum(eth.get(c, 0) for c in "HJKLR") / stated
        assert abs(asian - shares["Asian"]) < 0.03


def test_urban_sites_are_more_diverse():
    params = load_params()
    assert params.ethnic_probs("urban")[0] < params.ethnic_probs("shire")[0]


def test_age_and_sex_structure_matches_the_parameters(region):
    params = load_params()
    lower, upper, p = params.age_band_probs()
    female_fraction = params.female_fraction()
    extract = params.raw["extract_date"]
    ages, female = [], []
    for code in _gp_codes(region):
        with _con(region, code) as con:
            a, g = con.execute(
                "SELECT list(date_diff('day', make_date(year_of_birth, month_of_birth, day_of_birth), ?::DATE) / 365.25), "
                "list(gender_concept_id) FROM person", [extract]).fetchone()
            ages += a
            female += [x == uk.GENDER_FEMALE for x in g]
    ages, female = np.array(ages), np.array(female)
    n = len(ages)
    expected_female = float((p * female_fraction).sum())
    assert abs(female.mean() - expected_female) <= 4 * np.sqrt(0.25 / n)
    for lo, hi, share in zip(lower, upper, p, strict=True):
        got = np.mean((ages >= lo) & (ages < hi))
        assert abs(got - share) <= 4 * np.sqrt(share * (1 - share) / n) + 0.002, (lo, got, share)


def test_condition_prevalence_within_tolerance_of_the_table(region):
    params = load_params()
    extract_year = params.raw["extract_date"].year
    for s in region.sites:
        if s.kind != "gp":
            continue
        with _con(region, s.code) as con:
            for name, c in params.conditions.items():
                ids = [vocabulary.concept_id(c["code"])] + [vocabulary.concept_id(r) for r in c.get("stages", {})]
                denom, num = con.execute(
                    "SELECT count(*), count(*) FILTER (WHERE person_id IN (SELECT person_id FROM condition_occurrence "
                    "WHERE condition_concept_id IN (SELECT unnest(?)))) FROM person WHERE ? - year_of_birth > ?",
                    [ids, extract_year, c["min_age"]]).fetchone()
                target = c["prevalence"]
                se = np.sqrt(target * (1 - target) / denom)
                assert abs(num / denom - target) <= max(0.15 * target, 4 * se), (s.code, name, num / denom, target)


def test_risk_gradients_show_in_the_data(region):
    with _con(region, "XG001") as con:  # the urban federation
        rate = dict(con.execute(
            "SELECT race_source_value IN ('H','J','K','L') AS asian, avg((person_id IN (SELECT person_id FROM "
            "condition_occurrence WHERE condition_concept_id = ?))::INT) FROM person WHERE 2024 - year_of_birth >= 40 GROUP BY 1",
            [vocabulary.concept_id("SNOMED:44054006")]).fetchall())
    assert rate[True] > 1.5 * rate[False]


def test_referential_integrity(region):
    for s in region.sites:
        with _con(region, s.code) as con:
            for table in (*CLINICAL, "observation_period", "death", "variant"):
                orphans = con.execute(f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                                      "(SELECT 1 FROM person p WHERE p.person_id = t.person_id)").fetchone()[0]
                assert orphans == 0, (s.code, table)
            for table in ("condition_occurrence", "drug_exposure", "measurement", "procedure_occurrence"):
                bad = con.execute(f"SELECT count(*) FROM {table} t WHERE visit_occurrence_id IS NOT NULL AND NOT EXISTS "
                                  "(SELECT 1 FROM visit_occurrence v WHERE v.visit_occurrence_id = t.visit_occurrence_id "
                                  "AND v.person_id = t.person_id)").fetchone()[0]
                assert bad == 0, (s.code, table)
            for table, id_col in (("person", "person_id"), ("visit_occurrence", "visit_occurrence_id"),
                                  ("condition_occurrence", "condition_occurrence_id"), ("measurement", "measurement_id")):
                n, distinct = con.execute(f"SELECT count(*), count(DISTINCT {id_col}) FROM {table}").fetchone()
                assert n == distinct, (s.code, table)
            unknown = con.execute(
                "SELECT count(*) FROM (SELECT condition_concept_id AS c FROM condition_occurrence UNION ALL "
                "SELECT drug_concept_id FROM drug_exposure UNION ALL SELECT measurement_concept_id FROM measurement "
                "UNION ALL SELECT unit_concept_id FROM measurement UNION ALL SELECT procedure_concept_id FROM procedure_occurrence "
                "UNION ALL SELECT visit_concept_id FROM visit_occurrence UNION ALL SELECT race_concept_id FROM person) "
                "WHERE c NOT IN (SELECT concept_id FROM concept)").fetchone()[0]
            assert unknown == 0, s.code


def test_no_event_outside_observation_or_after_death(region):
    for s in region.sites:
        with _con(region, s.code) as con:
            for table, col in CLINICAL.items():
                outside = con.execute(
                    f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM observation_period o WHERE "
                    f"o.person_id = t.person_id AND t.{col} BETWEEN o.observation_period_start_date AND o.observation_period_end_date)"
                ).fetchone()[0]
                after_death = con.execute(
                    f"SELECT count(*) FROM {table} t JOIN death d USING (person_id) WHERE t.{col} > d.death_date").fetchone()[0]
                assert outside == 0 and after_death == 0, (s.code, table, outside, after_death)
            ends = con.execute("SELECT count(*) FROM drug_exposure WHERE drug_exposure_end_date < drug_exposure_start_date "
                               "OR days_supply <= 0 OR quantity <= 0").fetchone()[0]
            assert ends == 0


def test_about_ten_percent_are_linked_across_sites_under_the_same_key(region):
    keys_at = {}
    for s in region.sites:
        with _con(region, s.code) as con:
            keys_at[s.code] = {r[0] for r in con.execute("SELECT person_source_value FROM person").fetchall()}
    gp_keys = set().union(*(keys_at[c] for c in _gp_codes(region)))
    trust_keys = set().union(*(keys_at[s.code] for s in region.sites if s.kind == "trust"))
    assert trust_keys <= gp_keys  # everyone seen at a trust is registered with a GP
    assert 0.08 <= len(trust_keys) / N <= 0.12
    # the key is the keyed pseudonym of a reserved-range NHS number
    expected = set(Pseudonymiser(KEY).pseudonyms(reserved_range_nhs_numbers(N)))
    assert gp_keys == expected
    # trust person ids are local, not the GP's
    with _con(region, "XT001") as con:
        assert con.execute("SELECT min(person_id) FROM person").fetchone()[0] == 1


def test_trust_diagnoses_carry_icd10_source_codes_mapped_to_snomed(region):
    with _con(region, "XT001") as con:
        rows = con.execute("SELECT DISTINCT condition_source_value, condition_concept_id FROM condition_occurrence").fetchall()
    assert rows
    for code, concept in rows:
        assert vocabulary.standard_id(f"ICD10:{code}") == concept


def test_variants_are_valid_vcf_style_records(region):
    params = load_params()
    spans = params.raw["gene_spans"]
    total = 0
    for s in region.sites:
        with _con(region, s.code) as con:
            cols = [r[0] for r in con.execute("DESCRIBE variant").fetchall()]
            assert tuple(cols) == VARIANT_COLUMNS
            for chrom, pos, ref, alt, gene, hgvs, zyg, sig in con.execute(
                    "SELECT chrom, pos, ref, alt, gene, hgvs, zygosity, clinical_significance FROM variant").fetchall():
                total += 1
                assert chrom in {str(i) for i in range(1, 23)} | {"X", "Y", "MT"}
                assert re.fullmatch("[ACGT]+", ref) and re.fullmatch("[ACGT]+", alt) and ref != alt
                if len(ref) != len(alt):
                    assert ref[0] == alt[0], "indels carry the preceding reference base (VCF anchor)"
                span = spans[gene]
                assert span["chrom"] == chrom and span["start"] <= pos <= span["end"]
                assert hgvs.startswith("NM_") and zyg in ("heterozygous", "homozygous")
                assert ("del" in hgvs) == (len(ref) > len(alt)) and ("dup" in hgvs) == (len(alt) > len(ref))
                assert sig == "Pathogenic"
    assert total > 0


def test_dirty_mode_injects_each_fault_kind_at_about_the_stated_rate(tmp_path):
    result = generate(tmp_path / "dirty", patients=10_000, sites=2, seed=3, key=KEY, dirty=True)
    rate = load_params().raw["dirty_rate"]
    faults = json.loads((tmp_path / "dirty" / MANIFEST).read_text())["dirty"]["faults"]
    assert set(faults) == set(FAULT_KINDS)
    with _con(result, "XG001") as con:
        n_cond = con.execute("SELECT count(DISTINCT condition_occurrence_id) FROM condition_occurrence").fetchone()[0]
        dups = con.execute("SELECT count(*) - count(DISTINCT condition_occurrence_id) FROM condition_occurrence").fetchone()[0]
        unmapped = con.execute("SELECT count(*) FROM condition_occurrence WHERE condition_concept_id = 0 "
                               "AND condition_source_value IS NOT NULL").fetchone()[0]
        n_meas = con.execute("SELECT count(*) FROM measurement").fetchone()[0]
        outside = con.execute(
            "SELECT count(*) FROM measurement m WHERE NOT EXISTS (SELECT 1 FROM observation_period o WHERE "
            "o.person_id = m.person_id AND m.measurement_date BETWEEN o.observation_period_start_date AND "
            "o.observation_period_end_date)").fetchone()[0]
        impossible = con.execute("SELECT count(*) FROM measurement WHERE value_as_number < 0 OR value_as_number > 999").fetchone()[0]
    assert dups == faults["duplicate_id"]
    assert outside == faults["outside_observation"] and impossible == faults["impossible_value"]
    for got, denom in ((dups, n_cond), (unmapped, n_cond), (outside, n_meas), (impossible, n_meas)):
        assert abs(got / denom - rate) <= 0.5 * rate


def test_output_holds_no_nhs_numbers(region):
    numbers = {str(n) for n in reserved_range_nhs_numbers(50)}
    for path in Path(region.out).rglob("*"):
        if path.is_file() and path.suffix in (".json",):
            text = path.read_text()
            assert not any(n in text for n in numbers)
    with _con(region, "XG001") as con:
        values = {r[0] for r in con.execute("SELECT person_source_value FROM person LIMIT 100").fetchall()}
    assert not values & numbers
