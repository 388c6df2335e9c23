#!/usr/bin/env bash
# README command 2: install textsiam with the test tools into .venv and run the whole test suite.
# Tests that need ../shared/data find it through TEXTSIAM_DATA (default ../shared/data) and skip when absent.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh "pretrained,glove,vision,ann,dev,serve" || exit 1
.venv/bin/python -m pytest -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit "$rc"
