#!/usr/bin/env bash
# Runs lint, content validation and the whole test suite (browser and PostgreSQL tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/holdspace validate
exec .venv/bin/python -m pytest "$@"
