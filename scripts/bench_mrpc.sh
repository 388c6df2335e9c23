#!/usr/bin/env bash
# MRPC: a fine-tuned MiniLM twin vs the pretrained twin, each with a threshold tuned on the same dev split
# (10% of msr_paraphrase_train.txt, stratified, seed 0; the official test file is held out).
#   bash scripts/bench_mrpc.sh [OUT_DIR] [LOSS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${TEXTSIAM_DATA:-../shared/data}/mrpc/msr_paraphrase_train.txt"
out="${1:-runs/mrpc}"; loss="${2:-online-contrastive}"; epochs="${3:-3}"
ts=.venv/bin/textsiam
$ts train --preset minilm-twin --train "$data" --dev-fraction 0.1 --loss "$loss" --epochs "$epochs" \
    --batch-size 16 --lr 2e-5 --threshold-strategy max-accuracy --calibrate platt --out "$out/twin" --overwrite --quiet
$ts tune-threshold --model minilm-twin --data "$out/twin/dev_split.tsv" --strategy max-accuracy --calibrate platt \
    --out "$out/pretrained"
for m in twin pretrained; do
  $ts evaluate --model "$out/$m" --data "$out/twin/dev_split.tsv" --json "$out/${m}_dev.json" --report "$out/${m}_report"
done
.venv/bin/python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print(f"{'model':12} {'cv acc':>7} {'cv F1':>7} {'in-sample acc':>14} {'in-sample F1':>13} {'ROC AUC':>8} {'threshold':>9}")
for m in ("pretrained", "twin"):
    d = json.load(open(f"{out}/{m}/decision.json"))["metrics"]
    e = json.load(open(f"{out}/{m}_dev.json"))
    print(f"{m:12} {d['accuracy']:7.4f} {d['f1']:7.4f} {e['accuracy']:14.4f} {e['f1']:13.4f} {e['roc_auc']:8.4f} "
          f"{e['threshold']:9.4f}")
PY
