#!/usr/bin/env bash
# Measures the training remedies (Docs/Training.md, "When the model goes wrong") on the quick demo:
# short continued-SFT runs of the demo's model with and without each remedy, and an overfit series
# (300 training rows, 16 epochs) with one remedy each. Every run's weights are evaluated with
# `minimind-v eval`: answer accuracy per type on the test set with the blank- and shuffled-image
# ablations, and the teacher-forced perplexity on its 300 training rows and on the validation rows
# (ln of it = the plain mean cross-entropy, so train and validation compare on one scale whatever
# the run's training loss was). Prints one Markdown table row per run.
# Usage: Scripts/measure_remedies.sh [--bin PATH] [--demo DIR] [--out DIR] [--steps N] [RUN...]
#   defaults: .build/release/minimind-v, /tmp/demo-quick (made with `minimind-v demo --quick` if
#   missing), /tmp/remedies-measure, 150 steps; runs: all below. Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/minimind-v; DEMO=/tmp/demo-quick; OUT=/tmp/remedies-measure; STEPS=150; RUNS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --demo) DEMO=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) RUNS+=("$1"); shift ;;
  esac
done
[ ${#RUNS[@]} -eq 0 ] && RUNS=(start plain grounding grounding-mismatch weights overfit overfit-dropout overfit-smoothing overfit-jitter overfit-crop overfit-early)
[ -d "$DEMO/model" ] || "$BIN" demo --quick --out "$DEMO"
M=$DEMO/model
mkdir -p "$OUT"
head -300 "$DEMO/data/sft.jsonl" > "$OUT/train300.jsonl"
common=("$DEMO/data/sft.jsonl" --images "$DEMO/data/images" --vision "$M/vision" --tokenizer "$M" --config "$M/config.json"
        --from-weights "$M/model.safetensors" --batch-size 8 --lr 1e-3 --threads 2 --save-interval 100000
        --validation "$DEMO/data/validation.jsonl" --validation-interval 25 --feature-cache "$OUT/feature-cache")
overfit="--max-samples 300 --epochs 16"
flags() {
  case "$1" in
    start) echo "(the demo's model, not trained further)" ;;
    plain) echo "--max-steps $STEPS" ;;
    grounding) echo "--max-steps $STEPS --grounding-weight 0.1" ;;
    grounding-mismatch) echo "--max-steps $STEPS --grounding-weight 0.5 --grounding-term mismatch" ;;
    weights) echo "--max-steps $STEPS --answer-weight 2 --template-weight 0.5 --lr-projector-ratio 5" ;;
    overfit) echo "$overfit" ;;
    overfit-dropout) echo "$overfit --dropout 0.1" ;;
    overfit-smoothing) echo "$overfit --label-smoothing 0.1" ;;
    overfit-jitter) echo "$overfit --augment-jitter 0.3" ;;
    overfit-crop) echo "$overfit --augment-crop 0.6" ;;
    overfit-early) echo "$overfit --early-stopping-patience 3" ;;
    *) echo "unknown run $1" >&2; exit 1 ;;
  esac
}
lnppl() { jq -r 'if .perplexity then (.perplexity | log * 10000 | round / 10000) else "—" end' "$1"; }
printf '| run | flags | accuracy | colour | shape | count | exists | blank | shuffled | train CE | validation CE | gap | seconds |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for run in "${RUNS[@]}"; do
  dir=$OUT/$run; rm -rf "$dir"; mkdir -p "$dir"
  start=$(date +%s)
  model=$dir/model; mkdir -p "$model"
  cp -r "$M/config.json" "$M/vision" "$M"/tokenizer*.json "$model/"
  if [ -f "$M/generation_config.json" ]; then cp "$M/generation_config.json" "$model/"; fi
  if [ "$run" = start ]; then
    cp "$M/model.safetensors" "$model/model.safetensors"
  else
    # shellcheck disable=SC2046
    "$BIN" sft "${common[@]}" $(flags "$run") --out "$dir" > "$dir/train.log" 2>&1
    weights=$dir/sft_vlm_64.safetensors
    if [ -f "$dir/sft_vlm_64_best.safetensors" ]; then weights=$dir/sft_vlm_64_best.safetensors; fi
    cp "$weights" "$model/model.safetensors"
  fi
  seconds=$(( $(date +%s) - start ))
  ev=("$BIN" eval --model "$model" --images "$DEMO/data/images" --max-new-tokens 4 --batch 64)
  "${ev[@]}" --data "$DEMO/data/test.jsonl" --ablate blank,shuffle --no-perplexity --out "$dir/eval" > "$dir/eval.log" 2>&1
  "${ev[@]}" --data "$OUT/train300.jsonl" --out "$dir/eval-train" > "$dir/eval-train.log" 2>&1
  "${ev[@]}" --data "$DEMO/data/validation.jsonl" --out "$dir/eval-validation" > "$dir/eval-validation.log" 2>&1
  m=$dir/eval/metrics.json
  tr=$(lnppl "$dir/eval-train/metrics.json"); va=$(lnppl "$dir/eval-validation/metrics.json")
  printf '| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s | %s | %s | %s |\n' "$run" "$(flags "$run")" \
      "$(jq .accuracy "$m")" "$(jq .types.colour.accuracy "$m")" "$(jq .types.shape.accuracy "$m")" \
      "$(jq .types.count.accuracy "$m")" "$(jq .types.exists.accuracy "$m")" \
      "$(jq .blank.accuracy "$m")" "$(jq .shuffled.accuracy "$m")" "$tr" "$va" \
      "$(jq -n "$va - $tr | . * 10000 | round / 10000")" "$seconds"
done
