"""The tutorial's cohort file is a valid DSL file (it runs in the sandbox and gives a Cohort)."""

import re

from phta.execution.dsl_sandbox import compile_dsl_source
from tests.components import REPO_ROOT


def test_tutorial_cohort_compiles():
    text = (REPO_ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    source = next(b for b in blocks if "population = cohort(" in b)
    cohort = compile_dsl_source(source, "t2dm.py")
    assert [r.name for r in cohort.rules] == ["adult at diagnosis", "metformin within a year"]
    assert cohort.strata == ("sex", "age_band", "ethnic_group", "imd_quintile", "site")
