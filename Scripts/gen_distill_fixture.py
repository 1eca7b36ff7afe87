#!/usr/bin/env python3
"""Generates Tests/Fixtures/distill/distill_loss.json: the reference for the Swift
distillationLoss (knowledge distillation, Docs/Compression.md).

Pinned versions (checked at runtime): torch 2.13.0+cpu.

For each case: random float32 student and teacher logits [rows, vocab] and targets with some rows
ignored (-100). The expected loss and its gradient with respect to the student logits come from
PyTorch in float64 (inputs upcast from the float32 values written here):

    kl_row = F.kl_div(F.log_softmax(s / T), F.log_softmax(t / T), log_target=True,
                      reduction="none").sum(-1)                  # one KL per row
    loss   = alpha * T**2 * masked_mean(kl_row) + (1 - alpha) * F.cross_entropy(s, y, ignore_index=-100)

masked_mean divides by the number of counted rows (what cross_entropy's mean does too); the
gradient is torch.autograd's. Floats are written with Python's repr of the value, so the float32
inputs round-trip exactly.

Usage: python3 Scripts/gen_distill_fixture.py
"""
import json
import os

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0"}
require(PINNED)

import torch
import torch.nn.functional as F

OUT = os.path.join(FIXTURES, "distill", "distill_loss.json")

# name, rows, vocab (37: a SIMD body of 32 plus a tail), temperature, alpha, teacher logit scale
CASES = [
    ("mixed_t2", 7, 37, 2.0, 0.5, 3.0),
    ("soft_only_t1", 7, 37, 1.0, 1.0, 3.0),
    ("labels_only_t4", 7, 37, 4.0, 0.0, 3.0),
    ("sharp_teacher_t05", 5, 40, 0.5, 0.9, 8.0),
    ("wide_t3", 4, 300, 3.0, 0.7, 5.0),
]
IGNORED = {7: [2, 5], 5: [0], 4: []}  # rows whose target is -100


def case(gen, name, rows, vocab, temperature, alpha, teacher_scale):
    s32 = (torch.randn(rows, vocab, generator=gen) * 2.0).float()
    t32 = (torch.randn(rows, vocab, generator=gen) * teacher_scale).float()
    y = torch.randint(0, vocab, (rows,), generator=gen)
    for r in IGNORED[rows]:
        y[r] = -100
    s = s32.double().requires_grad_(True)
    t = t32.double()
    mask = y != -100
    kl_row = F.kl_div(F.log_softmax(s / temperature, dim=-1), F.log_softmax(t / temperature, dim=-1),
                      log_target=True, reduction="none").sum(-1)
    soft = (kl_row * mask).sum() / mask.sum()
    ce = F.cross_entropy(s, y, ignore_index=-100)
    loss = alpha * temperature ** 2 * soft + (1 - alpha) * ce
    loss.backward()
    return {
        "name": name, "rows": rows, "vocab": vocab, "temperature": temperature, "alpha": alpha,
        "student": [float(v) for v in s32.flatten().tolist()],
        "teacher": [float(v) for v in t32.flatten().tolist()],
        "targets": [int(v) for v in y.tolist()],
        "loss": float(loss.item()),
        "kl_per_row": [float(v) for v in kl_row.detach().tolist()],
        "grad": [float(v) for v in s.grad.flatten().tolist()],
    }


def main():
    gen = torch.Generator().manual_seed(19)
    cases = [case(gen, *c) for c in CASES]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"producer": "Scripts/gen_distill_fixture.py", "torch": torch.__version__, "cases": cases}, f)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
