#!/usr/bin/env python3
"""Generates Tests/Fixtures/optim/optim_fixtures.json: the reference for the Swift AdamW,
gradient clipping and learning-rate schedules.

Pinned versions (checked at runtime): torch 2.13.0+cpu, numpy 2.4.6, transformers 5.24.0.

Every expected number comes from a reference that is not ours:
  * parameters after 1 and 5 steps, exp_avg / exp_avg_sq / step after 5 steps:
    torch.optim.AdamW(foreach=False, fused=False), i.e. PyTorch's _single_tensor_adam with
    decoupled weight decay;
  * clipped runs: torch.nn.utils.clip_grad_norm_ before every step (its returned norms too);
  * the upstream MiniMind-V schedule: trainer_utils.get_lr as written upstream
    (lr*(0.1 + 0.45*(1 + cos(pi*t/T))), Docs/Model.md, "Recipes"), applied per step via param_group['lr'];
  * warmup cosine: transformers' get_cosine_schedule_with_warmup lambda (with min_lr_rate)
    driven by torch.optim.lr_scheduler.LambdaLR, read back from the optimizer's param group.

Floats are written with Python's repr of the float32 value, so they round-trip exactly.

Usage: python3 Scripts/gen_optim_fixtures.py
"""
import functools
import json
import math
import os

import numpy as np
import torch
from transformers import optimization as hf_opt

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0", "numpy": "2.4.6", "transformers": "5.24.0"}
OUT = os.path.join(FIXTURES, "optim", "optim_fixtures.json")
STEPS = 5

# name, shape, requires_grad, which steps (1-based) have a gradient, gradient kind
PARAMS = [
    ("layer.weight", [4, 5], True, [1, 2, 3, 4, 5], "random"),
    ("layer.bias", [5], True, [1, 2, 3, 4, 5], "random"),
    ("block.3d", [3, 2, 4], True, [1, 2, 3, 4, 5], "random"),
    ("wide.weight", [37, 19], True, [1, 2, 3, 4, 5], "random"),  # SIMD body + scalar tail
    ("zero_grad", [6], True, [1, 2, 3, 4, 5], "zeros"),           # decays only, m = v = 0
    ("sometimes", [7], True, [1, 3, 5], "random"),                # its own step count: 3
    ("frozen", [3], False, [], "none"),                           # no grad: untouched
]
# per-step gradient scales, so clipping engages on some steps and not on others
GRAD_SCALES = [3.0, 0.05, 1.5, 0.02, 4.0]


def f32list(t):
    return [float(np.float32(x)) for x in t.detach().reshape(-1).numpy()]


def make_initial():
    g = torch.Generator().manual_seed(1234)
    return {name: (torch.randn(shape, generator=g) * 0.5 + 0.25).float()
            for name, shape, *_ in PARAMS}


def make_grads():
    g = torch.Generator().manual_seed(5678)
    grads = {}
    for name, shape, _, steps, kind in PARAMS:
        per_step = []
        for s in range(1, STEPS + 1):
            r = torch.randn(shape, generator=g) * GRAD_SCALES[s - 1]
            if s not in steps or kind == "none":
                per_step.append(None)
            elif kind == "zeros":
                per_step.append(torch.zeros(shape))
            else:
                per_step.append(r.float())
        grads[name] = per_step
    return grads


def upstream_get_lr(current_step, total_steps, lr):
    # minimind-v trainer/trainer_utils.py get_lr (Docs/Model.md, "Recipes")
    return lr * (0.1 + 0.45 * (1 + math.cos(math.pi * current_step / total_steps)))


