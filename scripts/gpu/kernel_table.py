"""Per-kernel time table from an Nsight Compute CSV (`ncu --csv --metrics gpu__time_duration.sum`).

Groups the launches by kernel name and prints, most expensive first: launches, total ms, share
of all kernel time, mean us per launch. Where the time of one forward goes, without nsys.

Run: python3 scripts/gpu/kernel_table.py NCU.csv [TITLE]
"""

import csv
import sys
from collections import defaultdict

UNITS = {"nsecond": 1e-6, "usecond": 1e-3, "msecond": 1.0, "second": 1e3}


def main():
    path = sys.argv[1]
    title = sys.argv[2] if len(sys.argv) > 2 else path
    with open(path, newline="") as f:
        lines = [line for line in f if line.startswith('"')]
    total, launches = defaultdict(float), defaultdict(int)
    for row in csv.DictReader(lines):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        ms = float(row["Metric Value"].replace(",", "")) * UNITS[row["Metric Unit"]]
        name = row["Kernel Name"]
        total[name] += ms
        launches[name] += 1
    all_ms = sum(total.values())
    print(f"== {title}: {sum(launches.values())} launches, {all_ms:.1f} ms of kernel time")
    print(f"{'kernel':<70} {'launches':>8} {'ms':>9} {'share':>6} {'us/launch':>10}")
    for name, ms in sorted(total.items(), key=lambda kv: -kv[1])[:30]:
        print(f"{name[:70]:<70} {launches[name]:>8} {ms:>9.2f} {100 * ms / all_ms:>5.1f}% "
              f"{1e3 * ms / launches[name]:>10.1f}")


main()
