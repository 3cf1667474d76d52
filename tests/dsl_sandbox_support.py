"""Shared by the DSL sandbox tests."""

import pytest

from tests.components import require_dsl_sandbox


@pytest.fixture(autouse=True, scope="module")
def _dsl_sandbox_available():
    require_dsl_sandbox()


# Disarms the child's Python audit hook from inside, as an attacker would: the hook is a closure
# that only the interpreter's (untracked) hook list references, but gc.get_objects() still finds the
# function, and writing its closure cells raises no audit event. Afterwards only the operating
# system stands in the way, which is what the escape tests need to show.
DISARM = """
import gc, types
for _f in gc.get_objects():
    if type(_f) is types.FunctionType and _f.__qualname__.endswith('<locals>.hook'):
        for _c in _f.__closure__ or ():
            if type(_c.cell_contents) is tuple:
                _c.cell_contents = ('never-an-event',)
            elif callable(_c.cell_contents):
                _c.cell_contents = lambda path: True
"""
