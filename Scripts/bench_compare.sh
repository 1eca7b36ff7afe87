#!/usr/bin/env bash
# Runs `minimind-v bench model` and Scripts/bench_torch.py on the same tests, one after the other,
# and prints the ratio table (Swift rate / PyTorch rate) with the machine facts and load averages.
# Usage: Scripts/bench_compare.sh [--bin PATH] [--threads N] [--repetitions N] [--tests LIST]
#                                [--decode-dtype f32|bf16|int8] [--gguf FILE]... [--bf16] [--train] [PRESET...]
#   defaults: --bin .build/release/minimind-v, threads = nproc, repetitions 5,
#             tests img-encode,pp512,tg128, decode dtype f32, presets minimind2-small-v minimind-3v
#   --decode-dtype applies to the Swift side only (PyTorch stays float32) and adds its error vs f32.
#   --gguf FILE (repeatable): also run llama.cpp (Scripts/bench_llamacpp.py) on that GGUF of the first
#             preset's language model (`minimind-v convert DIR OUT.gguf --format gguf --type T`) for the
#             pp/tg tests, and print its rows beside the others.
#   --bf16: also run the img-encode/ppN tests with `--compute bf16` (ratios against PyTorch float32).
#   --train: also time one SFT optimizer step 4 × 640 (`bench train step`, Scripts/bench_torch_train.py,
#             two warm-up steps each; float32, and bf16 with --bf16) for minimind2-small-v, the
#             preset the PyTorch training script builds. With --gguf, --bf16 and --train this is the
#             whole table of Docs/Performance.md ("Issue 21's table").
# Needs python3 with torch 2.13.0+cpu and transformers 5.24.0 (developer tools only).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/minimind-v
THREADS=$(nproc)
REPS=5
TESTS=img-encode,pp512,tg128
DECODE=f32
PRESETS=()
GGUFS=()
BF16=0
TRAIN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --repetitions) REPS=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --decode-dtype) DECODE=$2; shift 2 ;;
    --gguf) [ -f "$2" ] || { echo "--gguf: no file at $2" >&2; exit 1; }; GGUFS+=("$2"); shift 2 ;;
    --bf16) BF16=1; shift ;;
    --train) TRAIN=1; shift ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) PRESETS+=("$1"); shift ;;
  esac
