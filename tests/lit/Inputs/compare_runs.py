"""Compares two metrics.csv files column by column (time_s excluded).

Usage: compare_runs.py A.csv B.csv REL_TOL
Prints 'rows N agree' when every value agrees to REL_TOL relative to
max(|a|, 1e-3), else the worst column and both values.
"""
import csv
import sys

a = list(csv.DictReader(open(sys.argv[1])))
b = list(csv.DictReader(open(sys.argv[2])))
tol = float(sys.argv[3])
if len(a) != len(b) or (a and a[0].keys() != b[0].keys()):
    print("different shapes", len(a), len(b))
    sys.exit(0)
worst = (0.0, "", "", "")
for ra, rb in zip(a, b):
    for k in ra:
        if k == "time_s":
            continue
        x, y = float(ra[k]), float(rb[k])
        err = abs(x - y) / max(abs(x), 1e-3)
        if err > worst[0]:
            worst = (err, k + "@" + ra["step"], x, y)
print(f"rows {len(a)} agree" if worst[0] <= tol else f"rows {len(a)} DIFFER at {worst[1]}: {worst[2]} vs {worst[3]} ({worst[0]:.3g})")
