#!/usr/bin/env python3
"""Generates Tests/Fixtures/models/llama_untied_bias*: a tiny transformers LlamaForCausalLM with an
untied LM head (tie_word_embeddings=False) and biases on every attention and MLP projection
(attention_bias, mlp_bias), with its float32 logits. The reference for an untied head loaded and
saved as its own tensor, and for biased o_proj/down_proj in the cached decode path.
Run from the repository root:  python3 Scripts/gen_untied_bias_fixture.py
"""
import json, os

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0", "numpy": "2.4.6"}
require(PINNED)

import numpy as np
import torch
from safetensors.torch import save_file

from transformers import LlamaConfig, LlamaForCausalLM

OUT = os.path.join(FIXTURES, "models")
torch.manual_seed(14)
torch.set_num_threads(1)

VOCAB = 96
cfg = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
           num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=1e6,
           max_position_embeddings=256, tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
           hidden_act="silu", initializer_range=0.3)
model = LlamaForCausalLM(LlamaConfig(**cfg)).float().eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("bias"):  # transformers initialises biases to zero: make them matter
            p.copy_(0.5 * torch.randn_like(p))
        elif "norm" in name:
            p.copy_(1 + 0.1 * torch.randn_like(p))
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr(), "head must be untied"
    ids = torch.randint(3, VOCAB, (1, 12))
    logits = model(ids).logits[0]

state = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
assert "lm_head.weight" in state and not torch.equal(state["lm_head.weight"], state["model.embed_tokens.weight"])
save_file(state, os.path.join(OUT, "llama_untied_bias.safetensors"))
np.save(os.path.join(OUT, "llama_untied_bias_ids.npy"), ids[0].numpy().astype(np.int64))
np.save(os.path.join(OUT, "llama_untied_bias_logits.npy"), logits.numpy().astype(np.float32))
with open(os.path.join(OUT, "llama_untied_bias_config.json"), "w") as f:
    json.dump(cfg, f, indent=1, sort_keys=True)
print("wrote llama_untied_bias.* to", OUT)
