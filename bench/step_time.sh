#!/usr/bin/env bash
# Median-free first baseline: builds the examples with the current compiler
# and reports training time per step from run.json (train_s / steps).
# Usage: bench/step_time.sh [build-dir]   (default: build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
lmc="$build/bin/lmc"
run() { # name file steps [flags...]
  local name=$1 file=$2 steps=$3; shift 3
  "$lmc" build "$root/examples/$file" -o "$work/$name" "$@"
  "$work/$name" --steps "$steps" --out "$work/$name.out" --quiet
  python3 - "$work/$name.out/run.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
steps = r["steps_done"]
print(f"{sys.argv[2]:<28} {steps:>6} steps  {1000 * r['timings']['train_s'] / steps:8.3f} ms/step  "
      f"(observe {r['timings']['observe_s']:.2f} s)")
PY
}
echo "lm $(git -C "$root" rev-parse --short HEAD), $(date -u +%Y-%m-%d), $(nproc) cores"
run teacher_student_w256_b128 teacher_student.lm 500
run deep_linear_16_32_16_n1024 saxe.lm 500
run grokking_p113_frac0.3_full grokking.lm 20
