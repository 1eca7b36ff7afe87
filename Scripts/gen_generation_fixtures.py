#!/usr/bin/env python3
"""Generates the generation fixtures in Tests/Fixtures/generation/ from public reference code.

1. Tiny float32 transformers LlamaForCausalLM (= MiniMind2 LM) and Qwen3ForCausalLM (= minimind-3 LM)
   initialised with initializer_range 0.3, so greedy decoding is varied and depends on the context
   (with the default 0.02 a tiny random model just repeats one token, which would hide cache bugs).
   For two prompts of different lengths: `generate` ids greedy (eos off), greedy with
   repetition_penalty=1.3 (transformers' RepetitionPenaltyLogitsProcessor: positive logits / p,
   negative * p, over every id in the sequence), and both prompts batched with left padding and an
   attention mask.
2. The sampling filters on random logits, in upstream minimind's order and code: temperature,
   repetition penalty (transformers' processor), top-k and top-p exactly as in minimind's
   `MiniMindForCausalLM.generate` (lines quoted below).
Run from the repository root:  python3 Scripts/gen_generation_fixtures.py
"""
import json, os

from fixture_common import fixture_dir, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0", "numpy": "2.4.6"}
require(PINNED)

import numpy as np
import torch
from safetensors.torch import save_file

from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM
from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

OUT = fixture_dir("generation")
torch.manual_seed(0)
torch.set_num_threads(1)
VOCAB, NEW = 96, 16


def save_npy(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array))


def lm_fixture(name, model, cfg):
    model.eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    save_file({k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()},
              os.path.join(OUT, f"{name}.safetensors"))
    with open(os.path.join(OUT, f"{name}_config.json"), "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)
    prompts = [torch.randint(3, VOCAB, (1, 9)), torch.randint(3, VOCAB, (1, 14))]
    common = dict(max_new_tokens=NEW, min_new_tokens=NEW, eos_token_id=None, pad_token_id=0, do_sample=False)
    with torch.no_grad():
        for i, ids in enumerate(prompts):
            n = ids.shape[1]
            save_npy(f"{name}_prompt{i}.npy", ids[0].numpy().astype(np.int64))
            save_npy(f"{name}_prompt{i}_greedy.npy", model.generate(ids, **common)[0, n:].numpy().astype(np.int64))
            out = model.generate(ids, repetition_penalty=1.3, **common)
            save_npy(f"{name}_prompt{i}_penalty13.npy", out[0, n:].numpy().astype(np.int64))
        # Both prompts at once, left-padded with 0 and masked.
        width = max(p.shape[1] for p in prompts)
        batch = torch.zeros(2, width, dtype=torch.long)
        mask = torch.zeros(2, width, dtype=torch.long)
        for i, p in enumerate(prompts):
            batch[i, width - p.shape[1]:] = p[0]
            mask[i, width - p.shape[1]:] = 1
        out = model.generate(batch, attention_mask=mask, **common)
        save_npy(f"{name}_batch_greedy.npy", out[:, width:].numpy().astype(np.int64))


llama_cfg = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=1e6, max_position_embeddings=256,
                 tie_word_embeddings=True, attention_bias=False, mlp_bias=False, hidden_act="silu", initializer_range=0.3)
lm_fixture("llama", LlamaForCausalLM(LlamaConfig(**llama_cfg)).float(), llama_cfg)
qwen_cfg = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, head_dim=8, rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=256,
                tie_word_embeddings=True, attention_bias=False, hidden_act="silu", use_sliding_window=False,
                initializer_range=0.3)
lm_fixture("qwen3", Qwen3ForCausalLM(Qwen3Config(**qwen_cfg)).float(), qwen_cfg)

# ---------------------------------------------------------------- sampling filters
ROWS, V = 8, 40
TEMPERATURE, PENALTY, TOP_K, TOP_P = 0.7, 1.2, 12, 0.85
logits = torch.randn(ROWS, V) * 2
seen = torch.randint(0, V, (ROWS, 10))  # ids "already in the sequence" per row (repeats included)
x = logits / TEMPERATURE
x = RepetitionPenaltyLogitsProcessor(PENALTY)(seen, x)
# minimind MiniMindForCausalLM.generate:
#   if top_k > 0: logits[logits < torch.topk(logits, top_k)[0][..., -1, None]] = -float('inf')
#   if top_p < 1.0:
#       sorted_logits, sorted_indices = torch.sort(logits, descending=True)
#       mask = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1) > top_p
#       mask[..., 1:], mask[..., 0] = mask[..., :-1].clone(), 0
#       logits[mask.scatter(1, sorted_indices, mask)] = -float('inf')
x[x < torch.topk(x, TOP_K)[0][..., -1, None]] = -float("inf")
sorted_logits, sorted_indices = torch.sort(x, descending=True)
mask = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1) > TOP_P
mask[..., 1:], mask[..., 0] = mask[..., :-1].clone(), 0
x[mask.scatter(1, sorted_indices, mask)] = -float("inf")
save_npy("filters_logits.npy", logits.numpy().astype(np.float32))
save_npy("filters_seen.npy", seen.numpy().astype(np.int64))
save_npy("filters_expected.npy", x.numpy().astype(np.float32))
with open(os.path.join(OUT, "filters.json"), "w") as f:
    json.dump({"temperature": TEMPERATURE, "repetition_penalty": PENALTY, "top_k": TOP_K, "top_p": TOP_P}, f, indent=1)
print("wrote", sorted(os.listdir(OUT)))
