"""Load a cohort definition file (PHTA JSON or a DSL .py file) and show its compiled SQL.

A DSL file is never imported here: it goes through :mod:`phta.execution.dsl_sandbox`.
"""

from __future__ import annotations

from pathlib import Path

from phta.execution.dsl_sandbox import DSLFileError, compile_dsl_file
from phta.query import ir, serial
from phta.query.cohort_compiler import compile_cohort


class DefinitionError(ValueError):
    """A definition file cannot be read or is not a valid cohort; the message names the file."""


def load_definition(path: str | Path) -> ir.Cohort:
    path = Path(path)
    if not path.is_file():
        raise DefinitionError(f"{path}: no such file")
    if path.suffix == ".py":
        try:
            return compile_dsl_file(path)
        except DSLFileError as e:
            raise DefinitionError(str(e)) from None
    if path.suffix == ".json":
        try:
            node = serial.from_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise DefinitionError(f"{path}: {e}") from None
        except ir.IRError as e:
            raise DefinitionError(f"{path}: {e}") from None
        if not isinstance(node, ir.Cohort):
            raise DefinitionError(f"{path}: expected a Cohort query, got {type(node).__name__}")
        return node
    raise DefinitionError(f"{path}: expected a .json (PHTA query) or .py (DSL) file")


def compiled_sql(cohort: ir.Cohort, dialect: str = "duckdb") -> dict[str, tuple[str, dict]]:
    """The statements a cohort compiles to, with placeholders, and their bound parameters."""
    compiled = compile_cohort(cohort, dialect)
    return {name: (stmt.sql(pretty=True), stmt.params)
            for name, stmt in (("membership", compiled.membership), ("attrition", compiled.attrition),
                               ("strata", compiled.strata))}
