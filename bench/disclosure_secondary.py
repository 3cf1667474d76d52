"""Time secondary suppression (with its LP audit) on larger 2-D tables; run by hand.

    .venv/bin/python bench/disclosure_secondary.py
"""

import random
import statistics
import time

from phta.disclosure.check import check
from phta.disclosure.policy import Policy
from phta.disclosure.results import Dimension, FrequencyTable


def table(rows: int, cols: int, rng: random.Random) -> FrequencyTable:
    dims = (Dimension("r", tuple(f"r{i}" for i in range(rows))), Dimension("c", tuple(f"c{j}" for j in range(cols))))
    counts = tuple(rng.choice([rng.randint(0, 12), rng.randint(10, 200)]) for _ in range(rows * cols))
    return FrequencyTable(dimensions=dims, counts=counts)


def main() -> None:
    rng = random.Random(1)
    for rows, cols in ((4, 4), (6, 6), (10, 10), (15, 15)):
        times, suppressed = [], []
        for _ in range(5):
            t = table(rows, cols, rng)
            start = time.perf_counter()
            out = check(t, Policy())
            times.append(time.perf_counter() - start)
            suppressed.append(len(out.suppressed_cells()))
        print(f"{rows}x{cols}: median {statistics.median(times) * 1000:.0f} ms, "
              f"median suppressed cells {statistics.median(suppressed)} of {(rows + 1) * (cols + 1)}")


if __name__ == "__main__":
    main()
