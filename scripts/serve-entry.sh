#!/bin/sh
# The container's entry command (the Dockerfile's ENTRYPOINT, installed there as textsiam-serve-entry); the test
# tests/serve/test_serve_entry.py runs this same file outside Docker and asks /healthz.
#   TEXTSIAM_MODEL       a preset name or a model folder (default /model: a folder mounted or copied there)
#   TEXTSIAM_HOST, PORT  where to listen (default 0.0.0.0:8000: every interface of the container)
#   TEXTSIAM_LOG_FORMAT  json (default) or plain: one line per request
#   TEXTSIAM_API_KEY     if set, every path but /healthz needs `Authorization: Bearer KEY` (read by textsiam itself,
#                        so the key never shows in the process list)
# Any arguments are passed on to `textsiam serve` (e.g. --threads 4 --open-metrics --max-pending 256).
set -eu
exec python -m textsiam serve \
    --model "${TEXTSIAM_MODEL:-/model}" \
    --host "${TEXTSIAM_HOST:-0.0.0.0}" \
    --port "${PORT:-8000}" \
    --log-format "${TEXTSIAM_LOG_FORMAT:-json}" \
    "$@"
