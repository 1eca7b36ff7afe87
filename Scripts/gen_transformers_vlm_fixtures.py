#!/usr/bin/env python3
"""Upstream MiniMind-V's transformers layout of the whole VLM, written and read by transformers/torch.

Writes Tests/Fixtures/transformers-vlm/: for each generation (`minimind2v`: Llama-style decoder,
Linear projector, CLIP tower; `minimind3v`: Qwen3-style decoder, LayerNorm-Linear-GELU-Linear
projector, SigLIP tower) a tiny random model in the layout upstream's conversion script writes
with `save_pretrained` — config.json from a `PretrainedConfig` subclass with upstream's
`model_type` "minimind-v", its VLMConfig/MiniMindConfig fields, `architectures` and `auto_map`;
model.safetensors (bf16, as upstream converts) with the release key names, no vision weights,
tied head not stored; generation_config.json from transformers' GenerationConfig — plus the
vision folder it is used with (`<name>-vision`, CLIPModel / SiglipVisionModel + image processor
`save_pretrained`) and `<name>_case.json` / `_pixels.npy` / `_logits.npy`: a chat prompt with one
image (ids from transformers' tokenizer and chat template with the committed upstream tokenizer),
the processor's pixels for a committed PNG, and the logits of the reference forward below.

The reference forward uses no MiniMindV code and none of upstream's (not shipped here): the decoder
is transformers' LlamaForCausalLM / Qwen3ForCausalLM built from the folder's config.json fields
(the same function in float32, Docs/Model.md), the projector a torch nn.Sequential loaded strictly
from the `vision_proj.*` keys, the tower transformers' CLIP (features before post_layernorm,
class token dropped) or SigLIP (after post_layernorm), image features written over the run of
image ids. Tokenizer files are not copied into the fixture folders (the tests take them from
Tests/Fixtures/upstream).

  python3 Scripts/gen_transformers_vlm_fixtures.py                 # write the fixtures
  python3 Scripts/gen_transformers_vlm_fixtures.py --validate DIR  # check folders we exported

--validate loads DIR/<name> (written by `MINIMIND_EXPORT_DIR=DIR swift test --filter
TransformersVLMExportTests`, i.e. `minimind-v convert … --format transformers`) with the same
reference code and the fixture's vision folder, and compares its logits for the fixture prompt
with the fixture logits (float32, ≤ 1e-4).
"""
import json, os, shutil, sys

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "numpy": "2.4.6", "safetensors": "0.8.0", "pillow": "13.0.0"}
require(PINNED)
import numpy as np, torch
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import (AutoTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel, GenerationConfig, LlamaConfig,
                          LlamaForCausalLM, PretrainedConfig, Qwen3Config, Qwen3ForCausalLM, SiglipImageProcessor,
                          SiglipVisionConfig, SiglipVisionModel)

ROOT = FIXTURES
OUT = os.path.join(ROOT, "transformers-vlm")
AUTO_MAP = {"AutoConfig": "model_vlm.VLMConfig", "AutoModelForCausalLM": "model_vlm.MiniMindVLM"}
QUESTION = "<image>\n描述一下这张图片的内容。"
IMAGE = os.path.join(ROOT, "images", "sources", "rgb_37x53.png")


class VLMConfig(PretrainedConfig):
    """Upstream's config class as its model code defines it: MiniMindConfig's fields plus the image ones."""
    model_type = "minimind-v"

    def __init__(self, image_special_token="@" * 196, image_ids=[34] * 196, **kwargs):
        self.image_special_token = image_special_token
        self.image_ids = image_ids
        fields = kwargs.pop("fields", {})
        super().__init__(**kwargs)
        for k, v in fields.items():
            setattr(self, k, v)


# MiniMind2-V (Llama-style, MiniMind2's MiniMindConfig fields) and minimind-3v (Qwen3-style,
# minimind-3's fields); 16 image tokens from 32-pixel images in 8-pixel patches.
TOKENS = 16
# Logits are kept for the prompt's last positions (all after the image run), to keep the fixture small.
LAST = 4
GENERATIONS = {
    "minimind2v": dict(
        tokenizer="minimind2-v", marker=34, unit="@",
        lm=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=64,
                rms_norm_eps=1e-5),
        fields=dict(dropout=0.0, hidden_act="silu", flash_attn=True, inference_rope_scaling=False, rope_scaling=None,
                    rope_theta=1e6, max_position_embeddings=512, vocab_size=6400, use_moe=False, num_experts_per_tok=2,
                    n_routed_experts=4, n_shared_experts=1, scoring_func="softmax", aux_loss_alpha=0.01, seq_aux=True,
                    norm_topk_prob=True)),
    "minimind3v": dict(
        tokenizer="minimind-3v", marker=12, unit="<|image_pad|>",
        lm=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                intermediate_size=64, rms_norm_eps=1e-6),
        fields=dict(dropout=0.0, hidden_act="silu", flash_attn=True, inference_rope_scaling=False, rope_scaling=None,
                    rope_theta=1e6, max_position_embeddings=512, vocab_size=6400, use_moe=False, num_experts=4,
                    num_experts_per_tok=1, moe_intermediate_size=64, norm_topk_prob=True, router_aux_loss_coef=5e-4,
                    image_hidden_size=32, image_token_len=TOKENS)),
}


