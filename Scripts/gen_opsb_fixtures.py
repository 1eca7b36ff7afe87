#!/usr/bin/env python3
"""Fixtures for the RoPE / attention / patch-embed / top-k ops (Tests/Fixtures/opsB/opsb_parity.json).

Pinned: torch 2.13.0+cpu, transformers 5.24.0 (checked below). Run from the repo root:
    python3 Scripts/gen_opsb_fixtures.py
Every expected value comes from PyTorch or transformers code, never from our Swift implementation:
- RoPE tables: transformers' LlamaRotaryEmbedding (plain) and MiniMind's precompute_freqs_cis
  arithmetic (YaRN; restated below in the same torch float32 operations as Docs/Model.md, "Language model").
- RoPE application: transformers' apply_rotary_pos_emb (half split) and Meta Llama's complex-number
  form (interleaved) via torch.view_as_complex.
- Attention: torch.nn.functional.scaled_dot_product_attention with enable_gqa and a boolean mask,
  forward and autograd gradients.
- Patch embedding: torch.nn.functional.conv2d(stride = kernel), forward and gradients.
- Top-k: torch.topk.
"""
import json
import math
import os

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0", "transformers": "5.24.0"}
require(PINNED)

import torch
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

OUT = os.path.join(FIXTURES, "opsB", "opsb_parity.json")
POSITIONS = [0, 1, 2, 3, 7, 100, 1000, 2047, 2048, 5000, 20000, 32767]
fixture = {}


