#!/usr/bin/env bash
# Create .venv (Python 3.11) if needed and install textsiam with the given extras (default: pretrained).
# torch is pinned to 2.13.0 (CPU wheel); the install is idempotent and fast when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-pretrained}"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $("$py" --version)"
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]"
