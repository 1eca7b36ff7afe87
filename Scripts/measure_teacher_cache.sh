#!/usr/bin/env bash
# Distillation with and without the teacher top-k cache (Docs/Compression.md, "The teacher cache"):
# the quick demo's model as teacher, a student a quarter its size (hidden 32, head_dim 8,
# intermediate 64) from random weights, 12 epochs of the demo's SFT data at batch 16, α 0.5, T 2.
# Each run starts from an empty teacher cache; its weights are converted and answer the test questions
# through `minimind-v eval`. Prints one Markdown row per run: training seconds (from the metrics),
# accuracy, perplexity, the cache's read/computed counts, and the load average at the end.
# Usage: Scripts/measure_teacher_cache.sh [--bin PATH] [--demo DIR] [--out DIR] [RUN...]
#   runs: plain (teacher on the fly), k64, k16, kvocab (K = the vocabulary); default: plain k64 plain k64.
#   defaults: .build/release/minimind-v, /tmp/distill-demo (made with `minimind-v demo --quick`), /tmp/kdcache.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/minimind-v; D=/tmp/distill-demo; OUT=/tmp/kdcache; RUNS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --demo) D=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) RUNS+=("$1"); shift ;;
  esac
done
[ ${#RUNS[@]} -eq 0 ] && RUNS=(plain k64 plain k64)
[ -d "$D/model" ] || "$BIN" demo --quick --out "$D"
mkdir -p "$OUT"
python3 - "$D/model/config.json" "$OUT/student.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["language"].update(hidden_size=32, head_dim=8, intermediate_size=64)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
vocab=$(python3 -c "import json;print(json.load(open('$D/model/config.json'))['language']['vocab_size'])")
common=("$D/data/sft.jsonl" --images "$D/data/images" --vision "$D/model/vision" --tokenizer "$D/model"
        --temperature 2 --alpha 0.5 --lr 3e-3 --batch-size 16 --epochs 12 --threads 2 --feature-cache "$OUT/features")
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%FT%TZ)" >&2
printf '| run | training s | accuracy | perplexity | teacher cache | load |\n|---|---|---|---|---|---|\n'
for run in "${RUNS[@]}"; do
  case $run in
    plain) extra=() ;;
    k64) extra=(--teacher-cache "$OUT/tc" --teacher-top-k 64) ;;
    k16) extra=(--teacher-cache "$OUT/tc" --teacher-top-k 16) ;;
    kvocab) extra=(--teacher-cache "$OUT/tc" --teacher-top-k "$vocab") ;;
    *) echo "unknown run $run" >&2; exit 1 ;;
  esac
  rm -rf "$OUT/tc" "$OUT/$run" "$OUT/$run-model" "$OUT/$run-eval"
  "$BIN" distill --teacher "$D/model" --student-config "$OUT/student.json" "${common[@]}" "${extra[@]}" --out "$OUT/$run" > "$OUT/$run.log" 2>&1
  "$BIN" convert "$OUT/$run/distill_vlm_32.safetensors" "$OUT/$run-model" --config "$OUT/student.json" \
      --vision "$D/model/vision" --tokenizer "$D/model" > /dev/null
  "$BIN" eval --model "$OUT/$run-model" --data "$D/data/test.jsonl" --images "$D/data/images" --max-new-tokens 4 \
      --out "$OUT/$run-eval" > /dev/null 2>&1
  read -r acc ppl < <(python3 -c "import json;m=json.load(open('$OUT/$run-eval/metrics.json'));print(round(m['accuracy'],4), round(m['perplexity'],4))")
  secs=$(tail -1 "$OUT/$run/distill_vlm_metrics.jsonl" | python3 -c "import json,sys;print(round(json.load(sys.stdin)['elapsed_s'],1))")
  echo "| $run | $secs | $acc | $ppl | $(sed -n 's/^teacher cache .*: //p' "$OUT/$run.log") | $(cut -d' ' -f1 /proc/loadavg) |"
done
