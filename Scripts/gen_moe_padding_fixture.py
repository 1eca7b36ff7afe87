#!/usr/bin/env python3
"""Generates Tests/Fixtures/training/moe_padding.json + vlm{2,3}moe_weights.safetensors: the loss of
one MoE training micro-batch under upstream's rule, padded and cut, for both generations.

Upstream pads every sample to max_seq_len; its MoE router auxiliary loss is a mean over every
position the model runs, padding included, so a MoE model's loss depends on the padding:

  * loss_padded: upstream's trainer. MiniMind2-V runs X = ids[:, :-1] (max_seq_len - 1 positions);
    minimind-3v runs all max_seq_len positions (labels are shifted inside the loss). Ours with
    --pad-to-max-length must match.
  * loss_cut: the same rule on the batch cut to its longest sample L, running L - 1 positions —
    what our default (no padding computed) runs.

vlm2moe: transformers' LlamaForCausalLM whose MLPs are upstream's MiniMind2 MOEFeedForward in
training (softmax gate, top-2, normalised weights, one shared expert, sequence-level aux, alpha 0.01).
vlm3moe: Qwen3ForCausalLM with upstream's minimind-3 MoE (top-1, no shared expert, token-level aux;
router_aux_loss_coef 0.05 instead of upstream's 5e-4 so the padding's share of the aux loss is far
above float32 noise). The feed-forwards are the reference of Scripts/gen_model_fixtures.py
`moe_reference`, which MoEParityTests check layer by layer. Text-only samples: the projector exists
only so the weights load as a MiniMind-V model.

Run from the repository root:  python3 Scripts/gen_moe_padding_fixture.py
"""
import json, os

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0"}
require(PINNED)

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

OUT = os.path.join(FIXTURES, "training")
torch.set_num_threads(1)
torch.manual_seed(5)

VOCAB, HIDDEN, LAYERS, INTER, EXPERTS = 96, 32, 2, 64, 4
MAX_SEQ_LEN, LENGTHS = 40, [23, 31, 17]   # longest 31: the cut batch runs 30 positions


class MoE(torch.nn.Module):
    """Upstream's MoE feed-forward in training mode ('minimind2': sequence aux; 'minimind3': token aux)."""

    def __init__(self, flavour, top_k, shared, coef):
        super().__init__()
        self.flavour, self.top_k, self.coef = flavour, top_k, coef
        self.gate = torch.nn.Linear(HIDDEN, EXPERTS, bias=False)
        self.experts = torch.nn.ModuleList([self.ffn() for _ in range(EXPERTS)])
        self.shared_experts = torch.nn.ModuleList([self.ffn() for _ in range(shared)])
        self.aux = None

    @staticmethod
    def ffn():
        m = torch.nn.Module()
        m.gate_proj = torch.nn.Linear(HIDDEN, INTER, bias=False)
        m.up_proj = torch.nn.Linear(HIDDEN, INTER, bias=False)
        m.down_proj = torch.nn.Linear(INTER, HIDDEN, bias=False)
        return m

    @staticmethod
    def run(p, x):
        return p.down_proj(F.silu(p.gate_proj(x)) * p.up_proj(x))

    def forward(self, x):
        b, t, h = x.shape
        k = self.top_k
        flat = x.reshape(-1, h)
        scores = F.softmax(self.gate(flat), dim=-1)
        w, idx = torch.topk(scores, k=k, dim=-1, sorted=False)
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
        y = torch.zeros_like(flat)
        for e, p in enumerate(self.experts):
            for j in range(k):
                mask = idx[:, j] == e
                if mask.any():
                    y[mask] += w[mask, j:j + 1] * self.run(p, flat[mask])
        for p in self.shared_experts:
            y = y + self.run(p, flat)
        if self.flavour == "minimind2":
            ce = torch.zeros(b, EXPERTS)
            ce.scatter_add_(1, idx.view(b, -1), torch.ones(b, t * k)).div_(t * k / EXPERTS)
            self.aux = (ce * scores.view(b, t, -1).mean(dim=1)).sum(dim=1).mean() * self.coef
        else:
            load = F.one_hot(idx, EXPERTS).float().mean(0)
            self.aux = (load * scores.mean(0)).sum() * EXPERTS * self.coef
        return y.view(b, t, h)


