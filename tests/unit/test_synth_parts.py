"""Parts of the generator that have properties of their own: parameter checks, site plans,
the merging of hospital visits into spells of care."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phta.cdm.synth.events import Rows, expand
from phta.cdm.synth.hospital import _spells
from phta.cdm.synth.params import Params, ParamsError, load_params
from phta.cdm.synth.sites import plan_sites


def test_the_parameter_file_is_consistent_and_names_its_sources():
    params = load_params()
    for name, c in params.conditions.items():
        assert c["source"].strip(), name
        assert 0 < c["prevalence"] < 0.5, name
    for setting in ("urban", "shire"):
        assert abs(params.ethnic_probs(setting).sum() - 1) < 1e-9
        assert abs(params.imd_probs(setting).sum() - 1) < 1e-9
    urban = params.census_group_shares("urban")
    assert abs(urban["White"] - 1_793_077 / (1_793_077 + 667_390 + 236_022 + 223_175)) < 1e-9


def test_every_parameter_variant_is_a_sourced_vcf_record_inside_its_gene():
    raw = load_params().raw
    spans = raw["gene_spans"]
    # The issue names these genes; each must carry at least one real pathogenic variant.
    assert {"BRCA1", "BRCA2", "MLH1", "LDLR"} <= {v["gene"] for v in raw["variants"]}
    for v in raw["variants"]:
        span = spans[v["gene"]]
        assert span["chrom"] == v["chrom"] and span["start"] <= v["pos"] <= span["end"], v
        assert set(v["ref"]) <= set("ACGT") and set(v["alt"]) <= set("ACGT") and v["ref"] != v["alt"]
        if len(v["ref"]) != len(v["alt"]):
            assert v["ref"][0] == v["alt"][0], "indels carry the preceding reference base"
        assert v["hgvs"].startswith("NM_") and v["source"].strip() and 0 < v["carrier_rate"] < 0.05


def test_an_unknown_code_in_the_parameters_is_a_clear_error():
    raw = copy.deepcopy(load_params().raw)
    raw["conditions"]["t2dm"]["code"] = "SNOMED:999999"
    with pytest.raises(ParamsError, match=r"conditions\.t2dm\.code: 'SNOMED:999999'"):
        Params(raw).check()


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7, 30])
def test_site_plans_mix_kinds_and_settings(k):
    sites = plan_sites(k)
    assert len(sites) == k and len({s.code for s in sites}) == k
    assert sum(s.kind == "gp" for s in sites) == (k + 1) // 2
    assert sites[0].setting == "urban"
    if k >= 3:
        assert {s.setting for s in sites if s.kind == "gp"} == {"urban", "shire"}


def test_site_count_must_be_positive():
    with pytest.raises(ValueError, match="--sites"):
        plan_sites(0)


def test_expand():
    owner, pos = expand(np.array([2, 0, 3]))
    assert owner.tolist() == [0, 0, 2, 2, 2] and pos.tolist() == [0, 1, 0, 1, 2]


spans = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 400), st.integers(0, 20)), min_size=1, max_size=60)


@settings(max_examples=200)
@given(spans)
def test_spells_cover_every_visit_and_never_overlap(visits):
    person = np.array([v[0] for v in visits])
    start = np.array([v[1] for v in visits])
    end = start + np.array([v[2] for v in visits])
    rows = Rows()
    _spells(person, start, end, rows)
    out = rows.columns("observation_period")
    sp, ss, se = out["person"], out["observation_period_start_date"], out["observation_period_end_date"]
    for p, a, b in zip(person, start, end, strict=True):
        assert ((sp == p) & (ss <= a) & (se >= b)).sum() == 1
    for p in np.unique(sp):
        order = np.argsort(ss[sp == p])
        s_, e_ = ss[sp == p][order], se[sp == p][order]
        assert (s_[1:] > e_[:-1]).all()
    # every spell starts and ends at a visit's start and end
    assert set(ss) <= set(start) and set(se) <= set(end)
