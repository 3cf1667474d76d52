"""Run ACRO (PyPI ``acro``) on microdata cases and write which cells fail which check, as JSON.

Run in a subprocess by test_acro_conformance.py so ACRO's import-time changes to logging and
warning filters stay out of the test process. Usage: ``python acro_oracle.py IN.json OUT.json``.
Each case: {"params": {...ACRO risk appetite...}, "rows": [{"a": .., "b": .., "v": ..}, ...]}.
"""

import json
import logging
import sys
from pathlib import Path

import pandas as pd
from acro import ACRO

CHECKS = {"MinimumThresholdCheck": "threshold", "NKCheck": "dominance", "PPercentCheck": "p_percent"}


def failing_cells(acro: ACRO, table: pd.DataFrame) -> dict[str, list[list[str]]]:
    output = acro.results.results[f"output_{acro.results.output_id - 1}"]
    found = {}
    for check, rule in CHECKS.items():
        cells = output.sdc["cells"].get(check, [])
        found[rule] = sorted([str(table.index[r]), str(table.columns[c])] for r, c in cells)
    return found


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    logging.disable(logging.CRITICAL)
    results = []
    for case in cases:
        acro = ACRO(suppress=False)
        acro.sdc_checks.risk_appetite.update(case["params"])
        acro.config.update(case["params"])
        df = pd.DataFrame(case["rows"])
        counts = acro.crosstab(df.a, df.b)
        count_cells = failing_cells(acro, counts)
        sums = acro.crosstab(df.a, df.b, values=df.v, aggfunc="sum")
        results.append({"counts": count_cells, "sums": failing_cells(acro, sums)})
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
