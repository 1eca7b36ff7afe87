#!/usr/bin/env bash
# Accuracy before and after `--recover-steps` (Docs/Compression.md, "Recovery fine-tune after
# compression") on the quick demo's model: `compress prune` (½ FFN, ½ heads, weight importance) and
# `compress lowrank --rank 16`, each written once without and once with the recovery fine-tune on the
# demo's SFT data, then `minimind-v eval` on the test questions (greedy, ≤ 4 tokens, exact match).
# Prints one Markdown table row per folder (the uncompressed model first).
# Usage: Scripts/measure_recovery.sh [--bin PATH] [--demo DIR] [--out DIR] [--steps N] [--lr X] [--batch B]
#   defaults: .build/release/minimind-v, /tmp/lora-demo-quick (made with `minimind-v demo --quick` if
#   missing), /tmp/recovery-measure, 316 steps (4 epochs of the quick demo's 1250 rows at batch 16),
#   lr 1e-3, batch 16. Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/minimind-v; DEMO=/tmp/lora-demo-quick; OUT=/tmp/recovery-measure; STEPS=316; LR=1e-3; BATCH=16
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --demo) DEMO=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --lr) LR=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 1 ;;
  esac
done
[ -d "$DEMO/model" ] || "$BIN" demo --quick --out "$DEMO"
M=$DEMO/model
rm -rf "$OUT"; mkdir -p "$OUT"
recover=(--recover-steps "$STEPS" --recover-data "$DEMO/data/sft.jsonl" --recover-images "$DEMO/data/images"
         --recover-lr "$LR" --recover-batch-size "$BATCH")
row() {  # label, folder, recovery seconds
  local name; name=$(basename "$2")
  "$BIN" eval --model "$2" --data "$DEMO/data/test.jsonl" --images "$DEMO/data/images" --max-new-tokens 4 --batch 64 \
      --out "$OUT/eval-$name" > "$OUT/eval-$name.log" 2>&1
  local m=$OUT/eval-$name/metrics.json
  printf '| %s | %s | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.3f |\n' "$1" "$3" \
      "$(jq '.accuracy * 100' "$m")" "$(jq '.types.colour.accuracy * 100' "$m")" "$(jq '.types.shape.accuracy * 100' "$m")" \
      "$(jq '.types.count.accuracy * 100' "$m")" "$(jq '.types.exists.accuracy * 100' "$m")" "$(jq '.perplexity' "$m")"
}
echo "demo $DEMO; recovery: $STEPS steps, lr $LR, batch $BATCH; $(lscpu | sed -n 's/^Model name: *//p')" >&2
printf '| model | recovery seconds | accuracy | colour | shape | count | exists | perplexity |\n'
printf '|---|---|---|---|---|---|---|---|\n'
row demo "$M" "—"
for c in prune lowrank; do
  case "$c" in
    prune) flags=(compress prune "$M" --ffn-keep 0.5 --heads-keep 0.5) ;;
    lowrank) flags=(compress lowrank "$M" --rank 16) ;;
  esac
  "$BIN" "${flags[@]:0:3}" "$OUT/$c" "${flags[@]:3}" > "$OUT/$c.log" 2>&1
  row "$c" "$OUT/$c" "—"
  start=$(date +%s)
  "$BIN" "${flags[@]:0:3}" "$OUT/$c-recovered" "${flags[@]:3}" "${recover[@]}" > "$OUT/$c-recovered.log" 2>&1
  row "$c + $STEPS recovery steps" "$OUT/$c-recovered" "$(( $(date +%s) - start )) (load $(cut -d' ' -f1 /proc/loadavg))"
done
