#!/usr/bin/env bash
# Runs every benchmark; each appends its figures (with date and machine) to benchmarks/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in benchmarks/bench_*.py; do
  echo "== $bench"
  if [ "$bench" = benchmarks/bench_personas.py ]; then .venv/bin/python "$bench" --openai-self --openai-limit 60; else .venv/bin/python "$bench"; fi
done
