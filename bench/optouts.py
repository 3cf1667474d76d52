"""Opt-outs at scale: register refresh time, and the cost of applying a register to a cohort query.

Run by hand: ``.venv/bin/python -m bench.optouts [--patients N] [--rate R]``. Generates a synthetic
region (2 sites), writes a national register holding a random ``rate`` share of the region's NHS
numbers, refreshes it into the GP store, and times the same feasibility cohort run with no
opt-out policy (the peer in the same run) and with ``policy_for`` (register lookup + rewrite).
Prints a Markdown table row for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from phta.cdm import data_source, optout_register
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.cdm.synth import generate
from phta.execution import (
    FEASIBILITY,
    ExecutionContext,
    ExecutionPolicy,
    ExecutionRequest,
    execute,
    policy_for,
)
from phta.query import ir

KEY = bytes(range(32))
QUERY = ir.Cohort(ir.DateOfBirth(), (ir.Rule("has a condition", ir.Exists(ir.Events("condition"))),),
                  strata=("sex", "age_band"))


def _median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "region", patients=args.patients, sites=2, seed=1, key=KEY)
        store = Store.open(Path(tmp) / "region" / "XG001")
        numbers = reserved_range_nhs_numbers(args.patients)
        chosen = np.random.default_rng(1).choice(numbers, int(args.patients * args.rate), replace=False)
        register = Path(tmp) / "national.csv"
        register.write_text("nhs_number\n" + "".join(f"{n}\n" for n in chosen), encoding="ascii")
        start = time.perf_counter()
        info = optout_register.refresh(store, "national", register, dt.date(2026, 11, 1), Pseudonymiser(KEY))
        refresh_s = time.perf_counter() - start
        optout_register.refresh(store, "type1", register, dt.date(2026, 11, 1), Pseudonymiser(KEY))
        data_source.declare(store, {"gp"})
        request = ExecutionRequest.build(QUERY, FEASIBILITY, store)
        context = ExecutionContext("bench", frozenset({"custodian"}), request.node)
        plain = _median_seconds(lambda: execute(request, context, ExecutionPolicy()), args.runs)
        applied = _median_seconds(lambda: execute(request, context, policy_for(FEASIBILITY, store)), args.runs)
        excluded = len(execute(request, context, ExecutionPolicy()).attrition) and (
            execute(request, context, ExecutionPolicy()).attrition[0].remaining
            - execute(request, context, policy_for(FEASIBILITY, store)).attrition[0].remaining)
        print(f"| {args.patients:,} | {info.entries:,} | {refresh_s:.2f} s | {excluded:,} | "
              f"{plain * 1000:.0f} ms | {applied * 1000:.0f} ms | {applied / plain:.2f} |")


if __name__ == "__main__":
    main()
