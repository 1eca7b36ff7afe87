#!/usr/bin/env bash
# LoRA SFT against full SFT on the demo (Docs/Compression.md, "LoRA: measured"). Every run starts from
# the demo's checkpoint after its pretrain (projector) stage and trains on the demo's SFT data with the
# demo's SFT batch (32), learning rate (3e-3) and step count, through `minimind-v sft`: `full` trains
# the projector and the whole language model (the demo's SFT recipe), the LoRA runs train adapters
# only (every other tensor frozen). Each result answers the test questions through `minimind-v eval`
# (greedy, ≤ 4 tokens, exact match): accuracy overall and per type. Prints one Markdown table row
# per run: trainable parameters, their share of full SFT's, the training seconds (from the trainer's
# metrics) and the load average at the end (seconds only compare on a quiet machine).
# Usage: Scripts/measure_lora_sft.sh [--bin PATH] [--demo DIR] [--out DIR] [--full] [--lr X] [--steps N]
#        [--seed S] [RUN...]
#   defaults: .build/release/minimind-v; --demo /tmp/lora-demo-quick, made with `minimind-v demo --quick`
#   if missing (--full: /tmp/lora-demo-full with the full `minimind-v demo`, 4000 SFT steps);
#   --out /tmp/lora-measure; runs: full r16-proj r8-proj r8 r8-lm r4 (-proj: the projector trains in
#   full beside the adapters, --lora-modules-to-save vision_proj; rN-proj for any rank N; r8, r4: LoRA on the projector too;
#   r8-lm: the projector stays as pretrained; r2: rank 2 on the block projections and the projector,
#   under 5 % of full SFT's trainable parameters on the demo; r1-proj, r1a8-proj (alpha 8), r2attn-proj:
#   the projector in full beside rank 1 on six block projections or rank 2 on the attention ones, also
#   under 5 %). --steps: SFT length in steps, rounded to whole epochs (default the demo's); --seed: the
#   sft seed (data order, initialisation of the adapters; default sft's 42). Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/minimind-v; DEMO=""; OUT=/tmp/lora-measure; FULL=0; LR=3e-3; STEPS=""; SEED=(); RUNS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --demo) DEMO=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --full) FULL=1; shift ;;
    --lr) LR=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --seed) SEED=(--seed "$2"); shift 2 ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) RUNS+=("$1"); shift ;;
  esac