done
[ ${#PRESETS[@]} -eq 0 ] && PRESETS=(minimind2-small-v minimind-3v)
[ -x "$BIN" ] || { echo "no minimind-v binary at $BIN (build it: swift build -c release --product minimind-v, or pass --bin)" >&2; exit 1; }

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), nproc $(nproc), threads $THREADS"
echo "openblas: $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)"
echo
for p in "${PRESETS[@]}"; do
  echo "loadavg before $p swift: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$BIN" bench model --preset "$p" --tests "$TESTS" --repetitions "$REPS" --threads "$THREADS" --decode-dtype "$DECODE" --json > "$OUT/swift-$p.json" 2>/dev/null
  echo "$(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/load-swift-$p"
  echo "loadavg before $p torch: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  python3 Scripts/bench_torch.py --preset "$p" --tests "$TESTS" --repetitions "$REPS" --threads "$THREADS" --json > "$OUT/torch-$p.json" 2>/dev/null
  echo "$(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/load-torch-$p"
done
BF16_TESTS=$(echo "$TESTS" | tr ',' '\n' | grep -E '^(img-encode|pp[0-9]+)$' | paste -sd, || true)
if [ "$BF16" = 1 ] && [ -n "$BF16_TESTS" ]; then
  for p in "${PRESETS[@]}"; do
    echo "loadavg before $p swift bf16: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$BIN" bench model --preset "$p" --tests "$BF16_TESTS" --repetitions "$REPS" --threads "$THREADS" --compute bf16 --json \
      > "$OUT/swift-bf16-$p.json" 2>/dev/null
  done
fi
if [ "$TRAIN" = 1 ]; then
  echo "loadavg before training steps: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  python3 Scripts/bench_torch_train.py step --threads "$THREADS" --repetitions "$REPS" > "$OUT/torch-train.json" 2>/dev/null
  "$BIN" bench train step --threads "$THREADS" --repetitions "$REPS" --json > "$OUT/swift-train-f32.json" 2>/dev/null
  if [ "$BF16" = 1 ]; then
    "$BIN" bench train step --threads "$THREADS" --repetitions "$REPS" --compute bf16 --json > "$OUT/swift-train-bf16.json" 2>/dev/null
  fi
fi
LLAMA_TESTS=$(echo "$TESTS" | tr ',' '\n' | grep -E '^(pp|tg)[0-9]+$' | paste -sd, || true)
for i in "${!GGUFS[@]}"; do
  [ -n "$LLAMA_TESTS" ] || break
  echo "loadavg before llama.cpp ${GGUFS[$i]}: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  python3 Scripts/bench_llamacpp.py --gguf "${GGUFS[$i]}" --tests "$LLAMA_TESTS" --repetitions "$REPS" --threads "$THREADS" > "$OUT/llama-$i.json" 2>/dev/null
done

python3 - "$OUT" "${PRESETS[@]}" <<'PY'
import glob, json, os, sys
out, presets = sys.argv[1], sys.argv[2:]
print("| preset | test | unit | minimind-v (Swift) | PyTorch eager | ratio | loadavg after Swift / PyTorch |")
print("|---|---|---|---|---|---|---|")
for p in presets:
    s = json.load(open(f"{out}/swift-{p}.json")); t = json.load(open(f"{out}/torch-{p}.json"))
    ls = open(f"{out}/load-swift-{p}").read().strip(); lt = open(f"{out}/load-torch-{p}").read().strip()
    tr = {r["test"]: r for r in t["results"]}
    for r in s["results"]:
        o = tr.get(r["test"])
        if o is None: continue
        print(f"| {p} | {r['test']} | {r['unit']} | {r['mean']:.2f} ± {r['stddev']:.2f} | {o['mean']:.2f} ± {o['stddev']:.2f} "
              f"| {r['mean'] / o['mean']:.2f}× | {ls} / {lt} |")
print(f"\nthreads: {s['threads']} · dtype: {s['dtype']} · Swift decode dtype: {s['decode_dtype']} · "
      f"repetitions: {s['results'][0]['repetitions']} · PyTorch: {t['engine']}")
for p in presets:
    a = json.load(open(f"{out}/swift-{p}.json")).get("accuracy")
    if a:
        print(f"{p}: {a['dtype']} decode vs f32 over {a['steps']} greedy steps: max |logit diff| {a['max_abs_logit_diff']:.4f} "
              f"(max |logit| {a['max_abs_logit']:.2f}), argmax agreement {100 * a['argmax_agreement']:.1f} %, "
              f"free-running ids equal for the first {a['matching_prefix']}")
for p in presets:
    f = f"{out}/swift-bf16-{p}.json"
    if not os.path.exists(f): continue
    b = json.load(open(f)); tr = {r["test"]: r for r in json.load(open(f"{out}/torch-{p}.json"))["results"]}
    print(f"\n{p} with --compute bf16 against PyTorch float32:")
    for r in b["results"]:
        o = tr.get(r["test"])
        if o: print(f"  {r['test']}: {r['mean']:.2f} ± {r['stddev']:.2f} {r['unit']} · {r['mean'] / o['mean']:.2f}× PyTorch")
if os.path.exists(f"{out}/torch-train.json"):
    t = json.load(open(f"{out}/torch-train.json"))
    print(f"\nSFT step {t['batch']} × {t['length']} (minimind2-small-v), seconds: PyTorch float32 {t['mean']:.3f} ± {t['std']:.3f}")
    for c in ("f32", "bf16"):
        f = f"{out}/swift-train-{c}.json"
        if not os.path.exists(f): continue
        st = json.load(open(f))["step"]
        print(f"  minimind-v {c}: {st['meanSeconds']:.3f} ± {st['stddevSeconds']:.3f} · {t['mean'] / st['meanSeconds']:.2f}× PyTorch "
              f"(each step: {' '.join(f'{x:.3f}' for x in st['samplesSeconds'])})")
for f in sorted(glob.glob(f"{out}/llama-*.json")):
    l = json.load(open(f)); s0 = json.load(open(f"{out}/swift-{presets[0]}.json"))
    mine = {r["test"]: r for r in s0["results"]}
    print(f"\nllama.cpp ({l['engine']}) on {os.path.basename(l['gguf'])}, {l['threads']} threads:")
    for r in l["results"]:
        m = mine.get(r["test"])
        ratio = f" · minimind-v / llama.cpp {m['mean'] / r['mean']:.2f}×" if m else ""
        print(f"  {r['test']}: {r['mean']:.2f} ± {r['stddev']:.2f} {r['unit']}{ratio}")
PY
