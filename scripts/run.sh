#!/usr/bin/env bash
# Starts the web app on its embedded defaults (no API key, no server to start by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
export HOLDSPACE_DATA_DIR="${HOLDSPACE_DATA_DIR:-$PWD/data}"
# The schema first (the app would do it too, but a broken database URL is clearer here).
.venv/bin/holdspace db upgrade || echo "run: the database could not be upgraded; the app will explain" >&2
# The guide index the coach panel searches: built once per data folder (about 15 s), then loaded in 0.1 s.
.venv/bin/holdspace retrieve "ground rules" --k 1 >/dev/null 2>&1 || echo "run: the guide index is not ready" >&2
exec .venv/bin/streamlit run app.py --server.headless true --browser.gatherUsageStats false \
  --server.address "${HOLDSPACE_HOST:-127.0.0.1}" --server.port "${HOLDSPACE_PORT:-8501}"
