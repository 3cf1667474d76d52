"""What the library shows of a store's data-quality runs: everything to its custodians; failing
row counts protected for everyone else; charts drawn on the server."""

from __future__ import annotations

import pytest

from phta.catalogue import charts, stores
from phta.cdm import quality
from phta.cdm.store import Store
from phta.cdm.synth.generate import generate


@pytest.fixture(scope="module")
def checked_store(tmp_path_factory):
    result = generate(tmp_path_factory.mktemp("dq") / "stores", patients=1_000, sites=1, seed=8, key=b"v" * 32,
                      dirty=True)
    path = result.store_path(result.sites[0])
    store = Store.open(path)
    quality.record_run(store, quality.run_checks(store))
    quality.record_run(store, quality.run_checks(store))
    return path


def test_custodians_see_exact_counts_others_protected_ones(checked_store):
    exact = stores.quality(checked_store, protected=False)
    shown = stores.quality(checked_store, protected=True)
    assert [t["run_id"] for t in exact["trend"]] == [1, 2]
    for c, original in zip(shown["latest"]["checks"], exact["latest"]["checks"], strict=True):
        assert c["percent"] is None and "total_rows" not in c
        if original["failing_rows"] and original["failing_rows"] < 10:
            assert c["suppressed"] and c["failing_rows"] is None  # small counts never shown
        if c["failing_rows"] is not None:
            assert c["failing_rows"] % 5 == 0  # rounded
        assert c["passed"] == original["passed"]


def test_charts_are_svg_with_escaped_labels():
    svg = str(charts.category_bars({"<script>": {"passed": 3, "failed": 1}}))
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    line = str(charts.trend_line([{"run_id": 1, "failed": 2, "checks": 9}, {"run_id": 2, "failed": 1, "checks": 9}]))
    assert "<polyline" in line


@pytest.mark.parametrize("protected", [True, False])
def test_the_quality_tab_renders_a_run(checked_store, protected):
    from phta.web.library import _charts
    from phta.web.rendering import templates

    data = stores.quality(checked_store, protected=protected)
    html = templates.get_template("_quality_checks.html").render(quality=data, charts=_charts(data),
                                                                  protected=protected)
    assert 'id="quality-by-category"' in html and 'id="quality-trend"' in html
    assert "isPrimaryKey" in html  # the injected duplicates fail
    assert ("disclosure-controlled" in html) is protected
