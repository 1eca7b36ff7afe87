#!/usr/bin/env python3
"""End-to-end check of `minimind-v forward` at full size against a PyTorch composition.

Builds (in a scratch folder) an upstream-release-layout checkpoint for minimind2-small-v with random
fp16 weights, a random full-size CLIP ViT-B/16 vision folder (transformers save_pretrained), runs
`minimind-v forward` on a real eval image with the real tokenizer, and compares its logits with
transformers' CLIPVisionModel + CLIPImageProcessor (PIL) + LlamaForCausalLM + the Docs/Model.md, "Projector and image splicing" splice.
Usage: python3 Scripts/check_forward_e2e.py BINARY ASSETS_DIR SCRATCH_DIR
"""
import json, os, subprocess, sys
import numpy as np, torch
from PIL import Image
from transformers import (CLIPVisionConfig, CLIPVisionModel, CLIPImageProcessor, LlamaConfig, LlamaForCausalLM,
                          AutoTokenizer)

binary, assets, scratch = sys.argv[1:4]
os.makedirs(scratch, exist_ok=True)
torch.manual_seed(0)
torch.set_num_threads(2)

vision_dir = os.path.join(scratch, "clip")
vision = CLIPVisionModel(CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                          num_attention_heads=12, image_size=224, patch_size=16,
                                          hidden_act="quick_gelu", layer_norm_eps=1e-5)).eval()
vision.save_pretrained(vision_dir)
CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, resample=3).save_pretrained(vision_dir)

cfg = LlamaConfig(vocab_size=6400, hidden_size=512, intermediate_size=1408, num_hidden_layers=8, num_attention_heads=8,
                  num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=1e6, max_position_embeddings=32768,
                  tie_word_embeddings=True)
lm = LlamaForCausalLM(cfg).eval()
with torch.no_grad():
    for n, p in lm.named_parameters():
        p.copy_(p.half().float())  # the release file is fp16
proj = torch.nn.Linear(768, 512).half().float()
state = {k: v.half() for k, v in lm.state_dict().items()}
state["vision_proj.vision_proj.0.weight"] = proj.weight.detach().half()
state["vision_proj.vision_proj.0.bias"] = proj.bias.detach().half()
weights = os.path.join(scratch, "sft_vlm_512.pth")
torch.save(state, weights)

tok_dir = os.path.join(assets, "minimind2-v")
# A PNG copy of a real eval image: PNG decodes identically in PIL and stb, so any difference left is
# arithmetic, not JPEG-decoder noise.
image = os.path.join(scratch, "image-01.png")
Image.open(os.path.join(tok_dir, "eval_images", "image-01.jpg")).convert("RGB").save(image)
prompt = "<image>\nWhat is in this picture?"
out = os.path.join(scratch, "logits.npy"); ids_out = os.path.join(scratch, "ids.npy")
subprocess.run([binary, "forward", "--weights", weights, "--vision", vision_dir, "--tokenizer", tok_dir, "--image", image,
                "--prompt", prompt, "--dump-logits", out, "--dump-ids", ids_out], check=True)

tok = AutoTokenizer.from_pretrained(tok_dir)
text = tok.apply_chat_template([{"role": "user", "content": prompt.replace("<image>", "@" * 196)}], tokenize=False,
                               add_generation_prompt=True)
ids = tok(text)["input_ids"]
swift_ids = np.load(ids_out).tolist()
assert swift_ids == ids, "token ids differ"
with torch.no_grad():
    pixels = CLIPImageProcessor.from_pretrained(vision_dir)(images=Image.open(image).convert("RGB"), return_tensors="pt")["pixel_values"]
    feats = vision(pixel_values=pixels).last_hidden_state[:, 1:, :]
    h = lm.model.embed_tokens(torch.tensor([ids]))
    start = ids.index(34)
    h[0, start:start + 196] = proj(feats)[0]
    ref = lm(inputs_embeds=h).logits[0].numpy()
ours = np.load(out)
diff = np.abs(ours - ref)
print(json.dumps({"tokens": len(ids), "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
                  "argmax_agreement": float((ours.argmax(-1) == ref.argmax(-1)).mean())}))
