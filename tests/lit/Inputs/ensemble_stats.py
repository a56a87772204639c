"""Recomputes an ensemble's metrics.csv from its replicas' files.

Usage: ensemble_stats.py OUT_DIR FLAG COUNT
For every step and column, the mean and population variance across the
replica files OUT_DIR/FLAG=<v>/metrics.csv must match OUT_DIR/metrics.csv's
<column>.emean and <column>.evar. Prints 'ensemble stats agree (N rows)'.
"""
import csv
import math
import sys

out, flag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
top = list(csv.DictReader(open(f"{out}/metrics.csv")))
reps = [list(csv.DictReader(open(f"{out}/{flag}={v}/metrics.csv"))) for v in range(count)]
worst = 0.0
for i, row in enumerate(top):
    if int(row["replicas"]) != count:
        print("replicas column", row["replicas"])
    for key in row:
        if not key.endswith(".emean"):
            continue
        col = key[: -len(".emean")]
        vals = [float(r[i][col]) for r in reps if not math.isnan(float(r[i][col]))]
        if not vals:
            continue
        mean = sum(vals) / len(vals)
        var = sum((v - mean) ** 2 for v in vals) / len(vals)
        for got, want in ((float(row[key]), mean), (float(row[col + ".evar"]), var)):
            worst = max(worst, abs(got - want) / max(abs(want), 1e-6))
print(f"ensemble stats agree ({len(top)} rows)" if worst < 1e-5 else f"DIFFER {worst}")
