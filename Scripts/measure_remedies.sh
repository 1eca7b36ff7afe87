#!/usr/bin/env bash
# Measures the training remedies (Docs/Training.md, "When the model goes wrong") on the quick demo:
# short continued-SFT runs of the demo's model with and without each remedy, and an overfit series
# (300 training rows, 16 epochs) with one remedy each. Every run's weights are evaluated with
# `minimind-v eval`: answer accuracy per type on the test set with the blank- and shuffled-image
# ablations, and the teacher-forced perplexity on its 300 training rows and on the validation rows
# (ln of it = the plain mean cross-entropy, so train and validation compare on one scale whatever
# the run's training loss was). Prints one Markdown table row per run.
# The prior-* runs train on a language-prior set instead (Scripts/make_prior_biased_vqa.py: the demo's
# questions one per row, each question's most frequent answer right in --bias of its rows) and are
# meant for several seeds (--seeds "1 2 3"): after the rows, the mean real − blank gap of each run
# with one standard error over the seeds.
# Usage: Scripts/measure_remedies.sh [--bin PATH] [--demo DIR] [--out DIR] [--steps N] [--bias B]
#                                    [--seeds "S1 S2 ..."] [RUN...]
#   defaults: .build/release/minimind-v, /tmp/demo-quick (made with `minimind-v demo --quick` if
#   missing), /tmp/remedies-measure, 150 steps, bias 0.9, the recipe's seed; runs: all but the
#   prior-* ones. Needs jq and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/minimind-v; DEMO=/tmp/demo-quick; OUT=/tmp/remedies-measure; STEPS=150; BIAS=0.9; SEEDS=""; RUNS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --demo) DEMO=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --bias) BIAS=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) RUNS+=("$1"); shift ;;
  esac
done
[ ${#RUNS[@]} -eq 0 ] && RUNS=(start plain grounding grounding-mismatch weights overfit overfit-dropout overfit-smoothing overfit-jitter overfit-crop overfit-early)
[ -d "$DEMO/model" ] || "$BIN" demo --quick --out "$DEMO"
M=$DEMO/model
mkdir -p "$OUT"
head -300 "$DEMO/data/sft.jsonl" > "$OUT/train300.jsonl"
python3 Scripts/make_prior_biased_vqa.py "$DEMO/data/sft.jsonl" "$OUT/prior.jsonl" --bias "$BIAS" --seed 1 >&2
common=(--images "$DEMO/data/images" --vision "$M/vision" --tokenizer "$M" --config "$M/config.json"
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
    prior-plain) echo "--max-steps $STEPS" ;;
    prior-contrastive) echo "--max-steps $STEPS --grounding-weight 0.1" ;;
    prior-mismatch) echo "--max-steps $STEPS --grounding-weight 0.5 --grounding-term mismatch" ;;
    prior-same-question) echo "--max-steps $STEPS --grounding-weight 0.5 --grounding-term same-question" ;;
    *) echo "unknown run $1" >&2; exit 1 ;;
  esac
}
lnppl() { jq -r 'if .perplexity then (.perplexity | log * 10000 | round / 10000) else "—" end' "$1"; }
# train RUN SEED DIR: trains (or copies the start model) into DIR/model and evaluates on the test set.
train() {
  local run=$1 seed=$2 dir=$3 data=$DEMO/data/sft.jsonl model=$3/model seedflag=()
  rm -rf "$dir"; mkdir -p "$model"
  cp -r "$M/config.json" "$M/vision" "$M"/tokenizer*.json "$model/"
  if [ -f "$M/generation_config.json" ]; then cp "$M/generation_config.json" "$model/"; fi
  case "$run" in prior-*) data=$OUT/prior.jsonl ;; esac
  if [ -n "$seed" ]; then seedflag=(--seed "$seed"); fi
  if [ "$run" = start ]; then
    cp "$M/model.safetensors" "$model/model.safetensors"
  else
    # shellcheck disable=SC2046
    "$BIN" sft "$data" "${common[@]}" "${seedflag[@]}" $(flags "$run") --out "$dir" > "$dir/train.log" 2>&1
    weights=$dir/sft_vlm_64.safetensors
    if [ -f "$dir/sft_vlm_64_best.safetensors" ]; then weights=$dir/sft_vlm_64_best.safetensors; fi
    cp "$weights" "$model/model.safetensors"
  fi
  "$BIN" eval --model "$model" --images "$DEMO/data/images" --max-new-tokens 4 --batch 64 \
      --data "$DEMO/data/test.jsonl" --ablate blank,shuffle --no-perplexity --out "$dir/eval" > "$dir/eval.log" 2>&1
}
types() { jq -r '[.accuracy, .types.colour.accuracy, .types.shape.accuracy, .types.count.accuracy, .types.exists.accuracy,
                  .blank.accuracy, .shuffled.accuracy] | map(. * 1000 | round / 1000 | tostring) | join(" | ")' "$1"; }
