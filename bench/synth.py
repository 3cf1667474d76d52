"""Benchmark ``phta synth``: wall time and peak memory at 100k and 1M patients (11M with --huge).

Each run is a fresh child process (so its peak RSS is its own), writing a region of 6 sites into a
temporary directory that is deleted afterwards. Results (medians over --repeats) go to the
"Synthetic region" section of BENCHMARKS.md with the machine and date, plus ratios: cost per
patient against the 100k run measured in the same session (linearity), since machines are shared.

    .venv/bin/python bench/synth.py                 # 100k and 1M
    .venv/bin/python bench/synth.py --huge          # also 11M (about 10+ minutes)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- synth:begin -->", "<!-- synth:end -->"

CHILD = """
import json, resource, sys, time
from pathlib import Path
from phta.cdm.synth import generate
n, out = int(sys.argv[1]), Path(sys.argv[2])
t = time.perf_counter()
r = generate(out, patients=n, sites=6, seed=1, key=b"benchmark-key-not-secret-0123456")
elapsed = time.perf_counter() - t
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = sum(1 for _ in out.rglob("cdm.duckdb"))
print(json.dumps({"seconds": elapsed, "peak_rss_mb": rss_mb, "linked": r.linked, "stores": rows}))
"""


def run_once(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="phta-bench-synth-") as tmp:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(Path(tmp) / "region")],
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit(f"synth of {n:,} patients failed:\n{proc.stderr}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["disk_mb"] = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 2**20
        return out


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GB RAM, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--huge", action="store_true", help="also run 11 million patients")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size for 100k (1M and 11M run once unless --repeats-large)")
    ap.add_argument("--repeats-large", type=int, default=1)
    ap.add_argument("--sizes", type=int, nargs="*", help="override the sizes")
    args = ap.parse_args()
    sizes = args.sizes or [100_000, 1_000_000] + ([11_000_000] if args.huge else [])
    results = {}
    for n in sizes:
        reps = args.repeats if n <= 100_000 else args.repeats_large
        runs = [run_once(n) for _ in range(reps)]
        results[n] = {
            "runs": reps,
            "seconds": statistics.median(r["seconds"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "disk_mb": runs[0]["disk_mb"],
        }
        print(n, results[n], flush=True)
    write(results)


def write(results: dict) -> None:
    base = results.get(min(results))
    base_per = base["seconds"] / min(results)
    lines = [
        BEGIN,
        "## Synthetic region (`bench/synth.py`)",
        "",
        f"Machine: {machine()}. Date: {dt.date.today().isoformat()}. 6 sites (3 GP federations, 3 trusts), seed 1.",
        "Target: 1M patients in <= 60 s with peak memory <= 4 GB, cost linear in N.",
        "",
        "| patients | runs | median seconds | patients / s | peak RSS (MB) | store size on disk (MB) | cost per patient vs smallest run |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, r in sorted(results.items()):
        ratio = (r["seconds"] / n) / base_per
        lines.append(f"| {n:,} | {r['runs']} | {r['seconds']:.1f} | {n / r['seconds']:,.0f} | {r['peak_rss_mb']:,.0f} | "
                     f"{r['disk_mb']:,.0f} | {ratio:.2f} |")
    lines += ["", "The machine is shared with other jobs; compare ratios measured in the same run.", END]
    section = "\n".join(lines)
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    BENCHMARKS.write_text(text, encoding="utf-8")
    print(f"wrote {BENCHMARKS}")


if __name__ == "__main__":
    main()