# ---------------------------------------------------------------- the reference reader

def reference_model(folder, vision_dir):
    """(lm, projector, tower_fn) from an upstream-layout folder, by transformers and torch alone."""
    cfg = json.load(open(os.path.join(folder, "config.json")))
    assert cfg["model_type"] == "minimind-v", cfg["model_type"]
    assert cfg["architectures"] == ["MiniMindVLM"], cfg["architectures"]
    assert cfg["auto_map"] == AUTO_MAP, cfg["auto_map"]
    sd = {k: v.float() for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    assert not any(k.startswith("vision_encoder.") for k in sd), "no vision weights in the layout"
    qwen = "router_aux_loss_coef" in cfg  # minimind-3's config; MiniMind2's has aux_loss_alpha
    common = dict(vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"], intermediate_size=cfg["intermediate_size"],
                  num_hidden_layers=cfg["num_hidden_layers"], num_attention_heads=cfg["num_attention_heads"],
                  num_key_value_heads=cfg["num_key_value_heads"],
                  head_dim=cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"]),
                  rms_norm_eps=cfg["rms_norm_eps"], rope_theta=cfg["rope_theta"],
                  max_position_embeddings=cfg["max_position_embeddings"],
                  tie_word_embeddings=cfg.get("tie_word_embeddings", True), attention_bias=False, hidden_act="silu")
    lm = (Qwen3ForCausalLM(Qwen3Config(**common, use_sliding_window=False)) if qwen
          else LlamaForCausalLM(LlamaConfig(**common, mlp_bias=False))).float().eval()
    missing, unexpected = lm.load_state_dict({k: v for k, v in sd.items() if not k.startswith("vision_proj.")}, strict=False)
    assert not unexpected, unexpected
    assert set(missing) <= ({"lm_head.weight"} if common["tie_word_embeddings"] else set()), missing
    proj_sd = {k[len("vision_proj."):]: v for k, v in sd.items() if k.startswith("vision_proj.")}
    if "vision_proj.0.weight" in proj_sd:  # MiniMind2-V: Linear
        w = proj_sd["vision_proj.0.weight"]
        projector = torch.nn.Sequential(torch.nn.Linear(w.shape[1], w.shape[0]))
        projector.load_state_dict({k[len("vision_proj."):]: v for k, v in proj_sd.items()}, strict=True)
    else:  # minimind-3v: LayerNorm → Linear → GELU → Linear
        d, h = proj_sd["mlp.1.weight"].shape[1], proj_sd["mlp.1.weight"].shape[0]
        projector = torch.nn.Sequential(torch.nn.LayerNorm(d, eps=1e-5), torch.nn.Linear(d, h), torch.nn.GELU(), torch.nn.Linear(h, h))
        projector.load_state_dict({k[len("mlp."):]: v for k, v in proj_sd.items()}, strict=True)
    if qwen:
        tower = SiglipVisionModel.from_pretrained(vision_dir, dtype=torch.float32).eval()
        features = lambda px: tower(pixel_values=px).last_hidden_state
    else:
        clip = CLIPModel.from_pretrained(vision_dir, dtype=torch.float32).eval()
        features = lambda px: clip.vision_model(pixel_values=px).last_hidden_state[:, 1:, :]
    return cfg, lm, projector.eval(), features


def reference_logits(folder, vision_dir, ids, pixels):
    cfg, lm, projector, features = reference_model(folder, vision_dir)
    marker = cfg["image_ids"][0]
    with torch.no_grad():
        image = projector(features(torch.tensor(pixels)))[0]
        h = lm.model.embed_tokens(torch.tensor([ids]))
        at = [i for i, t in enumerate(ids) if t == marker]
        assert len(at) == image.shape[0] and at == list(range(at[0], at[0] + len(at))), "one run of image ids"
        h[0, at[0]:at[0] + len(at)] = image
        return lm(inputs_embeds=h).logits[0, -LAST:].numpy()


# ---------------------------------------------------------------- writing the fixtures

def perturb(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))