def put(name, t):
    t = t.detach()
    fixture[name] = {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def minimind_freqs(dim, end, rope_base, yarn):
    """MiniMind's precompute_freqs_cis inverse frequencies (Docs/Model.md, "Language model"), torch float32 throughout."""
    freqs = 1.0 / (rope_base ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    if yarn and end / 2048 > 1.0:
        orig_max, factor, beta_fast, beta_slow = 2048, 16, 32.0, 1.0
        inv_dim = lambda b: (dim * math.log(orig_max / (b * 2 * math.pi))) / (2 * math.log(rope_base))
        low, high = max(math.floor(inv_dim(beta_fast)), 0), min(math.ceil(inv_dim(beta_slow)), dim // 2 - 1)
        ramp = torch.clamp((torch.arange(dim // 2).float() - low) / max(high - low, 0.001), 0, 1)
        freqs = freqs * (1 - ramp + ramp / factor)
    return freqs


# --- RoPE tables -------------------------------------------------------------------------------
pos = torch.tensor(POSITIONS)
for head_dim in (64, 96):
    cfg = LlamaConfig(hidden_size=head_dim * 8, num_attention_heads=8, num_key_value_heads=2, head_dim=head_dim,
                      rope_parameters={"rope_type": "default", "rope_theta": 1e6}, max_position_embeddings=32768)
    rotary = LlamaRotaryEmbedding(cfg)
    x = torch.zeros(1, len(POSITIONS), head_dim)
    cos, sin = rotary(x, pos[None, :])
    put(f"rope_d{head_dim}_inv_freq", rotary.inv_freq)
    put(f"rope_d{head_dim}_cos", cos[0, :, : head_dim // 2])
    put(f"rope_d{head_dim}_sin", sin[0, :, : head_dim // 2])
    # The same table through MiniMind's arithmetic (torch.outer of int positions with float32 freqs).
    freqs = minimind_freqs(head_dim, 32768, 1e6, yarn=True)
    angles = torch.outer(pos, freqs).float()
    put(f"yarn_d{head_dim}_inv_freq", freqs)
    put(f"yarn_d{head_dim}_cos", torch.cos(angles))
    put(f"yarn_d{head_dim}_sin", torch.sin(angles))
fixture["positions"] = POSITIONS

# --- RoPE application -------------------------------------------------------------------------
g = torch.Generator().manual_seed(1)
B, T, H, D, OFFSET = 2, 3, 2, 8, 5
x_bthd = torch.randn(B, T, H, D, generator=g)
cfg = LlamaConfig(hidden_size=D * H, num_attention_heads=H, num_key_value_heads=H, head_dim=D,
                  rope_parameters={"rope_type": "default", "rope_theta": 1e6}, max_position_embeddings=64)
rotary = LlamaRotaryEmbedding(cfg)
position_ids = torch.arange(OFFSET, OFFSET + T)[None, :].expand(B, T)
cos, sin = rotary(x_bthd, position_ids)
x_bhtd = x_bthd.transpose(1, 2)
half, _ = apply_rotary_pos_emb(x_bhtd, x_bhtd, cos, sin)
put("apply_x", x_bthd)
put("apply_half", half.transpose(1, 2))
# Meta Llama: pairs (x[2i], x[2i+1]) as complex numbers times e^{i·pos·inv_freq}.
freqs_cis = torch.polar(torch.ones(T, D // 2), torch.outer(torch.arange(OFFSET, OFFSET + T).float(), rotary.inv_freq))
xc = torch.view_as_complex(x_bthd.reshape(B, T, H, D // 2, 2))
inter = torch.view_as_real(xc * freqs_cis[None, :, None, :]).reshape(B, T, H, D)
put("apply_interleaved", inter)
fixture["apply_offset"] = OFFSET


# --- Attention ----------------------------------------------------------------------------------
def attention_case(name, b, hq, hkv, tq, tk, d, keep):
    q = torch.randn(b, hq, tq, d, generator=g).requires_grad_()
    k = torch.randn(b, hkv, tk, d, generator=g).requires_grad_()
    v = torch.randn(b, hkv, tk, d, generator=g).requires_grad_()
    keep_t = torch.tensor(keep, dtype=torch.bool).reshape(b, tk)
    # End-aligned causal: query i sits at position tk - tq + i.
    qpos = torch.arange(tq)[:, None] + (tk - tq)
    causal = torch.arange(tk)[None, :] <= qpos
    mask = causal[None, None, :, :] & keep_t[:, None, None, :]
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    cot = torch.randn(out.shape, generator=g)
    out.backward(cot)
    for key, t in (("q", q), ("k", k), ("v", v), ("out", out), ("cot", cot)):
        put(f"{name}_{key}", t)
    for key, t in (("q", q), ("k", k), ("v", v)):
        put(f"{name}_grad_{key}", t.grad)
    fixture[f"{name}_keep"] = [1 if f else 0 for f in keep]


# Right padding only, so every query row sees at least one key (PyTorch gives NaN otherwise).
attention_case("attn_prefill", 2, 4, 2, 5, 5, 8, [1] * 5 + [1, 1, 1, 0, 0])
attention_case("attn_decode", 2, 4, 2, 2, 6, 8, [1] * 6 + [1, 1, 0, 1, 1, 1])

# --- Patch embedding ----------------------------------------------------------------------------
pixels = torch.randn(2, 3, 8, 9, generator=g).requires_grad_()
weight = torch.randn(5, 3, 4, 4, generator=g).requires_grad_()
bias = torch.randn(5, generator=g).requires_grad_()
conv = torch.nn.functional.conv2d(pixels, weight, bias, stride=4).flatten(2).transpose(1, 2)
cot = torch.randn(conv.shape, generator=g)
conv.backward(cot)
for key, t in (("pixels", pixels), ("weight", weight), ("bias", bias), ("out", conv), ("cot", cot)):
    put(f"patch_{key}", t)
for key, t in (("pixels", pixels), ("weight", weight), ("bias", bias)):
    put(f"patch_grad_{key}", t.grad)

# --- Top-k --------------------------------------------------------------------------------------
scores = torch.randn(6, 10, generator=g)
values, indices = torch.topk(scores, 3, dim=-1)
put("topk_x", scores)
put("topk_values", values)
fixture["topk_indices"] = indices.reshape(-1).tolist()

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(fixture, f)
print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")
