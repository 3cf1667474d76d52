"""Properties of the loader (Hypothesis): random valid rows round-trip exactly; random corruption
is quarantined at the right line and field, never dropped; rows read = loaded + quarantined."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phta.cdm.ingest import load_omop_csv
from tests.omop_files import quarantine, rows

HEADER = ["person_id", "gender_concept_id", "year_of_birth", "race_concept_id",
          "ethnicity_concept_id", "person_source_value", "birth_datetime"]

# Text that needs quoting in CSV (commas, quotes, line breaks) but no NUL or lone CR.
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters=',"\n'),
    max_size=12,
)

CORRUPTIONS = {
    "year_of_birth": ("19x0", "not a whole number (integer field)"),
    "gender_concept_id": ("", "missing required value"),
    "birth_datetime": ("2001-02-30", "impossible date-time (no such day or time)"),
}


@st.composite
def person_rows(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    out = []
    for i in range(n):
        out.append({
            "person_id": i + 1,
            "gender_concept_id": draw(st.sampled_from([8507, 8532, 8551])),
            "year_of_birth": draw(st.integers(min_value=1900, max_value=2024)),
            "race_concept_id": 0,
            "ethnicity_concept_id": 0,
            "person_source_value": draw(TEXT),
            "birth_datetime": draw(st.sampled_from(["", "1999-12-31 23:59:59", "2000-01-01"])),
            "corrupt": draw(st.sampled_from([None, None, None, *CORRUPTIONS])),
        })
    return out


def _write(folder: Path, people: list[dict]) -> list[int]:
    """Write person.csv; return each row's physical start line."""
    folder.mkdir()
    lines, line = [], 2
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for p in people:
        values = [p[h] for h in HEADER]
        if p["corrupt"]:
            values[HEADER.index(p["corrupt"])] = CORRUPTIONS[p["corrupt"]][0]
        start = buf.tell()
        writer.writerow(values)
        lines.append(line)
        line += buf.getvalue()[start:].count("\n")
    (folder / "person.csv").write_text(buf.getvalue(), encoding="utf-8", newline="")
    return lines


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(person_rows())
def test_random_rows_round_trip_and_corruption_is_quarantined_never_dropped(people):
    with tempfile.TemporaryDirectory() as tmp:
        src, store = Path(tmp) / "src", Path(tmp) / "store"
        lines = _write(src, people)
        report = load_omop_csv(src, store, create=True)
        (f,) = report.files
        bad = [(p, line) for p, line in zip(people, lines, strict=True) if p["corrupt"]]
        good = [p for p in people if not p["corrupt"]]
        assert f.rows_read == len(people) == f.rows_loaded + f.rows_quarantined
        assert f.rows_quarantined == len(bad)
        assert quarantine(store) == [
            ("person.csv", line, p["corrupt"], CORRUPTIONS[p["corrupt"]][1]) for p, line in bad
        ]
        loaded = rows(store, "SELECT person_id, gender_concept_id, year_of_birth, person_source_value "
                      "FROM person ORDER BY person_id")
        assert loaded == [
            (p["person_id"], p["gender_concept_id"], p["year_of_birth"], p["person_source_value"] or None)
            for p in good
        ]
