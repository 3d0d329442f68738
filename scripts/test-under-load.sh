#!/bin/bash
# The whole test suite with every core busy: `stress-ng --cpu 0` (one CPU hog per core)
# runs beside `npm test`, RUNS times in a row (default 3); it stops at the first failing
# run. Tests must wait for events, never for lucky timing: this is how that is checked.
set -euo pipefail
runs="${1:-3}"
command -v stress-ng >/dev/null || { echo "test-under-load.sh: stress-ng is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
cd "$(dirname "$0")/.."
stress-ng --cpu 0 --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null || true' EXIT
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  echo "test-under-load.sh: run $i of $runs, $(nproc) cores busy with stress-ng"
  npm test
  echo "test-under-load.sh: run $i of $runs passed in $(( $(date +%s) - start )) s"
done
