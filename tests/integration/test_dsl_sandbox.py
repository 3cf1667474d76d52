"""A DSL file runs in a locked-down child process: only the IR comes back."""

from __future__ import annotations

import pytest

from phta.cdm.store import Store
from phta.execution.dsl_sandbox import DSLFileError, compile_dsl_file, compile_dsl_source
from phta.query import ir
from tests.dsl_sandbox_support import _dsl_sandbox_available  # noqa: F401 - autouse fixture

HEADER = "from phta.query.dsl import *\n"
POPULATION = 'population = cohort(index_date=conditions.first_date(), rules={NAME: conditions.exists()})\n'


def rule_name_of(source: str) -> str:
    cohort = compile_dsl_source(HEADER + source)
    return cohort.rules[0].name


def test_a_dsl_file_becomes_a_validated_cohort(tmp_path):
    path = tmp_path / "t2dm.py"
    path.write_text(HEADER + "t2dm = conditions.where(codes(201826, descendants=True))\n"
                    "population = cohort(index_date=t2dm.first_date(), strata=['sex'])\n")
    cohort = compile_dsl_file(path)
    assert isinstance(cohort, ir.Cohort) and cohort.strata == ("sex",)


def test_cannot_read_environment_secrets(monkeypatch):
    monkeypatch.setenv("PHTA_SECRET_KEY", "s3cret-value")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "other-secret")
    source = "import os\nNAME = os.environ.get('PHTA_SECRET_KEY', '') + os.environ.get('AWS_SECRET_ACCESS_KEY', '') + 'x'\n"
    assert rule_name_of(source + POPULATION) == "x"


def test_cannot_read_the_parents_environment_through_proc():
    source = "import os\nNAME = open(f'/proc/{os.getppid()}/environ').read()\n"
    with pytest.raises(DSLFileError, match="not allowed in a query definition: opening"):
        compile_dsl_source(HEADER + source + POPULATION)


def test_cannot_open_a_socket():
    source = "import socket\nsocket.create_connection(('127.0.0.1', 80))\n"
    with pytest.raises(DSLFileError, match=r"not allowed in a query definition: socket"):
        compile_dsl_source(HEADER + source)


def test_cannot_start_a_process_or_use_ctypes():
    with pytest.raises(DSLFileError, match="not allowed"):
        compile_dsl_source(HEADER + "import subprocess\nsubprocess.run(['id'])\n")
    with pytest.raises(DSLFileError, match="not allowed"):
        compile_dsl_source(HEADER + "import os\nos.system('id')\n")
    with pytest.raises(DSLFileError, match="not allowed"):
        compile_dsl_source(HEADER + "import ctypes\nctypes.CDLL(None)\n")


def test_cannot_read_a_store_even_knowing_its_path(tmp_path):
    store = Store.create(tmp_path / "node", node_name="n")
    for code in (f"open({str(store.db_path)!r}, 'rb').read()", f"import os\nos.listdir({str(store.path)!r})"):
        with pytest.raises(DSLFileError, match="not allowed in a query definition"):
            compile_dsl_source(HEADER + code + "\n")


def test_cannot_write_files():
    with pytest.raises(DSLFileError, match="not allowed"):
        compile_dsl_source(HEADER + "open('out.txt', 'w').write('x')\n")


def test_the_working_directory_is_the_sandboxs_own_tmpfs_and_cannot_be_listed():
    assert rule_name_of("import os\nNAME = os.getcwd()\n" + POPULATION) == "/tmp"
    with pytest.raises(DSLFileError, match="listing a directory"):
        compile_dsl_source(HEADER + "import os\nos.listdir('.')\n")


def test_endless_loops_time_out():
    with pytest.raises(DSLFileError, match="took longer than 2 seconds"):
        compile_dsl_source(HEADER + "while True:\n    pass\n", timeout=2)


def test_memory_is_limited():
    with pytest.raises(DSLFileError, match=r"MemoryError|stopped by the sandbox"):
        compile_dsl_source(HEADER + "x = bytearray(4 * 1024 ** 3)\n")


def test_type_errors_name_the_users_line():
    with pytest.raises(DSLFileError, match=r"query\.py, line 3: cannot compare a date with a whole number"):
        compile_dsl_source(HEADER + "t = conditions.first_date()\nx = t > 5\n")


def test_python_logic_on_series_is_explained():
    with pytest.raises(DSLFileError, match=r"line 2: .*combine conditions with & \| ~"):
        compile_dsl_source(HEADER + "x = conditions.exists() and drugs.exists()\n")


def test_the_users_own_traceback_is_shown():
    with pytest.raises(DSLFileError, match=r'File "query.py", line 2[\s\S]*ZeroDivisionError'):
        compile_dsl_source(HEADER + "1 / 0\n")


def test_a_file_without_population_is_explained():
    with pytest.raises(DSLFileError, match=r"define `population = cohort\(...\)`"):
        compile_dsl_source(HEADER + "x = 1\n")


def test_source_that_is_not_valid_text_is_an_error_naming_the_file():
    with pytest.raises(DSLFileError, match=r"query\.py: the source is not valid text \(character 5\)"):
        compile_dsl_source("x = '\ud800'\n")
