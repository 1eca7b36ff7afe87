#!/usr/bin/env python3
"""Generates the model parity fixtures in Tests/Fixtures/models/ from public reference code.

Tiny float32 configurations of: transformers LlamaForCausalLM (= MiniMind2 dense LM),
Qwen3ForCausalLM (= minimind-3 dense LM), CLIPModel (vision tower), SiglipVisionModel, and — written
here from Docs/Model.md because no public class implements them — the two MoE feed-forwards and the
image-feature splice of the full VLM. Outputs: weights as safetensors (HF key names), inputs and
outputs as .npy, configs as JSON. Run from the repository root:  python3 Scripts/gen_model_fixtures.py
"""
import json, math, os

from fixture_common import fixture_dir, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0", "numpy": "2.4.6"}
require(PINNED)

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from transformers import (LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM,
                          CLIPConfig, CLIPModel, SiglipVisionConfig, SiglipVisionModel)

OUT = fixture_dir("models")
torch.manual_seed(0)
torch.set_num_threads(1)


def path(*parts):
    return os.path.join(OUT, *parts)


def save_npy(name, array):
    np.save(path(name), np.ascontiguousarray(array))


def save_weights(name, module, prefix="", drop=()):
    sd = {prefix + k: v.detach().float().contiguous().clone() for k, v in module.state_dict().items()
          if not any(k.startswith(d) for d in drop)}
    save_file(sd, path(name))
    return sd


def perturb_norms(module):
    # Norm weights start at ones; random values make the parity test see them.
    with torch.no_grad():
        for n, p in module.named_parameters():
            if "norm" in n or "layernorm" in n or "layer_norm" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
                if n.endswith("bias"):
                    p.copy_(0.1 * torch.randn_like(p))


def write_json(name, obj):
    with open(path(name), "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------- language models
def lm_fixture(name, model, cfg_json, vocab, prompt_len=12, new_tokens=10):
    model.eval()
    perturb_norms(model)
    ids = torch.randint(3, vocab, (1, prompt_len))
    with torch.no_grad():
        logits = model(ids).logits[0]
        gen = model.generate(ids, max_new_tokens=new_tokens, do_sample=False, eos_token_id=None,
                             pad_token_id=0, min_new_tokens=new_tokens)
    save_weights(f"{name}.safetensors", model)
    save_npy(f"{name}_ids.npy", ids[0].numpy().astype(np.int64))
    save_npy(f"{name}_logits.npy", logits.numpy().astype(np.float32))
    save_npy(f"{name}_greedy.npy", gen[0, prompt_len:].numpy().astype(np.int64))
    write_json(f"{name}_config.json", cfg_json)


VOCAB = 96
llama_cfg = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                 num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=1e6,
                 max_position_embeddings=256, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
                 hidden_act="silu", initializer_range=0.3)  # wide init: greedy output depends on context
llama = LlamaForCausalLM(LlamaConfig(**llama_cfg)).float()
lm_fixture("llama", llama, llama_cfg, VOCAB)

qwen_cfg = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6, rope_theta=1e6,
                max_position_embeddings=256, tie_word_embeddings=True, attention_bias=False, hidden_act="silu",
                use_sliding_window=False, initializer_range=0.3)
qwen = Qwen3ForCausalLM(Qwen3Config(**qwen_cfg)).float()
lm_fixture("qwen3", qwen, qwen_cfg, VOCAB)


# ---------------------------------------------------------------- vision encoders
def pixels(n, size):
    return torch.randn(n, 3, size, size)


clip_vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                   image_size=32, patch_size=8, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=16)
clip_text = dict(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                 max_position_embeddings=16, projection_dim=16)
clip = CLIPModel(CLIPConfig(vision_config=clip_vision, text_config=clip_text, projection_dim=16)).float().eval()
perturb_norms(clip)
px = pixels(2, 32)
with torch.no_grad():
    clip_out = clip.vision_model(pixel_values=px).last_hidden_state  # before post_layernorm
