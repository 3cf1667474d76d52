"""The parent's reading of what the DSL sandbox's child printed: whatever the (hostile) child writes,
the parent gets a validated cohort or a DSLFileError that is short, printable and about the user's
own file; never another exception."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from phta.execution.dsl_sandbox import MESSAGE_CHARS, DSLFileError, _cohort_of

SOURCE = "from phta.query.dsl import *\nx = 1 / 0\n"
# the whole error: a file line, the user's source line (capped at 200), the type and the message
LONGEST_ERROR = MESSAGE_CHARS + 400
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
long_texts = st.tuples(st.integers(0, 3000), st.text(max_size=5)).map(lambda t: "\x1b" * (t[0] % 7) + "x" * t[0] + t[1])
errors = st.fixed_dictionaries({}, optional={"type": json_values | st.text(max_size=20),
                                             "line": json_values | st.integers(),
                                             "message": json_values | st.text(max_size=40) | long_texts})


def outcome_of(out: bytes, returncode: int = 0) -> str:
    try:
        _cohort_of("query.py", SOURCE, returncode, out, b"")
    except DSLFileError as e:
        return str(e)
    return ""


def assert_safe(message: str) -> None:
    assert len(message) <= LONGEST_ERROR
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", message)


@settings(max_examples=150)
@given(errors)
def test_any_error_the_child_reports_becomes_a_short_printable_message(error):
    message = outcome_of(json.dumps({"error": error}).encode())
    assert message
    assert_safe(message)


@settings(max_examples=100)
@given(json_values, st.integers(-64, 255))
def test_any_other_output_is_refused_without_another_exception(value, returncode):
    assert_safe(outcome_of(json.dumps(value).encode(), returncode) or "")


@settings(max_examples=50)
@given(st.binary(max_size=200))
def test_bytes_that_are_not_json_are_refused(raw):
    assert_safe(outcome_of(raw) or "")


def test_the_source_line_comes_from_the_parents_copy_and_an_odd_type_name_is_replaced():
    message = outcome_of(json.dumps({"error": {"type": "Evil\nType", "line": 2, "message": "boom"}}).encode())
    assert message == 'File "query.py", line 2\n    x = 1 / 0\nError: boom'
    assert outcome_of(json.dumps({"error": {"type": "E", "line": 99, "message": "m"}}).encode()) == \
        'File "query.py"\nE: m'
