#!/usr/bin/env python3
"""Expected data-parallel scaling per preset (Docs/Distributed.md, "Expected scaling").

Inputs are measured numbers (the float32 SFT step time of minimind2-small-v, batch 4 x 640, one rank;
the allreduce bandwidth of a 2-rank run) and link speeds on paper. Model: per optimizer step each
rank computes 1/N of the step (compute scales with the trained parameters, 6·P·tokens FLOPs), then
a ring allreduce moves 2·(N−1)/N × 4·P bytes through each rank's link, not overlapped with compute.
Efficiency = compute / (compute + allreduce). Pure arithmetic: no packages needed.

usage: distributed_scaling.py STEP_SECONDS_SMALL_V [LOCAL_ALLREDUCE_GBPS]
"""
import sys

# SFT trainable parameters (whole LM + projector from 768-wide CLIP features), counted from the
# configurations in Sources/MiniMindV/VLM/VLMConfig.swift (vocab 6400, 8 query / 2 kv heads).
# Returns (all trained parameters: the allreduce; parameters a token passes through: the compute,
# for MoE one routed expert + the shared one).
def minimind2(h, layers, moe=False, experts=4, shared=1):
    inter = 64 * ((int(h * 8 / 3) + 63) // 64)
    attn = 2 * h * h + 2 * h * (h // 4)
    rest = 6400 * h + h + 768 * h + h
    if not moe:
        total = layers * (attn + 3 * h * inter + 2 * h) + rest
        return total, total
    total = layers * (attn + 3 * h * inter * (experts + shared) + h * experts + 2 * h) + rest
    active = layers * (attn + 3 * h * inter * (1 + shared) + h * experts + 2 * h) + rest
    return total, active

PRESETS = {
    "minimind2-small-v": minimind2(512, 8),
    "minimind2-v": minimind2(768, 16),
    "minimind2-v-moe": minimind2(640, 8, moe=True),
}
LINKS = {"10 GbE": 1.25e9, "25 GbE": 3.125e9, "100 GbE": 12.5e9}  # bytes/s on paper

def main():
    step_small = float(sys.argv[1])
    local = float(sys.argv[2]) * 1e9 if len(sys.argv) > 2 else None
    links = dict(LINKS)
    if local:
        links["this machine (measured)"] = local
    base = PRESETS["minimind2-small-v"][1]
    print("| preset | trained params | MB per allreduce | 1-rank step (s) | " + " | ".join(
        f"{n} ranks over {l}" for l in links for n in (2, 8)) + " |")
    print("|---" * (4 + 2 * len(links)) + "|")
    for name, (p, active) in PRESETS.items():
        step = step_small * active / base  # compute ∝ parameters each token passes through
        cells = []
        for bw in links.values():
            for n in (2, 8):
                comm = 2 * (n - 1) / n * 4 * p / bw
                eff = (step / n) / (step / n + comm)
                cells.append(f"{n * eff:.1f}× ({100 * eff:.0f} %)")
        print(f"| {name} | {p / 1e6:.1f} M | {4 * p / 1e6:.0f} | {step:.1f} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