save_weights("clip.safetensors", clip)  # the full CLIPModel layout: vision_model.* and text_model.* keys
write_json("clip_config.json", clip.config.to_dict())
save_npy("clip_pixels.npy", px.numpy())
save_npy("clip_features.npy", clip_out[:, 1:, :].numpy())  # class token dropped, as MiniMind2-V does

siglip_cfg = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  image_size=32, patch_size=8, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                  vision_use_head=False)
siglip = SiglipVisionModel(SiglipVisionConfig(**siglip_cfg)).float().eval()
perturb_norms(siglip)
px2 = pixels(2, 32)
with torch.no_grad():
    sig_out = siglip(pixel_values=px2).last_hidden_state  # after post_layernorm
save_weights("siglip.safetensors", siglip)
write_json("siglip_config.json", siglip.config.to_dict())
save_npy("siglip_pixels.npy", px2.numpy())
save_npy("siglip_features.npy", sig_out.numpy())


# ---------------------------------------------------------------- MoE feed-forwards (from Docs/Model.md, "Language model")
def ffn_params(hidden, inter):
    return {n: torch.randn(*s) * 0.2 for n, s in
            [("gate_proj", (inter, hidden)), ("up_proj", (inter, hidden)), ("down_proj", (hidden, inter))]}


def ffn(x, p):
    return F.linear(F.silu(F.linear(x, p["gate_proj"])) * F.linear(x, p["up_proj"]), p["down_proj"])


def moe_reference(x, gate_w, experts, shared, top_k, flavour):
    """x: [B, T, H]. Returns (y, aux). flavour 'minimind2' (seq aux) or 'minimind3' (token aux)."""
    b, t, h = x.shape
    flat = x.reshape(-1, h)
    scores = F.softmax(F.linear(flat, gate_w), dim=-1)
    w, idx = torch.topk(scores, k=top_k, dim=-1, sorted=False)
    w = w / (w.sum(-1, keepdim=True) + 1e-20)
    y = torch.zeros_like(flat)
    for e, p in enumerate(experts):
        for j in range(top_k):
            mask = idx[:, j] == e
            if mask.any():
                y[mask] += w[mask, j:j + 1] * ffn(flat[mask], p)
    for p in shared:
        y = y + ffn(flat, p)
    E = len(experts)
    if flavour == "minimind2":
        alpha = 0.01
        ce = torch.zeros(b, E)
        ce.scatter_add_(1, idx.view(b, -1), torch.ones(b, t * top_k)).div_(t * top_k / E)
        aux = (ce * scores.view(b, t, -1).mean(dim=1)).sum(dim=1).mean() * alpha
    else:
        coef = 5e-4
        load = F.one_hot(idx, E).float().mean(0)  # [top_k, E] → for top-1 the fraction of tokens per expert
        aux = (load * scores.mean(0)).sum() * E * coef
    return y.view(b, t, h), aux


def moe_fixture(name, hidden, inter, E, top_k, n_shared, flavour):
    gate_w = torch.randn(E, hidden) * 0.5
    experts = [ffn_params(hidden, inter) for _ in range(E)]
    shared = [ffn_params(hidden, inter) for _ in range(n_shared)]
    x = torch.randn(2, 5, hidden, requires_grad=True)
    y, aux = moe_reference(x, gate_w, experts, shared, top_k, flavour)
    sd = {"mlp.gate.weight": gate_w}
    for e, p in enumerate(experts):
        sd.update({f"mlp.experts.{e}.{k}.weight": v for k, v in p.items()})
    for s, p in enumerate(shared):
        sd.update({f"mlp.shared_experts.{s}.{k}.weight": v for k, v in p.items()})
    save_file({k: v.contiguous() for k, v in sd.items()}, path(f"{name}.safetensors"))
    save_npy(f"{name}_x.npy", x.detach().numpy())
    save_npy(f"{name}_y.npy", y.detach().numpy())
    # gradient of sum(y * c) + aux w.r.t. x, for the training path
    c = torch.randn_like(y)
    (y * c).sum().add(aux).backward()
    save_npy(f"{name}_cotangent.npy", c.numpy())
    save_npy(f"{name}_dx.npy", x.grad.numpy())
    write_json(f"{name}_config.json", dict(hidden=hidden, intermediate=inter, experts=E, top_k=top_k,
                                          shared=n_shared, flavour=flavour, aux=float(aux)))


