#!/usr/bin/env python3
"""Generates Tests/Fixtures/generation/generation_config_*.json with transformers' GenerationConfig.

Each case is written by `GenerationConfig.save_pretrained` (the file transformers puts into a model
folder, with its own extra fields) and read back with `GenerationConfig.from_pretrained`; the values
transformers reads are stored beside it (`*.expected.json`), so the Swift test checks that our reader
takes the same values from the same file, MiniMindV's `minimindv_*` fields included (transformers
keeps unknown fields as attributes and writes them back).
Run from the repository root:  python3 Scripts/gen_generation_config_fixtures.py
"""
import json, os, shutil, tempfile

from fixture_common import fixture_dir, require

PINNED = {"transformers": "5.24.0"}
require(PINNED)
from transformers import GenerationConfig

OUT = fixture_dir("generation")

CASES = {
    # The demo's kind: greedy, short answers, its caption prompt and example questions.
    "greedy": dict(do_sample=False, max_new_tokens=32, eos_token_id=2,
                   minimindv_caption_prompt="<image>\nDescribe the image.",
                   minimindv_example_questions=["What colour is the circle?", "How many shapes are there?"]),
    # Upstream evaluation's sampling, a list of eos ids, a system prompt.
    "sampling": dict(do_sample=True, temperature=0.7, top_p=0.85, top_k=50, repetition_penalty=1.1,
                     max_new_tokens=512, eos_token_id=[2, 0],
                     minimindv_system_prompt="You are a helpful assistant.",
                     minimindv_caption_prompt="<image>\n描述一下这张图片的内容。"),
}
FIELDS = ["do_sample", "temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens", "eos_token_id",
          "minimindv_caption_prompt", "minimindv_system_prompt", "minimindv_example_questions"]

for name, kwargs in CASES.items():
    folder = tempfile.mkdtemp()
    GenerationConfig(**kwargs).save_pretrained(folder)
    back = GenerationConfig.from_pretrained(folder)
    expected = {f: getattr(back, f, None) for f in FIELDS}
    if isinstance(expected["eos_token_id"], int):
        expected["eos_token_id"] = [expected["eos_token_id"]]
    shutil.copy(os.path.join(folder, "generation_config.json"), os.path.join(OUT, f"generation_config_{name}.json"))
    with open(os.path.join(OUT, f"generation_config_{name}.expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False, sort_keys=True)
    shutil.rmtree(folder)
    print(name, json.dumps(expected, ensure_ascii=False))
