#!/usr/bin/env python3
"""PyTorch CPU float32 reference for `minimind-v bench train` (Docs/Performance.md, "Training").

Pinned: torch 2.13.0+cpu, transformers 5.24.0, safetensors 0.8.0, numpy 2.4.6 (checked at runtime).

minimind2-small-v sizes: LlamaForCausalLM (vocab 6400, hidden 512, 8 layers, 8 heads / 2 kv,
intermediate 1408, RMSNorm eps 1e-5, rope theta 1e6, tied embeddings) and the Linear(768→512)
projector. Image features [196, 768] are spliced into the run of image ids (Docs/Model.md, "Projector and image splicing"); the data is
built exactly as Sources/MiniMindVBench/TrainingBenchmark.swift `SyntheticTrainingData` builds it.

  step:   one optimizer step (zero_grad, forward, backward, clip_grad_norm_ 1.0, AdamW) on a padded
          batch, mean ± stddev (and each step's seconds) after --warmup steps (default 2: the second
          step is still slow in both engines, as memory is first touched). --stage sft trains
          projector + whole LM, pretrain projector + last layer (upstream MiniMind2-V freeze policies).
  recipe: upstream's loop over --epochs epochs: every sample padded to --length (X = ids[:-1], Y = labels[1:]), the
          frozen CLIP ViT-B/16 (transformers, random init) recomputed on the batch's pixels every
          step under no_grad, the cosine schedule base·(0.1 + 0.45·(1 + cos(π t/T))), clip 1.0,
          AdamW(wd 0.01). The features spliced are the shared synthetic ones so the losses can be
          compared with Swift; the encoder pass is run for its cost, as upstream pays it.
          --weights loads the Swift model's random weights (`minimind-v bench train --write-weights`).
"""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import transformers
import safetensors.torch

PINS = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "numpy": "2.4.6"}
for name, mod in (("torch", torch), ("transformers", transformers), ("numpy", np)):
    if mod.__version__ != PINS[name]:
        sys.exit(f"{name} {mod.__version__} found, {PINS[name]} pinned")

VOCAB, HIDDEN, LAYERS, HEADS, KV, INTER = 6400, 512, 8, 8, 2, 1408
IMAGE_TOKENS, FEATURE_DIM, IMAGE_ID = 196, 768, 34
MASK64 = (1 << 64) - 1


def lcg(s):
    s = (s * 6364136223846793005 + 1442695040888963407) & MASK64
    return s, s >> 33


def length_range(text, max_len):
    """Sample lengths for `text` = (min, max) text tokens after the image, capped at max_len."""
    head = IMAGE_TOKENS + 1
    lo_text, hi_text = text if text else (7, max(7, max_len - head))
    low = min(head + lo_text, max_len)
    return low, max(low, min(head + hi_text, max_len))


def sample_length(index, lengths):
    low, high = lengths
    _, r = lcg((index + 1000003) & MASK64)
    return low + r % (high - low + 1)


def sample(index, length, prompt_tokens=0):
    s = (index * 7919 + 17) & MASK64
    ids = [1] + [IMAGE_ID] * IMAGE_TOKENS
    labels = [-100] * (IMAGE_TOKENS + 1)
    while len(ids) < length:
        s, r = lcg(s)
        t = 2 + r % (VOCAB - 2)
        if t == IMAGE_ID:
            t = 3
        labels.append(-100 if len(ids) - IMAGE_TOKENS - 1 < prompt_tokens else t)
        ids.append(t)
    return ids[:length], labels[:length]


def bucketed(order, lengths, window):
    """TrainingRecipe.lengthBuckets: each window of samples sorted by length, longest first (stable)."""
    out = []
    for start in range(0, len(order), window):
        out += sorted(order[start:start + window], key=lambda i: -lengths[i])
    return out


def features(index):
    n = IMAGE_TOKENS * FEATURE_DIM
    x = (index * n + np.arange(n, dtype=np.float64)) * 0.37
    return torch.from_numpy((np.sin(x) * 0.5).astype(np.float32).reshape(IMAGE_TOKENS, FEATURE_DIM))


def build_model():
    cfg = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                                   num_attention_heads=HEADS, num_key_value_heads=KV, intermediate_size=INTER,
                                   rms_norm_eps=1e-5, max_position_embeddings=32768, tie_word_embeddings=True,
                                   attention_bias=False, mlp_bias=False, hidden_act="silu",
                                   rope_parameters={"rope_type": "default", "rope_theta": 1e6})
    lm = transformers.LlamaForCausalLM(cfg).float()
    proj = torch.nn.Linear(FEATURE_DIM, HIDDEN)
    return lm, proj


def load_weights(lm, proj, path):
    state = safetensors.torch.load_file(path)
    proj.weight.data.copy_(state.pop("vision_proj.vision_proj.0.weight"))
    proj.bias.data.copy_(state.pop("vision_proj.vision_proj.0.bias"))
    missing, unexpected = lm.load_state_dict(state, strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        sys.exit(f"weights {path}: missing {missing}, unexpected {unexpected}")
    lm.tie_weights()


def trainable(lm, proj, stage):
    for p in lm.parameters():
        p.requires_grad_(stage == "sft")
    if stage == "pretrain":
        for p in lm.model.layers[LAYERS - 1].parameters():
            p.requires_grad_(True)
    return list(proj.parameters()) + [p for p in lm.parameters() if p.requires_grad]


def loss_of(lm, proj, ids, targets, feats):
    """ids/targets [B, T]; feats [B, 196, 768]; every sample's image run is at positions 1…196."""
    h = lm.model.embed_tokens(ids)
    h = torch.cat([h[:, :1], proj(feats), h[:, 1 + IMAGE_TOKENS:]], dim=1)
    logits = lm(inputs_embeds=h).logits
    return torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), ignore_index=-100)


