#!/usr/bin/env bash
# `make bench [BENCH=<name>]`: runs bench/<name>.ts, or every bench/*.ts when no name is given.
# Each bench prints its figures and writes bench/results/<name>.json.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ] && [ -n "$1" ]; then
  names=("$@")
else
  names=()
  for file in bench/*.ts; do names+=("$(basename "$file" .ts)"); done
fi

status=0
for name in "${names[@]}"; do
  if [ ! -f "bench/$name.ts" ]; then
    echo "bench: no bench/$name.ts" >&2
    exit 2
  fi
  echo "== bench $name"
  npx tsx "bench/$name.ts" || status=$?
done
exit $status