def build(kind):
    if kind == "vlm2moe":
        cfg = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
                   num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=1e6,
                   max_position_embeddings=256, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
                   hidden_act="silu")
        lm = LlamaForCausalLM(LlamaConfig(**cfg)).float()
        moe = dict(use_moe=True, num_experts=EXPERTS, num_experts_per_tok=2, n_shared_experts=1,
                   moe_intermediate_size=INTER, aux_loss_alpha=0.01, norm_topk_prob=True, moe_flavour="minimind2")
        make = lambda: MoE("minimind2", 2, 1, 0.01)
        projector = {"vision_proj.vision_proj.0": torch.nn.Linear(24, HIDDEN)}
    else:
        cfg = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=8, rms_norm_eps=1e-6, rope_theta=1e6,
                   max_position_embeddings=256, tie_word_embeddings=True, attention_bias=False, hidden_act="silu",
                   use_sliding_window=False)
        lm = Qwen3ForCausalLM(Qwen3Config(**cfg)).float()
        moe = dict(use_moe=True, num_experts=EXPERTS, num_experts_per_tok=1, n_shared_experts=0,
                   moe_intermediate_size=INTER, router_aux_loss_coef=0.05, norm_topk_prob=True, moe_flavour="minimind3")
        make = lambda: MoE("minimind3", 1, 0, 0.05)
        projector = {"vision_proj.mlp.0": torch.nn.LayerNorm(24), "vision_proj.mlp.1": torch.nn.Linear(24, HIDDEN),
                     "vision_proj.mlp.3": torch.nn.Linear(HIDDEN, HIDDEN)}
    for layer in lm.model.layers:
        layer.mlp = make()
    with torch.no_grad():
        lm.model.embed_tokens.weight.mul_(5)  # larger activations so routing is not uniform
    weights = {n: p.detach().clone().contiguous() for n, p in lm.named_parameters()}
    for prefix, module in projector.items():
        weights.update({f"{prefix}.{n}": p.detach().clone().contiguous() for n, p in module.named_parameters()})
    save_file(weights, os.path.join(OUT, f"{kind}_weights.safetensors"))
    return lm, {**cfg, **moe}


gen = torch.Generator().manual_seed(9)
ids = torch.zeros(len(LENGTHS), MAX_SEQ_LEN, dtype=torch.long)
labels = torch.full((len(LENGTHS), MAX_SEQ_LEN), -100, dtype=torch.long)
for b, n in enumerate(LENGTHS):
    seq = torch.randint(40, VOCAB, (n,), generator=gen)
    seq[0] = 1
    ids[b, :n] = seq
    labels[b, n - 8:n] = seq[n - 8:n]


def loss_at(lm, positions):
    """CE of logits[t] against labels[t+1] over the first `positions` positions, plus the routers' aux loss."""
    x, y = ids[:, :positions], labels[:, 1:positions + 1]
    with torch.no_grad():
        logits = lm(input_ids=x).logits[:, :y.shape[1]]
        ce = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1), ignore_index=-100)
        aux = sum(layer.mlp.aux for layer in lm.model.layers)
    return float(ce), float(aux)


doc = {"generator": "Scripts/gen_moe_padding_fixture.py", "versions": PINNED, "max_seq_len": MAX_SEQ_LEN,
       "ids": [ids[b, :n].tolist() for b, n in enumerate(LENGTHS)],
       "labels": [labels[b, :n].tolist() for b, n in enumerate(LENGTHS)]}
for kind, seed, padded_positions in [("vlm2moe", 5, MAX_SEQ_LEN - 1), ("vlm3moe", 6, MAX_SEQ_LEN)]:
    torch.manual_seed(seed)
    lm, cfg = build(kind)
    ce_pad, aux_pad = loss_at(lm, padded_positions)
    ce_cut, aux_cut = loss_at(lm, max(LENGTHS) - 1)
    doc[kind] = {"lm_config": cfg, "padded_positions": padded_positions, "loss_padded": ce_pad + aux_pad,
                 "aux_padded": aux_pad, "loss_cut": ce_cut + aux_cut, "aux_cut": aux_cut}
    print(f"{kind}: padded ({padded_positions} positions) ce {ce_pad:.6f} aux {aux_pad:.6f}; "
          f"cut ce {ce_cut:.6f} aux {aux_cut:.6f}; CE difference {abs(ce_pad - ce_cut):.2e}")
with open(os.path.join(OUT, "moe_padding.json"), "w") as f:
    json.dump(doc, f, indent=1)
