"""Property: whatever single field of whatever entry is changed, verification names that entry."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from phta.audit import record_event, verify_chain
from phta.config import load_settings
from phta.store import open_database

FIELDS = ["created_at", "actor", "action", "target", "details"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 8), data=st.data(), field=st.sampled_from(FIELDS), junk=st.text(min_size=1, max_size=20))
def test_any_single_edit_is_detected_at_that_entry(tmp_path_factory, n, data, field, junk):
    db = open_database(load_settings(tmp_path_factory.mktemp("audit"), env={}))
    for i in range(n):
        record_event(db, actor=f"a{i}", action="prop.event", target=f"t{i}", details={"i": i})
    seq = data.draw(st.integers(1, n))
    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_entry SET {field} = {field} || :junk WHERE seq = :seq"), {"junk": junk, "seq": seq})
    report = verify_chain(db)
    assert not report.ok and report.first_broken_seq == seq