def run(initial, grads, lr, betas, eps, wd, max_norm=None, schedule_total=None):
    params = {name: torch.nn.Parameter(initial[name].clone(), requires_grad=rg)
              for name, _, rg, *_ in PARAMS}
    opt = torch.optim.AdamW(list(params.values()), lr=lr, betas=betas, eps=eps, weight_decay=wd,
                            foreach=False, fused=False)
    after, norms, lrs = {}, [], []
    for s in range(1, STEPS + 1):
        opt.zero_grad(set_to_none=True)
        for name, p in params.items():
            g = grads[name][s - 1]
            p.grad = None if g is None else g.clone()
        if max_norm is not None:
            trainable = [p for p in params.values() if p.requires_grad]
            norms.append(float(np.float32(torch.nn.utils.clip_grad_norm_(trainable, max_norm).item())))
        if schedule_total is not None:
            step_lr = upstream_get_lr(s, schedule_total, lr)  # upstream's steps count from 1
            for group in opt.param_groups:
                group["lr"] = step_lr
            lrs.append(step_lr)
        opt.step()
        if s in (1, STEPS):
            after[str(s)] = {name: f32list(p) for name, p in params.items()}
    state = {}
    for name, p in params.items():
        st = opt.state.get(p)
        if st:
            state[name] = {"step": float(st["step"].item()), "exp_avg": f32list(st["exp_avg"]),
                           "exp_avg_sq": f32list(st["exp_avg_sq"])}
    return after, state, norms, lrs


def schedules():
    out = {}
    # upstream cosine, t = 0..T
    T, base = 10, 4e-4
    out["minimind_cosine"] = {"base": base, "total": T,
                              "lrs": [upstream_get_lr(t, T, base) for t in range(T + 1)]}
    # transformers warmup cosine, read from LambdaLR as a trainer would see it
    for key, warm, total, rate in [("warmup_cosine", 3, 10, 0.0), ("warmup_cosine_min", 4, 12, 0.1)]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=base)
        fn = functools.partial(hf_opt._get_cosine_schedule_with_warmup_lr_lambda, num_warmup_steps=warm,
                               num_training_steps=total, num_cycles=0.5, min_lr_rate=rate)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, fn)
        lrs = []
        for _ in range(total + 1):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out[key] = {"base": base, "warmup": warm, "total": total, "min_lr_rate": rate, "lrs": lrs}
    return out


def main():
    require(PINNED)
    torch.manual_seed(0)
    initial = make_initial()
    grads = make_grads()
    scenarios = []
    configs = [
        dict(name="defaults", lr=1e-2, betas=(0.9, 0.999), eps=1e-8, wd=0.01),
        dict(name="custom_hparams", lr=3e-3, betas=(0.8, 0.99), eps=1e-6, wd=0.1),
        # large lr and decay: makes the order of decay vs update visible (lr·wd·update ≫ 1e-6)
        dict(name="large_lr_wd", lr=5e-2, betas=(0.9, 0.95), eps=1e-8, wd=0.5),
        dict(name="clipped", lr=1e-2, betas=(0.9, 0.999), eps=1e-8, wd=0.01, max_norm=1.0),
        dict(name="upstream_cosine", lr=4e-3, betas=(0.9, 0.999), eps=1e-8, wd=0.01, schedule_total=STEPS),
    ]
    for c in configs:
        after, state, norms, lrs = run(initial, grads, c["lr"], c["betas"], c["eps"], c["wd"],
                                       c.get("max_norm"), c.get("schedule_total"))
        scenarios.append({"name": c["name"], "lr": c["lr"], "betas": list(c["betas"]), "eps": c["eps"],
                          "weight_decay": c["wd"], "max_norm": c.get("max_norm"),
                          "schedule_total": c.get("schedule_total"), "lrs": lrs, "clip_norms": norms,
                          "after": after, "state_after_5": state})
    doc = {
        "generator": "Scripts/gen_optim_fixtures.py",
        "versions": PINNED,
        "steps": STEPS,
        "parameters": [{"name": n, "shape": s, "requires_grad": rg, "initial": f32list(initial[n])}
                       for n, s, rg, *_ in PARAMS],
        "grads": {n: [None if g is None else f32list(g) for g in grads[n]] for n, *_ in PARAMS},
        "scenarios": scenarios,
        "schedules": schedules(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
