"""Fixtures for quantised weight files and low-rank compression (Docs/Formats.md, Docs/Compression.md).

1. quant_w.npy: a float32 matrix [40, 96] (random, one all-zero group, outliers) and, computed here
   from the schemes' definitions in numpy:
   - int8_values.npy (int8 [40, 96]) and int8_scales.npy (float32 [40]): one scale per row,
     s = max|w| / 127, q = round(w · (1/s)) with halves away from zero, clamped to ±127;
   - int4_values.npy (int8 [40, 96], −7…7), int4_packed.npy (uint8 [40, 48]: value 2j + 8 in the low
     nibble of byte j, value 2j+1 + 8 in the high one) and int4_scales.npy (float16 [40, 3]): one scale
     per 32 values, s = float16(max|w| / 7), q from the stored (float16) scale, clamped to ±7.
2. svd_w.npy (float32 [24, 40]) and svd_s.npy: numpy's singular values (float64 SVD of the same
   float32 values).
3. {llama,qwen3}_{int8,int4}_logits.npy: the tiny transformers models of Scripts/gen_model_fixtures.py
   (Tests/Fixtures/models) in float32 with every linear layer of the decoder blocks replaced by its
   dequantised weights of the scheme (int4 with float16 scales); the embedding and the tied output
   head stay float32, as in a quantised model folder. Logits of every prompt position.
Run from the repository root:  python3 Scripts/gen_compression_fixtures.py
"""
import json, os

from fixture_common import FIXTURES, fixture_dir, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "numpy": "2.4.6"}
require(PINNED)
import numpy as np
import torch
from safetensors.torch import load_file

from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

MODELS, OUT = os.path.join(FIXTURES, "models"), fixture_dir("compression")
rng = np.random.default_rng(19)
torch.set_num_threads(1)


def save_npy(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array))


def quantise(w, group, qmax, scale_dtype):
    """Signed values and stored scales of the symmetric scheme over groups of `group` values of a row."""
    rows, cols = w.shape
    g = w.astype(np.float32).reshape(rows, cols // group, group)
    scale = (np.abs(g).max(axis=2) / np.float32(qmax)).astype(np.float32).astype(scale_dtype).astype(np.float32)
    inv = np.where(scale > 0, np.float32(1) / np.where(scale > 0, scale, 1), 0).astype(np.float32)
    x = (g * inv[:, :, None]).astype(np.float32)
    q = np.clip(np.sign(x) * np.floor(np.abs(x) + np.float32(0.5)), -qmax, qmax).astype(np.int8)
    return q.reshape(rows, cols), scale.astype(scale_dtype)


def dequantise(q, scale, group):
    rows, cols = q.shape
    return (q.reshape(rows, cols // group, group).astype(np.float32) * scale.astype(np.float32)[:, :, None]).reshape(rows, cols)


# ---------------------------------------------------------------- the schemes on one matrix
w = (rng.standard_normal((40, 96)) * 0.05).astype(np.float32)
w[3, 32:64] = 0  # an all-zero group (scale 0)
w[7, 5] = 2.5    # outliers
w[11, 90] = -1.75
save_npy("quant_w.npy", w)
q8, s8 = quantise(w, 96, 127, np.float32)
save_npy("int8_values.npy", q8)
save_npy("int8_scales.npy", s8.reshape(40))
q4, s4 = quantise(w, 32, 7, np.float16)
save_npy("int4_values.npy", q4)
u = (q4.astype(np.int16) + 8).astype(np.uint8)
save_npy("int4_packed.npy", (u[:, 0::2] | (u[:, 1::2] << 4)).astype(np.uint8))
save_npy("int4_scales.npy", s4)

# ---------------------------------------------------------------- SVD
a = (rng.standard_normal((24, 40)) * 0.1).astype(np.float32)
save_npy("svd_w.npy", a)
save_npy("svd_s.npy", np.linalg.svd(a.astype(np.float64), compute_uv=False))


# ---------------------------------------------------------------- tiny models with quantised decoder linears
def int8_weights(t):
    q, s = quantise(t.numpy(), t.shape[1], 127, np.float32)
    return torch.from_numpy(dequantise(q, s, t.shape[1]))


def int4_weights(t):
    q, s = quantise(t.numpy(), 32, 7, np.float16)
    return torch.from_numpy(dequantise(q, s, 32))


def quantised_logits(name, cls, config_cls, weights):
    cfg = json.load(open(os.path.join(MODELS, f"{name}_config.json")))
    model = cls(config_cls(**cfg)).float().eval()
    sd = load_file(os.path.join(MODELS, f"{name}.safetensors"))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    ids = torch.from_numpy(np.load(os.path.join(MODELS, f"{name}_ids.npy"))).unsqueeze(0)
    with torch.no_grad():
        for n, m in model.model.layers.named_modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.copy_(weights(m.weight))
        hidden = model.model(ids).last_hidden_state[0]
        return (hidden @ model.model.embed_tokens.weight.T).numpy().astype(np.float32)


for name, cls, config_cls in [("llama", LlamaForCausalLM, LlamaConfig), ("qwen3", Qwen3ForCausalLM, Qwen3Config)]:
    for scheme, weights in [("int8", int8_weights), ("int4", int4_weights)]:
        save_npy(f"{name}_{scheme}_logits.npy", quantised_logits(name, cls, config_cls, weights))
print("wrote", sorted(os.listdir(OUT)))
