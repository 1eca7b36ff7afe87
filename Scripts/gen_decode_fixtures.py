"""Fixtures for the packed decode weights (Sources/MiniMindV/Language/PackedMatrix.swift).

1. bf16_values.npy / bf16_bits.npy: float32 values (random, ties, subnormals, huge, inf) and the bit
   patterns of torch's `.to(torch.bfloat16)` (round to nearest even) as int64.
2. {llama,qwen3}_{bf16,int8}_logits.npy: the tiny transformers models of Scripts/gen_model_fixtures.py
   (Tests/Fixtures/models) run by transformers in float32 with every linear weight of the decoder and
   the tied output head replaced by its dequantised decode copy (bf16, or int8 blocks of 32 with one
   scale max|w|/127 each, values round(w·(1/scale)) half away from zero as llama.cpp's Q8_0); the
   embedding lookup keeps float32, as the Swift decode path does. Logits of every prompt position.
Run from the repository root:  python3 Scripts/gen_decode_fixtures.py
"""
import json, os

from fixture_common import FIXTURES, fixture_dir, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "numpy": "2.4.6"}
require(PINNED)
import numpy as np
import torch
from safetensors.torch import load_file

from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

MODELS, OUT = os.path.join(FIXTURES, "models"), fixture_dir("decode")
torch.manual_seed(0)
torch.set_num_threads(1)


def save_npy(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array))


# ---------------------------------------------------------------- bf16 rounding
special = torch.tensor([0.0, -0.0, 1.0, -1.0, 1.00390625, 1.01171875, 1.0 + 2**-9, 1.0 + 3 * 2**-9,
                        3.4e38, -3.4e38, float("inf"), float("-inf"), 1e-40, -1e-40, 1.1754944e-38,
                        65504.0, 1e-3, 0.1, 1 / 3], dtype=torch.float32)
values = torch.cat([special, torch.randn(2000) * 3, torch.randn(500) * 1e-30])
bits = values.to(torch.bfloat16).view(torch.int16).to(torch.int64) & 0xFFFF
save_npy("bf16_values.npy", values.numpy().astype(np.float32))
save_npy("bf16_bits.npy", bits.numpy().astype(np.int64))


# ---------------------------------------------------------------- decode copies of the tiny models
def bf16(w):
    return w.to(torch.bfloat16).to(torch.float32)


def int8(w):
    rows, cols = w.shape
    blocks = w.reshape(rows, cols // 32, 32)
    scale = blocks.abs().amax(dim=2, keepdim=True) / 127
    inv = torch.where(scale > 0, 1 / scale, torch.zeros_like(scale))
    x = blocks * inv
    q = torch.sign(x) * torch.floor(x.abs() + 0.5)  # half away from zero
    return (q * scale).reshape(rows, cols)


def decode_logits(name, cls, config_cls, quantise):
    cfg = json.load(open(os.path.join(MODELS, f"{name}_config.json")))
    model = cls(config_cls(**cfg)).float().eval()
    sd = load_file(os.path.join(MODELS, f"{name}.safetensors"))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    ids = torch.from_numpy(np.load(os.path.join(MODELS, f"{name}_ids.npy"))).unsqueeze(0)
    with torch.no_grad():
        for n, m in model.model.named_modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.copy_(quantise(m.weight))
        hidden = model.model(ids).last_hidden_state[0]
        return (hidden @ quantise(model.model.embed_tokens.weight).T).numpy().astype(np.float32)


for name, cls, config_cls in [("llama", LlamaForCausalLM, LlamaConfig), ("qwen3", Qwen3ForCausalLM, Qwen3Config)]:
    for dtype, quantise in [("bf16", bf16), ("int8", int8)]:
        save_npy(f"{name}_{dtype}_logits.npy", decode_logits(name, cls, config_cls, quantise))
print("wrote", sorted(os.listdir(OUT)))
