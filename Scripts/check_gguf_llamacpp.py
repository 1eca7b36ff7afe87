#!/usr/bin/env python3
"""Developer check (not CI): does llama.cpp run our GGUF exports as minimind-v runs the model?

Builds two random-weight models as MiniMindV model folders (a tiny one: hidden 32, 2 layers, heads
4/2; and minimind2-small-v's decoder: hidden 512, 8 layers, heads 8/2, both with the MiniMind2-V
tokenizer and a tiny CLIP tower), exports each with `minimind-v convert --format gguf` as f32 and
q8_0, and compares with llama.cpp through llama-cpp-python (built from source by pip):
  - the prompt's token ids (our tokenizer vs llama.cpp's reading of tokenizer.ggml.*),
  - the logits of the last prompt position (max |difference|),
  - the greedy answer: `minimind-v chat --greedy` vs llama.cpp's argmax loop (24 new tokens or
    <|im_end|>), compared as the text the tokens spell (llama.cpp detokenises its ids).

  pip install llama-cpp-python==0.3.36      # compiles llama.cpp: minutes
  swift build -c release -Xswiftc -target-cpu -Xswiftc haswell
  python3 Scripts/check_gguf_llamacpp.py [--bin .build/release/minimind-v] [--work /tmp/gguf-check]
"""
import argparse, json, os, subprocess, sys

PINNED = {"llama_cpp_python": "0.3.36", "torch": "2.13.0+cpu", "transformers": "5.24.0", "numpy": "2.4.6"}
from importlib.metadata import version as pkg_version
for name, want in PINNED.items():
    have = pkg_version(name.replace("_", "-"))
    if have != want:
        sys.exit(f"{name} {have} found, {want} pinned: pip install {name.replace('_', '-')}=={want}")

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModel, CLIPImageProcessor
from llama_cpp import Llama

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TOKENIZER = os.path.join(ROOT, "Tests", "Fixtures", "upstream", "minimind2-v")
PROMPTS = ["Hello, who are you?", "用一句话介绍一下北京。"]
NEW_TOKENS = 24

MODELS = {
    "tiny": dict(hidden=32, layers=2, heads=4, kv_heads=2, ffn=64, std=0.3),
    "minimind2-small-v": dict(hidden=512, layers=8, heads=8, kv_heads=2, ffn=1408, std=0.05),
}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def tiny_vision(path):
    torch.manual_seed(1)
    cfg = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=16, hidden_act="quick_gelu")
    CLIPVisionModel(cfg).save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    return json.load(open(os.path.join(path, "config.json")))


def model_folder(name, c, work, binary):
    folder = os.path.join(work, name)
    vision_dir = os.path.join(work, "vision")
    vision_cfg = tiny_vision(vision_dir)
    g = torch.Generator().manual_seed(5)
    head_dim = c["hidden"] // c["heads"]
    shapes = {"model.embed_tokens.weight": (6400, c["hidden"]), "model.norm.weight": (c["hidden"],),
              "vision_proj.vision_proj.0.weight": (c["hidden"], 16), "vision_proj.vision_proj.0.bias": (c["hidden"],)}
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (c["hidden"],), p + "post_attention_layernorm.weight": (c["hidden"],),
                       p + "self_attn.q_proj.weight": (c["heads"] * head_dim, c["hidden"]),
                       p + "self_attn.k_proj.weight": (c["kv_heads"] * head_dim, c["hidden"]),
                       p + "self_attn.v_proj.weight": (c["kv_heads"] * head_dim, c["hidden"]),
                       p + "self_attn.o_proj.weight": (c["hidden"], c["heads"] * head_dim),
                       p + "mlp.gate_proj.weight": (c["ffn"], c["hidden"]), p + "mlp.up_proj.weight": (c["ffn"], c["hidden"]),
                       p + "mlp.down_proj.weight": (c["hidden"], c["ffn"])})
    state = {k: (1 + 0.1 * torch.randn(s, generator=g)) if "norm" in k else c["std"] * torch.randn(s, generator=g)
             for k, s in shapes.items()}
    weights = os.path.join(work, f"{name}.safetensors")
    save_file({k: v.contiguous() for k, v in state.items()}, weights)
    config = {"language": {"model_type": "minimind2", "vocab_size": 6400, "hidden_size": c["hidden"],
                           "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"],
                           "num_key_value_heads": c["kv_heads"], "head_dim": head_dim, "intermediate_size": c["ffn"],
                           "rms_norm_eps": 1e-5, "rope_theta": 1e6, "max_position_embeddings": 512, "qk_norm": False},
              "vision": vision_cfg, "projector": "linear", "imageMarker": "<image>", "imagePlaceholder": "@",
              "imageTokenId": 34}
    config_path = os.path.join(work, f"{name}_config.json")
    json.dump(config, open(config_path, "w"))
    run([binary, "convert", weights, folder, "--config", config_path, "--vision", vision_dir, "--tokenizer", TOKENIZER])
    return folder


def ours(binary, folder, prompt, work):
    """Prompt ids, last-position logits and greedy answer ids from minimind-v."""
    rendered = f"<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
    ids_path, logits_path = os.path.join(work, "ids.npy"), os.path.join(work, "logits.npy")
    run([binary, "forward", "--model", folder, "--raw", "--prompt", rendered, "--dump-logits", logits_path, "--dump-ids", ids_path])
    ids = np.load(ids_path).astype(int).tolist()
    logits = np.load(logits_path)[-1]
    answer = run([binary, "chat", "--model", folder, "--greedy", "--max-new-tokens", str(NEW_TOKENS)],
                 input=prompt + "\n").strip()
    return rendered, ids, logits, answer


def theirs(gguf, rendered):
    llm = Llama(model_path=gguf, n_ctx=512, n_threads=2, logits_all=True, verbose=False)
    ids = llm.tokenize(rendered.encode(), add_bos=False, special=True)
    llm.eval(ids)
    logits = np.array(llm.scores[len(ids) - 1])
    out = []
    for _ in range(NEW_TOKENS):
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        if tok == 2:
            break
        out.append(tok)
        llm.eval([tok])
    return ids, logits, out, llm.detokenize(out).decode("utf-8", errors="replace").strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "minimind-v"))
    ap.add_argument("--work", default="/tmp/gguf-check")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for name, c in MODELS.items():
        folder = model_folder(name, c, args.work, args.bin)
        for qtype in ["f32", "q8_0"]:
            gguf = os.path.join(args.work, f"{name}-{qtype}.gguf")
            run([args.bin, "convert", folder, gguf, "--format", "gguf", "--type", qtype])
            for prompt in PROMPTS:
                rendered, our_ids, our_logits, answer = ours(args.bin, folder, prompt, args.work)
                their_ids, their_logits, their_tokens, their_answer = theirs(gguf, rendered)
                same_prompt = our_ids == their_ids
                same_answer = answer == their_answer
                diff = float(np.max(np.abs(our_logits - their_logits)))
                failures += (not same_prompt) + (qtype == "f32" and not same_answer)
                print(f"{name:18s} {qtype:5s} {prompt[:20]!r:24s} prompt ids equal: {same_prompt}  "
                      f"last logits max|diff| {diff:.2e}  greedy ({len(their_tokens)} tokens) equal: {same_answer}"
                      + ("" if same_answer else f"\n    ours   {answer!r}\n    llama  {their_answer!r}"))
    print("OK" if failures == 0 else f"{failures} mismatches")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
