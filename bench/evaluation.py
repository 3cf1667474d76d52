"""Time the evaluation statistics; run by hand and record the output in BENCHMARKS.md.

    .venv/bin/python bench/evaluation.py            # 1M AUROC + full report at 100k, 1,000 replicates
    .venv/bin/python bench/evaluation.py --quick    # smaller sizes, a smoke run

Targets (issue 19): AUROC with its DeLong CI on 1M scored patients in under 1 s; the full report
with 1,000 group-stratified bootstrap replicates in under 2 minutes. Wall and CPU time are both
printed: the machines are shared, so wall time includes other people's work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

from phta.disclosure import Policy
from phta.evaluation.discrimination import auroc
from phta.evaluation.evaluate import run_evaluation
from phta.evaluation.protocol import freeze, parse_protocol
from phta.evaluation.report import build_report
from phta.evaluation.synthetic import diabetes_population


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def bench_auroc(n: int, repeats: int) -> dict:
    rng = np.random.default_rng(1)
    lp = rng.normal(-2, 1.2, n)
    y = (rng.uniform(size=n) < expit(lp)).astype(np.int8)
    score = expit(lp + rng.normal(0, 0.5, n))
    walls, cpus = [], []
    for _ in range(repeats):
        with threadpool_limits(1):
            result, wall, cpu = timed(lambda: auroc(score, y))
        walls.append(wall)
        cpus.append(cpu)
    return {"n": n, "auroc": result.estimate, "se": result.se,
            "wall_median_s": statistics.median(walls), "cpu_median_s": statistics.median(cpus)}


def bench_report(n: int, replicates: int) -> dict:
    data = diabetes_population(n)
    protocol = freeze(parse_protocol({
        "title": "DiabRisk benchmark", "index_test": "DiabRisk v1", "outcome": "type 2 diabetes within 1 year",
        "thresholds": [0.05, 0.1], "subgroups": ["ethnic_group", "imd_quintile", "sex", "age_band",
                                                 ["ethnic_group", "imd_quintile"]],
        "bootstrap_replicates": replicates}))
    result, eval_wall, eval_cpu = timed(lambda: run_evaluation(protocol, data, Policy()))
    report, report_wall, report_cpu = timed(lambda: build_report(result))
    with tempfile.TemporaryDirectory() as tmp:
        report.write(Path(tmp))
    return {"n": n, "replicates": replicates, "evaluation_wall_s": eval_wall, "evaluation_cpu_s": eval_cpu,
            "report_wall_s": report_wall, "report_cpu_s": report_cpu,
            "total_wall_s": eval_wall + report_wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cpus {os.cpu_count()}, "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    a = bench_auroc(100_000 if args.quick else 1_000_000, 3 if args.quick else 5)
    print(f"AUROC + DeLong CI, n={a['n']:,}: median wall {a['wall_median_s']:.2f} s, "
          f"CPU {a['cpu_median_s']:.2f} s (AUROC {a['auroc']:.4f}, SE {a['se']:.5f})")
    r = bench_report(20_000 if args.quick else 100_000, 100 if args.quick else 1000)
    print(f"full report, n={r['n']:,}, {r['replicates']} stratified replicates: evaluation {r['evaluation_wall_s']:.1f} s "
          f"wall / {r['evaluation_cpu_s']:.1f} s CPU, report {r['report_wall_s']:.1f} s wall / "
          f"{r['report_cpu_s']:.1f} s CPU, total {r['total_wall_s']:.1f} s wall")
    load = os.getloadavg()
    print(f"load after {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
