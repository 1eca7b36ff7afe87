#!/usr/bin/env python3
"""Generates Tests/Fixtures/remedies/remedies.json: PyTorch's values for the training remedies.

  * label smoothing: F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=eps),
    mean over the counted rows, and its gradient with respect to the logits;
  * per-token weights: (F.cross_entropy(..., reduction="none", label_smoothing=eps) * w).sum()
    / counted rows, and its gradient (the weighted mean our trainer uses);
  * the grounding loss: symmetric InfoNCE between L2-normalised pooled image and text vectors,
    (CE(s·I·Tᵀ, arange) + CE(s·T·Iᵀ, arange)) / 2, and its gradients with respect to I and T;
    and the same with groups: off-diagonal scores of pairs in one group masked to -inf (false negatives).

Run from the repository root:  python3 Scripts/gen_remedies_fixture.py
"""
import json, os

from fixture_common import fixture_dir, require

PINNED = {"torch": "2.13.0+cpu"}
require(PINNED)
import torch
import torch.nn.functional as F

OUT = fixture_dir("remedies")
torch.manual_seed(23)
torch.set_default_dtype(torch.float64)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


ROWS, VOCAB, EPS = 9, 13, 0.1
logits = (torch.randn(ROWS, VOCAB) * 2).requires_grad_()
targets = torch.randint(0, VOCAB, (ROWS,))
targets[2] = -100
targets[6] = -100
loss = F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=EPS)
loss.backward()
smoothing = {"rows": ROWS, "vocab": VOCAB, "epsilon": EPS, "logits": flat(logits), "targets": targets.tolist(),
             "loss": float(loss.detach()), "grad": flat(logits.grad)}

weights = torch.rand(ROWS) * 2
logits.grad = None
counted = int((targets != -100).sum())
per_row = F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=EPS, reduction="none")
wloss = (per_row * weights).sum() / counted
wloss.backward()
weighted = {"weights": flat(weights), "loss": float(wloss.detach()), "grad": flat(logits.grad)}

B, H, SCALE = 5, 7, 1 / 0.07
image = torch.randn(B, H).requires_grad_()
text = torch.randn(B, H).requires_grad_()
i, t = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
scores = SCALE * i @ t.T
labels = torch.arange(B)
nce = (F.cross_entropy(scores, labels) + F.cross_entropy(scores.T, labels)) / 2
nce.backward()
grounding = {"batch": B, "dim": H, "scale": SCALE, "image": flat(image), "text": flat(text), "loss": float(nce.detach()),
             "gradImage": flat(image.grad), "gradText": flat(text.grad)}

G = [0, 1, 0, 2, 1, 3]
image = torch.randn(len(G), H).requires_grad_()
text = torch.randn(len(G), H).requires_grad_()
i, t = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
g = torch.tensor(G)
mask = (g[:, None] == g[None, :]) & ~torch.eye(len(G), dtype=torch.bool)
scores = (SCALE * i @ t.T).masked_fill(mask, float("-inf"))
labels = torch.arange(len(G))
nce = (F.cross_entropy(scores, labels) + F.cross_entropy(scores.T, labels)) / 2
nce.backward()
grouped = {"batch": len(G), "dim": H, "scale": SCALE, "groups": G, "image": flat(image), "text": flat(text),
           "loss": float(nce.detach()), "gradImage": flat(image.grad), "gradText": flat(text.grad)}

with open(os.path.join(OUT, "remedies.json"), "w") as f:
    json.dump({"producer": f"torch {torch.__version__}", "smoothing": smoothing, "weighted": weighted,
               "grounding": grounding, "groundingGroups": grouped}, f, indent=1)
print("wrote", os.path.join(OUT, "remedies.json"))
