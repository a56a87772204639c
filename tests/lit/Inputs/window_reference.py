"""Independent check of metrics.csv fluctuation columns: for every column c
with c.wmean / c.wvar, the mean and population variance of c over the last
`window` rows; for thermo sites, site.Cwin = Var_window(site.U) / T^2."""
import csv, math, sys

path, window, temperature = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rows = list(csv.DictReader(open(path)))
bad = 0
for name in rows[0]:
    if not name.endswith(".wmean"):
        continue
    base = name[: -len(".wmean")]
    for i, row in enumerate(rows):
        vals = [float(r[base]) for r in rows[max(0, i - window + 1) : i + 1]]
        mean = sum(vals) / len(vals)
        var = sum((v - mean) ** 2 for v in vals) / len(vals) if len(vals) > 1 else math.nan
        for got, want in ((float(row[base + ".wmean"]), mean), (float(row[base + ".wvar"]), var)):
            if math.isnan(want):
                bad += not math.isnan(got)
            elif abs(got - want) > 1e-6 * max(abs(want), 1e-12) + 1e-12:
                print("mismatch", base, i, got, want)
                bad += 1
        if base.endswith(".U"):
            site = base[: -len(".U")]
            cw = float(row[site + ".Cwin"])
            want = var / temperature ** 2
            if not (math.isnan(want) and math.isnan(cw)) and abs(cw - want) > 1e-6 * abs(want) + 1e-15:
                print("mismatch Cwin", i, cw, want)
                bad += 1
print("checked", len(rows), "rows:", "FAIL" if bad else "PASS")