def write_generation(name, g):
    folder, vision_dir = os.path.join(OUT, name), os.path.join(OUT, f"{name}-vision")
    for d in (folder, vision_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    qwen = name == "minimind3v"
    common = dict(vocab_size=6400, tie_word_embeddings=True, max_position_embeddings=512, rope_theta=1e6,
                  initializer_range=0.3, **g["lm"])
    lm = (Qwen3ForCausalLM(Qwen3Config(**common, use_sliding_window=False)) if qwen
          else LlamaForCausalLM(LlamaConfig(**common, mlp_bias=False))).float().eval()
    perturb(lm)
    hidden = g["lm"]["hidden_size"]
    if qwen:
        tower = SiglipVisionModel(SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                     num_attention_heads=4, image_size=32, patch_size=8,
                                                     hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                                                     vision_use_head=False)).float().eval()
        perturb(tower)
        tower.save_pretrained(vision_dir)
        SiglipImageProcessor(size={"height": 32, "width": 32}, resample=2).save_pretrained(vision_dir)
        projector = {"mlp.0.weight": 1 + 0.1 * torch.randn(32), "mlp.0.bias": 0.1 * torch.randn(32),
                     "mlp.1.weight": 0.3 * torch.randn(hidden, 32), "mlp.1.bias": 0.1 * torch.randn(hidden),
                     "mlp.3.weight": 0.3 * torch.randn(hidden, hidden), "mlp.3.bias": 0.1 * torch.randn(hidden)}
    else:
        clip = CLIPModel(CLIPConfig(vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                       num_attention_heads=4, image_size=32, patch_size=8,
                                                       hidden_act="quick_gelu", layer_norm_eps=1e-5),
                                    text_config=dict(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                     num_attention_heads=2, max_position_embeddings=16),
                                    projection_dim=16)).float().eval()
        perturb(clip)
        clip.save_pretrained(vision_dir)
        CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(vision_dir)
        projector = {"vision_proj.0.weight": 0.3 * torch.randn(hidden, 32), "vision_proj.0.bias": 0.1 * torch.randn(hidden)}

    # config.json as upstream's VLMConfig.save_pretrained writes it (register_for_auto_class → auto_map).
    image_kwargs = (dict(image_special_token=g["unit"], image_ids=[g["marker"]]) if qwen
                    else dict(image_special_token=g["unit"] * TOKENS, image_ids=[g["marker"]] * TOKENS))
    config = VLMConfig(**image_kwargs, bos_token_id=1, eos_token_id=2,
                       fields=dict(g["fields"], **g["lm"]))
    config.architectures = ["MiniMindVLM"]
    config.auto_map = AUTO_MAP
    config.dtype = torch.bfloat16
    config.save_pretrained(folder)
    GenerationConfig(bos_token_id=1, eos_token_id=2).save_pretrained(folder)
    state = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in lm.state_dict().items() if k != "lm_head.weight"}
    state.update({f"vision_proj.{k}": v.to(torch.bfloat16).contiguous() for k, v in projector.items()})
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})

    tok = AutoTokenizer.from_pretrained(os.path.join(ROOT, "upstream", g["tokenizer"]))
    text = tok.apply_chat_template([{"role": "user", "content": QUESTION.replace("<image>", g["unit"] * TOKENS)}],
                                   tokenize=False, add_generation_prompt=True)
    ids = tok(text)["input_ids"]
    processor = (SiglipImageProcessor if qwen else CLIPImageProcessor).from_pretrained(vision_dir)
    pixels = processor(images=Image.open(IMAGE).convert("RGB"), return_tensors="np")["pixel_values"].astype(np.float32)
    logits = reference_logits(folder, vision_dir, ids, pixels)
    json.dump({"question": QUESTION, "image": os.path.relpath(IMAGE, ROOT), "text": text, "ids": ids},
              open(os.path.join(OUT, f"{name}_case.json"), "w"), ensure_ascii=False, indent=1)
    np.save(os.path.join(OUT, f"{name}_pixels.npy"), pixels)
    np.save(os.path.join(OUT, f"{name}_logits.npy"), logits.astype(np.float32))
    print(f"{name}: {len(ids)} prompt ids, logits {logits.shape}")


def validate(export_dir):
    worst = 0.0
    for name in GENERATIONS:
        case = json.load(open(os.path.join(OUT, f"{name}_case.json")))
        logits = reference_logits(os.path.join(export_dir, name), os.path.join(OUT, f"{name}-vision"), case["ids"],
                                  np.load(os.path.join(OUT, f"{name}_pixels.npy")))
        diff = float(np.max(np.abs(logits - np.load(os.path.join(OUT, f"{name}_logits.npy")))))
        worst = max(worst, diff)
        print(f"{name}: our export read by transformers/torch, logits max|diff| {diff:.2e}")
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    torch.manual_seed(17)
    if len(sys.argv) == 3 and sys.argv[1] == "--validate":
        validate(sys.argv[2])
    os.makedirs(OUT, exist_ok=True)
    for name, g in GENERATIONS.items():
        write_generation(name, g)