moe_fixture("moe_minimind2", 16, 24, 4, 2, 1, "minimind2")
moe_fixture("moe_minimind3", 16, 24, 4, 1, 0, "minimind3")


# ---------------------------------------------------------------- the VLM splice (Docs/Model.md, "Projector and image splicing")
def splice(h, ids, feats, marker):
    """Overwrites each run of `marker` in ids[b] with the next image's features (in order)."""
    out = h.clone()
    for b in range(ids.shape[0]):
        seq, k, i = ids[b].tolist(), 0, 0
        while i < len(seq):
            if seq[i] == marker:
                start = i
                while i < len(seq) and seq[i] == marker:
                    i += 1
                if k < feats.shape[1]:
                    out[b, start:i] = feats[b, k, : i - start]
                    k += 1
            else:
                i += 1
    return out


def vlm_fixture(name, lm, lm_name, vision_feats_fn, projector, marker, tokens):
    # Two images in one prompt, runs separated by text; a third run with no image stays text.
    text = lambda n: torch.randint(40, VOCAB, (n,))
    ids = torch.cat([text(3), torch.full((tokens,), marker), text(2), torch.full((tokens,), marker), text(2),
                     torch.full((tokens,), marker), text(2)]).unsqueeze(0)
    feats = vision_feats_fn()  # [1, images, tokens, dim]
    with torch.no_grad():
        proj = projector(feats)
        h = lm.model.embed_tokens(ids)
        h = splice(h, ids, proj, marker)
        logits = lm(inputs_embeds=h).logits[0]
    save_npy(f"{name}_ids.npy", ids[0].numpy().astype(np.int64))
    save_npy(f"{name}_logits.npy", logits.numpy())
    return proj


# MiniMind2-V tiny: CLIP features (class token dropped) → Linear(32→64) → Llama LM; marker id 34.
proj2 = torch.nn.Sequential(torch.nn.Linear(32, 64))
with torch.no_grad():
    clip_px = pixels(2, 32)
    clip_feats = clip.vision_model(pixel_values=clip_px).last_hidden_state[:, 1:, :]
save_npy("vlm2_pixels.npy", clip_px.numpy())
vlm_fixture("vlm2", llama, "llama", lambda: clip_feats.unsqueeze(0), proj2, 34, 16)
save_file({"vision_proj.vision_proj.0.weight": proj2[0].weight.detach().contiguous(),
           "vision_proj.vision_proj.0.bias": proj2[0].bias.detach().contiguous()}, path("vlm2_projector.safetensors"))

# minimind-3v tiny: SigLIP features → LayerNorm → Linear → GELU → Linear → Qwen3 LM; marker id 12.
proj3 = torch.nn.Sequential(torch.nn.LayerNorm(32, eps=1e-5), torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.Linear(64, 64))
perturb_norms(proj3)
with torch.no_grad():
    proj3[0].weight.copy_(1 + 0.1 * torch.randn(32))
    proj3[0].bias.copy_(0.1 * torch.randn(32))
    sig_px = pixels(2, 32)
    sig_feats = siglip(pixel_values=sig_px).last_hidden_state
save_npy("vlm3_pixels.npy", sig_px.numpy())
vlm_fixture("vlm3", qwen, "qwen3", lambda: sig_feats.unsqueeze(0), proj3, 12, 16)
save_file({f"vision_proj.mlp.{k}": v.detach().contiguous() for k, v in proj3.state_dict().items()},
          path("vlm3_projector.safetensors"))

print("wrote", sorted(os.listdir(OUT)))