done
[ ${#RUNS[@]} -eq 0 ] && RUNS=(full r16-proj r8-proj r8 r8-lm r4)
if [ "$FULL" = 1 ]; then DEMO=${DEMO:-/tmp/lora-demo-full}; DEMO_STEPS=4000; else DEMO=${DEMO:-/tmp/lora-demo-quick}; DEMO_STEPS=400; fi
if [ ! -d "$DEMO/model" ]; then
  if [ "$FULL" = 1 ]; then "$BIN" demo --out "$DEMO"; else "$BIN" demo --quick --out "$DEMO"; fi
fi
[ -n "$STEPS" ] && DEMO_STEPS=$STEPS
M=$DEMO/model
PRE=$DEMO/checkpoints/3-pretrain-projector/model.safetensors
[ -f "$PRE" ] || { echo "no pretrain checkpoint at $PRE" >&2; exit 1; }
mkdir -p "$OUT"
# The demo's SFT length in whole epochs of its data at batch 32 (the schedule spans exactly them).
rows=$(grep -c . "$DEMO/data/sft.jsonl"); per_epoch=$(( (rows + 31) / 32 ))
epochs=$(( (DEMO_STEPS + per_epoch / 2) / per_epoch )); [ "$epochs" -ge 1 ] || epochs=1
common=("$DEMO/data/sft.jsonl" --images "$DEMO/data/images" --vision "$M/vision" --tokenizer "$M" --config "$M/config.json"
        --from-weights "$PRE" --batch-size 32 --lr "$LR" --max-seq-len 512 --epochs "$epochs" --threads 2
        --save-interval 1000000 --feature-cache "$OUT/feature-cache" "${SEED[@]}")
block=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj
flags() {
  case "$1" in
    full) echo "--trainable vision_proj model" ;;
    r16) echo "--lora-rank 16 --lora-alpha 32 --lora-targets $block,vision_proj" ;;
    r8) echo "--lora-rank 8 --lora-alpha 16 --lora-targets $block,vision_proj" ;;
    r8-lm) echo "--lora-rank 8 --lora-alpha 16" ;;
    r4) echo "--lora-rank 4 --lora-alpha 8 --lora-targets $block,vision_proj" ;;
    r2) echo "--lora-rank 2 --lora-alpha 4 --lora-targets $block,vision_proj" ;;
    r1-proj) echo "--lora-rank 1 --lora-alpha 2 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj --lora-modules-to-save vision_proj" ;;
    r1a8-proj) echo "--lora-rank 1 --lora-alpha 8 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj --lora-modules-to-save vision_proj" ;;
    r2attn-proj) echo "--lora-rank 2 --lora-alpha 4 --lora-targets q_proj,k_proj,v_proj,o_proj --lora-modules-to-save vision_proj" ;;
    r[0-9]*-proj) r=${1#r}; r=${r%-proj}  # any other rank, seven block projections, projector in full
      [[ $r =~ ^[0-9]+$ ]] || { echo "unknown run $1" >&2; exit 1; }
      echo "--lora-rank $r --lora-alpha $((2 * r)) --lora-modules-to-save vision_proj" ;;
    *) echo "unknown run $1" >&2; exit 1 ;;
  esac
}
# A model folder of the demo's with the given weights (the pretrain checkpoint for LoRA runs).
folder() {
  mkdir -p "$1"
  cp -r "$M/config.json" "$M/vision" "$M"/tokenizer*.json "$1/"
  if [ -f "$M/generation_config.json" ]; then cp "$M/generation_config.json" "$1/"; fi
  cp "$2" "$1/model.safetensors"
}
folder "$OUT/base" "$PRE"
echo "demo $DEMO: $rows SFT rows, $epochs epochs × $per_epoch steps at batch 32, lr $LR; $(lscpu | sed -n 's/^Model name: *//p')" >&2
printf '| run | flags | trainable parameters | of full SFT | steps | train seconds | load | accuracy | colour | shape | count | exists |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
trainable_of() { sed -n 's/.* optimizer steps, \([0-9]*\) trainable parameters.*/\1/p' "$1"; }
full_trainable=""  # from an earlier `full` run in the same --out, when this invocation has none
if [ -f "$OUT/full/train.log" ]; then full_trainable=$(trainable_of "$OUT/full/train.log"); fi
for run in "${RUNS[@]}"; do
  dir=$OUT/$run; rm -rf "$dir"; mkdir -p "$dir"
  # shellcheck disable=SC2046
  "$BIN" sft "${common[@]}" $(flags "$run") --out "$dir" > "$dir/train.log" 2>&1
  load=$(cut -d' ' -f1 /proc/loadavg)
  trainable=$(trainable_of "$dir/train.log")
  [ "$run" = full ] && full_trainable=$trainable
  steps=$(tail -1 "$dir/sft_vlm_metrics.jsonl" | jq .step)
  seconds=$(tail -1 "$dir/sft_vlm_metrics.jsonl" | jq '.elapsed_s | . * 10 | round / 10')
  if [ "$run" = full ]; then
    folder "$dir/model" "$(ls "$dir"/sft_vlm_*.safetensors | head -1)"  # named by the model's width
    ev=(--model "$dir/model")
  else
    ev=(--model "$OUT/base" --lora "$dir")
  fi
  "$BIN" eval "${ev[@]}" --data "$DEMO/data/test.jsonl" --images "$DEMO/data/images" --max-new-tokens 4 --batch 64 \
      --no-perplexity --out "$dir/eval" > "$dir/eval.log" 2>&1
  m=$dir/eval/metrics.json
  share="—"; [ -n "$full_trainable" ] && share=$(jq -n "$trainable / $full_trainable * 1000 | round / 10 | tostring + \" %\"" -r)
  printf '| %s | `%s` | %s | %s | %s | %s | %s | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% |\n' "$run" "$(flags "$run")" \
      "$trainable" "$share" "$steps" "$seconds" "$load" \
      "$(jq '.accuracy * 100' "$m")" "$(jq '.types.colour.accuracy * 100' "$m")" "$(jq '.types.shape.accuracy * 100' "$m")" \
      "$(jq '.types.count.accuracy * 100' "$m")" "$(jq '.types.exists.accuracy * 100' "$m")"
done
