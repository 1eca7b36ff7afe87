#!/usr/bin/env python3
"""Loads the language-model folders `TransformersLMExportTests` exported (MINIMIND_EXPORT_DIR=DIR
swift test --filter TransformersLMExportTests) with transformers' AutoModelForCausalLM — no remote
code — and compares their logits on the fixture ids with the fixture logits transformers computed
for the original models (Tests/Fixtures/models, Scripts/gen_model_fixtures.py): float32, ≤ 1e-4.

  python3 Scripts/check_transformers_export.py DIR
"""
import os, sys
PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "numpy": "2.4.6"}
import numpy as np, torch, transformers
from transformers import AutoModelForCausalLM
for mod, want in [(torch, PINNED["torch"]), (transformers, PINNED["transformers"]), (np, PINNED["numpy"])]:
    if mod.__version__ != want:
        sys.exit(f"{mod.__name__} {mod.__version__} found, {want} pinned")

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "models")
worst = 0.0
for prefix, cls in [("llama", "LlamaForCausalLM"), ("qwen3", "Qwen3ForCausalLM")]:
    model = AutoModelForCausalLM.from_pretrained(os.path.join(sys.argv[1], f"hf_{prefix}"), dtype=torch.float32).eval()
    assert type(model).__name__ == cls, type(model).__name__
    ids = torch.tensor(np.load(os.path.join(FIX, f"{prefix}_ids.npy")))[None]
    with torch.no_grad():
        logits = model(ids).logits[0].numpy()
    diff = float(np.max(np.abs(logits - np.load(os.path.join(FIX, f"{prefix}_logits.npy")))))
    worst = max(worst, diff)
    print(f"{prefix}: {cls} loaded without remote code, logits max|diff| {diff:.2e}")
sys.exit(0 if worst <= 1e-4 else 1)
