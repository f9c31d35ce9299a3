#!/usr/bin/env bash
# Starts the web app on its embedded defaults (no API key, no server to start by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
export HOLDSPACE_DATA_DIR="${HOLDSPACE_DATA_DIR:-$PWD/data}"
.venv/bin/holdspace db upgrade >/dev/null 2>&1 || true
exec .venv/bin/streamlit run app.py --server.headless true --browser.gatherUsageStats false \
  --server.address "${HOLDSPACE_HOST:-127.0.0.1}" --server.port "${HOLDSPACE_PORT:-8501}"