plain_runs=(); prior_runs=()
for run in "${RUNS[@]}"; do case "$run" in prior-*) prior_runs+=("$run") ;; *) plain_runs+=("$run") ;; esac; done
if [ ${#plain_runs[@]} -gt 0 ]; then
  printf '| run | flags | accuracy | colour | shape | count | exists | blank | shuffled | train CE | validation CE | gap | seconds |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
fi
for run in "${plain_runs[@]}"; do
  dir=$OUT/$run; start=$(date +%s)
  train "$run" "${SEEDS%% *}" "$dir"
  seconds=$(( $(date +%s) - start ))
  ev=("$BIN" eval --model "$dir/model" --images "$DEMO/data/images" --max-new-tokens 4 --batch 64)
  "${ev[@]}" --data "$OUT/train300.jsonl" --out "$dir/eval-train" > "$dir/eval-train.log" 2>&1
  "${ev[@]}" --data "$DEMO/data/validation.jsonl" --out "$dir/eval-validation" > "$dir/eval-validation.log" 2>&1
  tr=$(lnppl "$dir/eval-train/metrics.json"); va=$(lnppl "$dir/eval-validation/metrics.json")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$run" "$(flags "$run")" "$(types "$dir/eval/metrics.json")" "$tr" "$va" \
      "$(jq -n "$va - $tr | . * 10000 | round / 10000")" "$seconds"
done
if [ ${#prior_runs[@]} -gt 0 ]; then
  [ -n "$SEEDS" ] || SEEDS=1
  printf '\n| run | seed | accuracy | colour | shape | count | exists | blank | shuffled | real − blank | seconds |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
  for run in "${prior_runs[@]}"; do
    for seed in $SEEDS; do
      dir=$OUT/$run-seed$seed; start=$(date +%s)
      train "$run" "$seed" "$dir"
      m=$dir/eval/metrics.json
      printf '| %s | %s | %s | %s | %s |\n' "$run" "$seed" "$(types "$m")" "$(jq '.accuracy - .blank.accuracy | . * 1000 | round / 1000' "$m")" \
          "$(( $(date +%s) - start ))"
    done
  done
  # Mean real − blank gap (and accuracy) per run over the seeds, ± one standard error (sample sd / √n).
  printf '\n| run | seeds | accuracy (mean ± SE) | blank | real − blank (mean ± SE) |\n|---|---|---|---|---|\n'
  for run in "${prior_runs[@]}"; do
    for seed in $SEEDS; do jq -c '[.accuracy, .blank.accuracy]' "$OUT/$run-seed$seed/eval/metrics.json"; done | jq -rs --arg run "$run" '
      def stats(f): (map(f)) as $x | ($x | length) as $n | ($x | add / $n) as $m
        | [$m, (if $n > 1 then (($x | map((. - $m) * (. - $m)) | add) / ($n - 1) / $n | sqrt) else 0 end)];
      def fmt: "\(.[0] * 1000 | round / 1000) ± \(.[1] * 1000 | round / 1000)";
      "| \($run) | \(length) | \(stats(.[0]) | fmt) | \(stats(.[1]) | fmt) | \(stats(.[0] - .[1]) | fmt) |"'
  done
fi
