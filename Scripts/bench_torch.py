#!/usr/bin/env python3
"""PyTorch baseline for `minimind-v bench model`: the same tests at the same shapes.

Pinned: torch 2.13.0+cpu, transformers 5.24.0 (checked at runtime; --allow-other-versions skips it).

What is measured (float32, eager PyTorch, torch.inference_mode(), torch.set_num_threads(--threads),
random init; transformers picks its default attention implementation, SDPA, unless --attn says otherwise):
  img-encode  one image [1, 3, S, S] through CLIPVisionModel (minimind2 presets: ViT-B/16, 224 px) or
              SiglipVisionModel without the pooling head (minimind-3 presets: ViT-B/32, 256 px)  → images/s
  pp512       one forward of 512 token ids with a fresh DynamicCache and logits_to_keep=1 (only the
              last position goes through the LM head, as generate's prefill does)               → tokens/s
  tg128       after a 16-token prompt (not timed), 128 single-token forwards with the DynamicCache,
              each followed by an argmax that picks the next id (generate's greedy per-step work
              without its logits processors and stopping checks)                                → tokens/s
The LM is LlamaForCausalLM for MiniMind2 presets (heads 8, kv 2, head_dim hidden/8, SwiGLU width
64·ceil(int(8h/3)/64), rms eps 1e-5, rope θ 1e6, tied embeddings) and Qwen3ForCausalLM for minimind-3
presets (heads 8, kv 4, head_dim 96, QK-norm, width ceil(hπ/64)·64, eps 1e-6). MoE presets are not
covered (transformers has no MiniMind MoE with the same routing); the script says so and exits.

Each test: --warmup runs, then --repetitions timed runs; the rate of each run is computed and the
mean ± sample stddev of those rates is reported (llama-bench's avg_ts / stddev_ts).
Output: a markdown table, or with --json the same fields as `minimind-v bench model --json`.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0"}

PRESETS = {
    # name: (generation, hidden, layers)
    "minimind2-small-v": ("minimind2", 512, 8),
    "minimind2-v": ("minimind2", 768, 16),
    "minimind-3v": ("minimind3", 768, 8),
}
MOE_PRESETS = {"minimind2-v-moe", "minimind-3v-moe"}
VOCAB = 6400
PROMPT_FOR_TG = 16


def check_versions(allow_other):
    import torch
    import transformers
    found = {"torch": torch.__version__, "transformers": transformers.__version__}
    bad = {k: v for k, v in found.items() if v != PINNED[k]}
    if bad and not allow_other:
        sys.exit(f"bench_torch.py is pinned to {PINNED}, found {found} (use --allow-other-versions to run anyway)")
    return found


def lm_model(preset, attn):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM
    gen, hidden, layers = PRESETS[preset]
    common = dict(vocab_size=VOCAB, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=8,
                  max_position_embeddings=32768, rope_theta=1e6, tie_word_embeddings=True, hidden_act="silu",
                  bos_token_id=1, eos_token_id=2, pad_token_id=0, attn_implementation=attn)
    if gen == "minimind2":
        inter = 64 * ((8 * hidden // 3 + 63) // 64)
        cfg = LlamaConfig(num_key_value_heads=2, head_dim=hidden // 8, intermediate_size=inter, rms_norm_eps=1e-5,
                          attention_bias=False, mlp_bias=False, **common)
        model = LlamaForCausalLM(cfg)
    else:
        inter = math.ceil(hidden * math.pi / 64) * 64
        cfg = Qwen3Config(num_key_value_heads=4, head_dim=hidden // 8, intermediate_size=inter, rms_norm_eps=1e-6,
                          attention_bias=False, **common)
        model = Qwen3ForCausalLM(cfg)
    return model.to(torch.float32).eval()


def vision_model(preset, attn):
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel
    gen = PRESETS[preset][0]
    if gen == "minimind2":
        cfg = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                               image_size=224, patch_size=16, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                               attn_implementation=attn)
        model, size = CLIPVisionModel(cfg), 224
    else:
        cfg = SiglipVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                                 image_size=256, patch_size=32, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                                 vision_use_head=False, attn_implementation=attn)
        model, size = SiglipVisionModel(cfg), 256
    return model.to(torch.float32).eval(), size


def measure(run, warmup, repetitions, work):
    """run() performs one timed unit and returns its seconds; rates are work / seconds."""
    for _ in range(warmup):
        run()
    seconds = [run() for _ in range(repetitions)]
    rates = [work / s for s in seconds]
    return {
        "mean": statistics.fmean(rates),
        "stddev": statistics.stdev(rates) if len(rates) > 1 else 0.0,
        "seconds_mean": statistics.fmean(seconds),
        "seconds_stddev": statistics.stdev(seconds) if len(seconds) > 1 else 0.0,
        "repetitions": repetitions,
    }


def bench_img(preset, args):
    import torch
    model, size = vision_model(preset, args.attn)
    g = torch.Generator().manual_seed(0)
    pixels = torch.randn(1, 3, size, size, generator=g)

    def run():
        t0 = time.perf_counter()
        model(pixel_values=pixels)
        return time.perf_counter() - t0
    return measure(run, args.warmup, args.repetitions, 1.0)


def bench_pp(model, n, args):
    import torch
    from transformers import DynamicCache
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, VOCAB, (1, n), generator=g)

    def run():
        cache = DynamicCache(config=model.config)
        t0 = time.perf_counter()
        model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        return time.perf_counter() - t0
    return measure(run, args.warmup, args.repetitions, float(n))


def bench_tg(model, n, args):
    import torch
    from transformers import DynamicCache
    g = torch.Generator().manual_seed(2)
    prompt = torch.randint(3, VOCAB, (1, PROMPT_FOR_TG), generator=g)

    def run():
        cache = DynamicCache(config=model.config)
        out = model(input_ids=prompt, past_key_values=cache, use_cache=True, logits_to_keep=1)
        nxt = out.logits[:, -1:].argmax(-1)
        t0 = time.perf_counter()
        for _ in range(n):
            out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
            nxt = out.logits[:, -1:].argmax(-1)
        return time.perf_counter() - t0
    return measure(run, args.warmup, args.repetitions, float(n))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", required=True, help=", ".join(PRESETS))
    p.add_argument("--tests", default="img-encode,pp512,tg128", help="img-encode, ppN, tgN (comma separated)")
    p.add_argument("--repetitions", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"], help="transformers attention implementation")
    p.add_argument("--json", action="store_true")
    p.add_argument("--allow-other-versions", action="store_true")
    args = p.parse_args()
    if args.preset in MOE_PRESETS:
        sys.exit(f"{args.preset}: MoE presets have no transformers equivalent with MiniMind's routing; not measured")
    if args.preset not in PRESETS:
        sys.exit(f"unknown preset {args.preset!r}; choose one of {', '.join(PRESETS)}")
    if args.repetitions < 1 or args.threads < 1:
        sys.exit("--repetitions and --threads must be positive")
    versions = check_versions(args.allow_other_versions)

    import torch
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    tests = [t.strip() for t in args.tests.split(",") if t.strip()]
    results = []
    with torch.inference_mode():
        lm = None
        for test in tests:
            print(f"… {test}", file=sys.stderr)
            if test == "img-encode":
                r, unit = bench_img(args.preset, args), "images/s"
            elif test.startswith("pp") and test[2:].isdigit():
                lm = lm or lm_model(args.preset, args.attn)
                r, unit = bench_pp(lm, int(test[2:]), args), "tokens/s"
            elif test.startswith("tg") and test[2:].isdigit():
                lm = lm or lm_model(args.preset, args.attn)
                r, unit = bench_tg(lm, int(test[2:]), args), "tokens/s"
            else:
                sys.exit(f"unknown test {test!r} (img-encode, ppN, tgN)")
            results.append({"test": test, "unit": unit, **r})

    report = {
        "engine": f"pytorch {versions['torch']} eager ({args.attn}), transformers {versions['transformers']}",
        "preset": args.preset,
        "threads": torch.get_num_threads(),
        "dtype": "f32",
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(f"engine: {report['engine']} · preset {args.preset} · threads {report['threads']} · dtype f32 · {platform.machine()}\n")
        print("| preset | test | rate | ± | unit | reps |\n|---|---|---|---|---|---|")
        for r in results:
            print(f"| {args.preset} | {r['test']} | {r['mean']:.2f} | {r['stddev']:.2f} | {r['unit']} | {r['repetitions']} |")


if __name__ == "__main__":
    main()
