#!/usr/bin/env python3
"""Generates Tests/Fixtures/training/moe_padding.json + vlm2moe_weights.safetensors: the loss of one
MoE training micro-batch under upstream's rule, padded and cut.

Upstream MiniMind2-V pads every sample to max_seq_len and runs X = ids[:-1]; its MoE router
auxiliary loss (seq_aux, alpha 0.01) is a mean over every position of the batch, padding included.
So the loss of a MoE model depends on how much padding the batch carries:

  * loss_padded: CE + aux over the batch padded to max_seq_len (upstream's trainer, and ours with
    --pad-to-max-length);
  * loss_cut: CE + aux over the batch cut to its longest sample (ours by default).

The model: transformers' LlamaForCausalLM (float32, tied embeddings) whose MLPs are replaced by the
MiniMind2 MoE feed-forward as upstream's model_minimind.py MOEFeedForward computes it in training
(softmax gate, top-2, normalised weights, one shared expert, sequence-level aux loss) — the same
reference as Scripts/gen_model_fixtures.py `moe_reference`, which MoEParityTests check layer by layer.
Text-only samples (no images): the projector is present only so the weights load as a MiniMind-V model.

Run from the repository root:  python3 Scripts/gen_moe_padding_fixture.py
"""
import json, os, sys

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0"}

import torch
import torch.nn.functional as F
import transformers
import safetensors
from safetensors.torch import save_file

for mod, want in [(torch, PINNED["torch"]), (transformers, PINNED["transformers"]), (safetensors, PINNED["safetensors"])]:
    if mod.__version__ != want:
        sys.exit(f"{mod.__name__} {mod.__version__} found, {want} pinned: install the pinned version")

from transformers import LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "training")
torch.set_num_threads(1)
torch.manual_seed(5)

VOCAB, HIDDEN, LAYERS, INTER, EXPERTS, TOP_K, SHARED, ALPHA = 96, 32, 2, 64, 4, 2, 1, 0.01
MAX_SEQ_LEN, LENGTHS = 40, [23, 31, 17]   # longest 31: the cut batch runs 30 positions, the padded one 39


class MoE(torch.nn.Module):
    """MiniMind2 MOEFeedForward in training mode; keeps its aux loss."""

    def __init__(self):
        super().__init__()
        self.gate = torch.nn.Linear(HIDDEN, EXPERTS, bias=False)
        self.experts = torch.nn.ModuleList([self.ffn() for _ in range(EXPERTS)])
        self.shared_experts = torch.nn.ModuleList([self.ffn() for _ in range(SHARED)])
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
        flat = x.reshape(-1, h)
        scores = F.softmax(self.gate(flat), dim=-1)
        w, idx = torch.topk(scores, k=TOP_K, dim=-1, sorted=False)
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
        y = torch.zeros_like(flat)
        for e, p in enumerate(self.experts):
            for j in range(TOP_K):
                mask = idx[:, j] == e
                if mask.any():
                    y[mask] += w[mask, j:j + 1] * self.run(p, flat[mask])
        for p in self.shared_experts:
            y = y + self.run(p, flat)
        ce = torch.zeros(b, EXPERTS)
        ce.scatter_add_(1, idx.view(b, -1), torch.ones(b, t * TOP_K)).div_(t * TOP_K / EXPERTS)
        self.aux = (ce * scores.view(b, t, -1).mean(dim=1)).sum(dim=1).mean() * ALPHA
        return y.view(b, t, h)


cfg = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
           num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=1e6,
           max_position_embeddings=256, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
           hidden_act="silu")
lm = LlamaForCausalLM(LlamaConfig(**cfg)).float()
for layer in lm.model.layers:
    layer.mlp = MoE()
with torch.no_grad():
    lm.model.embed_tokens.weight.mul_(5)  # larger activations so routing is not uniform
projector = torch.nn.Linear(24, HIDDEN)
weights = {n: p.detach().clone().contiguous() for n, p in lm.named_parameters()}
weights.update({f"vision_proj.vision_proj.0.{n}": p.detach().clone().contiguous() for n, p in projector.named_parameters()})
save_file(weights, os.path.join(OUT, "vlm2moe_weights.safetensors"))

gen = torch.Generator().manual_seed(9)
ids = torch.zeros(len(LENGTHS), MAX_SEQ_LEN, dtype=torch.long)
labels = torch.full((len(LENGTHS), MAX_SEQ_LEN), -100, dtype=torch.long)
for b, n in enumerate(LENGTHS):
    seq = torch.randint(40, VOCAB, (n,), generator=gen)
    seq[0] = 1
    ids[b, :n] = seq
    labels[b, n - 8:n] = seq[n - 8:n]


def loss_at(length):
    """Upstream's step on the batch cut (or padded) to `length`: X = ids[:, :length-1], Y = labels[:, 1:length]."""
    x, y = ids[:, :length - 1], labels[:, 1:length]
    with torch.no_grad():
        logits = lm(input_ids=x).logits
        ce = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1), ignore_index=-100)
        aux = sum(layer.mlp.aux for layer in lm.model.layers)
    return float(ce), float(aux)


ce_pad, aux_pad = loss_at(MAX_SEQ_LEN)
ce_cut, aux_cut = loss_at(max(LENGTHS))
doc = {"generator": "Scripts/gen_moe_padding_fixture.py", "versions": PINNED,
       "lm_config": {**cfg, "use_moe": True, "num_experts": EXPERTS, "num_experts_per_tok": TOP_K,
                     "n_shared_experts": SHARED, "moe_intermediate_size": INTER, "aux_loss_alpha": ALPHA,
                     "norm_topk_prob": True, "moe_flavour": "minimind2"},
       "max_seq_len": MAX_SEQ_LEN, "ids": [ids[b, :n].tolist() for b, n in enumerate(LENGTHS)],
       "labels": [labels[b, :n].tolist() for b, n in enumerate(LENGTHS)],
       "loss_padded": ce_pad + aux_pad, "aux_padded": aux_pad, "loss_cut": ce_cut + aux_cut, "aux_cut": aux_cut}
with open(os.path.join(OUT, "moe_padding.json"), "w") as f:
    json.dump(doc, f, indent=1)
print(f"padded: ce {ce_pad:.6f} aux {aux_pad:.6f}; cut: ce {ce_cut:.6f} aux {aux_cut:.6f}; CE equal: {abs(ce_pad - ce_cut):.2e}")