def run_step(args):
    lm, proj = build_model()
    lm.train()
    params = trainable(lm, proj, args.stage)
    opt = torch.optim.AdamW(params, lr=1e-6 if args.stage == "sft" else 4e-4, weight_decay=0.01)
    rows = [sample(i, args.length + 1) for i in range(args.batch)]
    ids = torch.tensor([r[0][:-1] for r in rows])
    targets = torch.tensor([r[1][1:] for r in rows])
    feats = torch.stack([features(i) for i in range(args.batch)])

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_of(lm, proj, ids, targets, feats)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for _ in range(2 if args.warmup is None else args.warmup):
        step()
    times = []
    for _ in range(args.repetitions):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    sd = statistics.stdev(times) if len(times) > 1 else 0.0
    n = sum(p.numel() for p in params)
    print(json.dumps({"stage": args.stage, "batch": args.batch, "length": args.length, "trainable": n,
                      "mean": statistics.mean(times), "std": sd, "n": len(times), "times": [round(t, 4) for t in times], "threads": torch.get_num_threads()}))


def run_recipe(args):
    lm, proj = build_model()
    if args.weights:
        load_weights(lm, proj, args.weights)
    lm.train()
    params = trainable(lm, proj, args.stage)
    base = 1e-6 if args.stage == "sft" else 4e-4
    opt = torch.optim.AdamW(params, lr=base, weight_decay=0.01)
    encoder = None
    if not args.no_encoder:
        vcfg = transformers.CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                             num_attention_heads=12, image_size=224, patch_size=16)
        encoder = transformers.CLIPVisionModel(vcfg).float().eval()
        for p in encoder.parameters():
            p.requires_grad_(False)
    gen = torch.Generator().manual_seed(7)
    text = tuple(int(x) for x in args.text.split("-")) if args.text else None
    lengths = [sample_length(i, length_range(text, args.length)) for i in range(args.samples)]
    order = list(range(args.samples))
    if args.length_buckets and args.length_buckets > 1:
        order = bucketed(order, lengths, args.length_buckets * args.batch)
    batches = [order[s:s + args.batch] for s in range(0, args.samples, args.batch)] * args.epochs
    total = len(batches)
    losses = []
    encoder_seconds = 0.0
    t0 = time.perf_counter()
    for t, idx in enumerate(batches):
        for g in opt.param_groups:
            g["lr"] = base * (0.1 + 0.45 * (1 + math.cos(math.pi * t / total)))
        rows = [sample(i, lengths[i], args.prompt_tokens) for i in idx]
        padded = [(r[0] + [0] * (args.length - len(r[0])), r[1] + [-100] * (args.length - len(r[1]))) for r in rows]
        ids = torch.tensor([p[0][:-1] for p in padded])
        targets = torch.tensor([p[1][1:] for p in padded])
        if encoder is not None:
            e0 = time.perf_counter()
            with torch.no_grad():
                pixels = torch.randn(len(idx), 3, 224, 224, generator=gen)
                _ = encoder(pixel_values=pixels).last_hidden_state[:, 1:, :]
            encoder_seconds += time.perf_counter() - e0
        feats = torch.stack([features(i) for i in idx])
        opt.zero_grad(set_to_none=True)
        loss = loss_of(lm, proj, ids, targets, feats)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
    wall = time.perf_counter() - t0
    print(json.dumps({"samples": args.samples, "epochs": args.epochs, "batch": args.batch, "max_seq_len": args.length,
                      "stage": args.stage, "text": args.text, "prompt_tokens": args.prompt_tokens,
                      "length_buckets": args.length_buckets,
                      "wall_seconds": wall, "encoder_seconds": encoder_seconds, "threads": torch.get_num_threads(),
                      "losses": losses}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["step", "recipe"])
    ap.add_argument("--stage", choices=["sft", "pretrain"], default="sft")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--length", type=int, default=640)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--text", help="text tokens after the image, MIN-MAX (default 7 up to --length)")
    ap.add_argument("--prompt-tokens", type=int, default=0, help="first N text tokens carry no label")
    ap.add_argument("--length-buckets", type=int, help="the same batches as the Swift run with --length-buckets N")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed steps first (default: step 2, as the Swift side: PyTorch's second step is slow too; recipe: unused)")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights")
    ap.add_argument("--no-encoder", action="store_true")
    args = ap.parse_args()
    if args.warmup is not None and args.warmup < 0:
        sys.exit("--warmup must be >= 0")
    if args.mode == "step" and args.length < IMAGE_TOKENS + 2:
        sys.exit(f"--length must be at least {IMAGE_TOKENS + 2} for step (BOS, the {IMAGE_TOKENS} image ids, one text token)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    (run_step if args.mode == "step" else run_recipe)(args)


if __name__ == "__main__":
    main()
