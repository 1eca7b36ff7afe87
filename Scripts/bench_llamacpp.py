#!/usr/bin/env python3
"""Developer benchmark (not CI): llama.cpp's pp512 / tg128 on a GGUF, as llama-bench measures them.

Debian ships no llama-bench; llama-cpp-python builds llama.cpp from source with the machine's own
instruction set (GGML_NATIVE), so its library is the peer here. pp512 evaluates 512 random prompt
tokens in one batch; tg128 decodes 128 tokens one at a time after one prompt token. Prints JSON in the
shape of `minimind-v bench model --json` so Scripts/bench_compare.sh can put it beside the others.

  pip install llama-cpp-python==0.3.36
  minimind-v convert MODEL.safetensors OUT.gguf --format gguf --type f32|f16|q8_0 ...
  python3 Scripts/bench_llamacpp.py --gguf OUT.gguf [--tests pp512,tg128] [--threads 2] [--repetitions 5]
"""
import argparse, json, random, statistics, sys, time
from importlib.metadata import version as pkg_version

PINNED = "0.3.36"
if pkg_version("llama-cpp-python") != PINNED:
    sys.exit(f"llama-cpp-python {pkg_version('llama-cpp-python')} found, {PINNED} pinned: pip install llama-cpp-python=={PINNED}")
from llama_cpp import Llama

ap = argparse.ArgumentParser()
ap.add_argument("--gguf", required=True)
ap.add_argument("--tests", default="pp512,tg128")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repetitions", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
if args.threads < 1 or args.repetitions < 1 or args.warmup < 0:
    sys.exit("--threads and --repetitions must be >= 1, --warmup >= 0")

llm = Llama(model_path=args.gguf, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=args.threads,
            n_threads_batch=args.threads, seed=args.seed, verbose=False)
rng = random.Random(args.seed)
vocab = llm.n_vocab()

def run(test):
    kind, n = test[:2], int(test[2:])
    if kind not in ("pp", "tg") or not 1 <= n <= 512:
        sys.exit(f"test {test!r}: expected pp<N> or tg<N> with 1 <= N <= 512")
    tokens = [rng.randrange(vocab) for _ in range(n)]
    llm.reset()
    if kind == "pp":
        start = time.perf_counter()
        llm.eval(tokens)
        return n / (time.perf_counter() - start)
    llm.eval(tokens[:1])
    start = time.perf_counter()
    for t in tokens:
        llm.eval([t])
    return n / (time.perf_counter() - start)

results = []
for test in args.tests.split(","):
    for _ in range(args.warmup):
        run(test)
    rates = [run(test) for _ in range(args.repetitions)]
    results.append({"test": test, "unit": "tokens/s", "mean": statistics.mean(rates),
                    "stddev": statistics.stdev(rates) if len(rates) > 1 else 0.0,
                    "repetitions": args.repetitions})
print(json.dumps({"engine": f"llama.cpp via llama-cpp-python {PINNED}", "gguf": args.gguf,
                  "threads": args.threads, "results": results}, indent=1))
