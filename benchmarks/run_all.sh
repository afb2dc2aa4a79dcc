#!/usr/bin/env bash
# Run every benchmark of benchmarks/, one after the other, and repeat their
# RATIO lines at the end. About two minutes on a 2-core machine.
#
#   benchmarks/run_all.sh                 (from anywhere; runs from the repo root)
#   PYTHON=python3 benchmarks/run_all.sh  (another interpreter)
#   PYTHON=../main/.venv/bin/python /tmp/clone/benchmarks/run_all.sh
#                                         (a clean clone, another checkout's venv)
set -euo pipefail
# A path given relative to where this is called from, before moving.
if [[ -n "${PYTHON:-}" && "$PYTHON" == */* && "$PYTHON" != /* ]]; then
  PYTHON="$PWD/$PYTHON"
fi
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
if ! command -v "$PYTHON" >/dev/null; then
  echo "No interpreter at $PYTHON: run scripts/setup here, or give PYTHON=" >&2
  exit 2
fi
BENCHMARKS=(webhook_burst send_path bulk startup)

echo "nproc: $(nproc); $(lscpu | grep -m1 'Model name' | tr -s ' ')"
ratios=$(mktemp)
log=$(mktemp)
trap 'rm -f "$ratios" "$log"' EXIT
status=0
for name in "${BENCHMARKS[@]}"; do
  echo
  echo "=== $name"
  start=$(date +%s)
  # Each benchmark bounds its own loops; this is a last resort.
  if timeout 600 "$PYTHON" -m "benchmarks.$name" | tee "$log"; then
    tail -n 1 "$log" >>"$ratios"
    echo "(${name}: $(($(date +%s) - start)) s)"
  else
    echo "=== $name FAILED" >&2
    echo "FAILED $name" >>"$ratios"
    status=1
  fi
done
echo
echo "=== summary"
cat "$ratios"
exit "$status"
