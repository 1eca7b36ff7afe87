#!/usr/bin/env python3
"""Fixtures for softmax / cross-entropy / norms / activations / SwiGLU / embedding
(Tests/Fixtures/opsA/opsa_parity.json).

Pinned: torch 2.13.0+cpu, transformers 5.24.0 (checked below). Run from the repo root:
    python3 Scripts/gen_opsa_fixtures.py
Every expected value comes from PyTorch or transformers, never from our Swift implementation:
forward outputs and autograd gradients of a fixed random cotangent (stored as `<name>_cot`),
all in float32: torch.softmax / log_softmax (with -inf masks), F.cross_entropy (ignore_index -100,
mean / sum / none), F.rms_norm, F.layer_norm, F.silu, F.gelu (none and tanh), transformers'
QuickGELUActivation, silu(gate) * up, F.embedding.
"""
import json
import os

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0", "transformers": "5.24.0"}
require(PINNED)

import torch
import torch.nn.functional as F
from transformers.activations import QuickGELUActivation

OUT = os.path.join(FIXTURES, "opsA", "opsa_parity.json")
torch.manual_seed(0)
fixture = {}


def encode(v):
    """JSON has no infinities: non-finite floats are written as the strings Swift's decoder accepts."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def put(name, t):
    t = t.detach().float()
    fixture[name] = {"shape": list(t.shape), "data": [encode(float(v)) for v in t.reshape(-1).tolist()]}


def leaf(name, t):
    t = t.float().clone().requires_grad_(True)
    put(name, t)
    return t


def run(prefix, out, inputs):
    """Stores out, a cotangent, and d(sum(out * cot))/d(input) for each named input."""
    put(f"{prefix}_out", out)
    cot = torch.randn(out.shape)
    put(f"{prefix}_cot", cot)
    (out * cot).sum().backward()
    for name, t in inputs.items():
        put(f"{prefix}_grad_{name}", t.grad)


# softmax / log_softmax over the last axis, with masked (-inf) entries and large logits.
x = torch.randn(4, 37) * 3
x[1, ::3] = float("-inf")
x[2] *= 1000
for fn, name in [(torch.softmax, "softmax"), (torch.log_softmax, "log_softmax")]:
    t = leaf(f"{name}_x", x)
    out = fn(t, dim=-1)
    put(f"{name}_out", out)
    cot = torch.randn(out.shape)
    put(f"{name}_cot", cot)
    # -inf outputs of log_softmax times a cotangent would give -inf; backprop the cotangent directly.
    out.backward(cot)
    put(f"{name}_grad_x", t.grad)

# cross-entropy with ignore_index, mean / sum / none.
logits = torch.randn(6, 37) * 2
logits[4] *= 500
targets = torch.tensor([3, -100, 0, 36, 17, -100])
fixture["ce_targets"] = targets.tolist()
for reduction in ["mean", "sum", "none"]:
    t = leaf(f"ce_{reduction}_logits", logits)
    run(f"ce_{reduction}", F.cross_entropy(t, targets, ignore_index=-100, reduction=reduction), {"logits": t})

# RMSNorm (eps 1e-5) and LayerNorm (eps 1e-5) over the last axis.
x = torch.randn(5, 24) * 2 + 0.5
w = torch.randn(24) * 0.5 + 1
b = torch.randn(24)
xt, wt = leaf("rms_x", x), leaf("rms_w", w)
run("rms", F.rms_norm(xt, (24,), weight=wt, eps=1e-5), {"x": xt, "w": wt})
xt, wt, bt = leaf("ln_x", x), leaf("ln_w", w), leaf("ln_b", b)
run("ln", F.layer_norm(xt, (24,), weight=wt, bias=bt, eps=1e-5), {"x": xt, "w": wt, "b": bt})

# Activations on random values plus extremes.
x = torch.cat([torch.randn(40) * 4, torch.tensor([-100.0, -30.0, -10.0, -5.0, 0.0, 5.0, 10.0, 30.0, 100.0])])
quick = QuickGELUActivation()
for name, fn in [("silu", F.silu), ("gelu", F.gelu), ("gelu_tanh", lambda v: F.gelu(v, approximate="tanh")),
                 ("quick_gelu", quick)]:
    t = leaf(f"{name}_x", x)
    run(name, fn(t), {"x": t})

# SwiGLU: silu(gate) * up.
g, u = leaf("swiglu_gate", torch.randn(3, 21) * 2), leaf("swiglu_up", torch.randn(3, 21))
run("swiglu", F.silu(g) * u, {"gate": g, "up": u})

# Embedding with repeated ids.
wt = leaf("emb_w", torch.randn(7, 5))
ids = torch.tensor([3, 0, 3, 6, 1, 3])
fixture["emb_ids"] = ids.tolist()
run("emb", F.embedding(ids, wt), {"w": wt})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(fixture, f, separators=(",", ":"), allow_nan=False)
print(f"wrote {OUT}: {len(fixture)} entries, {os.path.getsize(OUT)} bytes")
