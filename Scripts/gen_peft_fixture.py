#!/usr/bin/env python3
"""LoRA adapters written and applied by Hugging Face PEFT, the reference for MiniMindV's LoRA.

Writes Tests/Fixtures/peft/:
  base/                   a tiny transformers LlamaForCausalLM (the MiniMind2 language model's layout,
                          which `TransformersLMExport.load` reads): config.json + model.safetensors (f32)
  <name>/                 a PEFT adapter on it, as `PeftModel.save_pretrained` writes it:
                          adapter_config.json + adapter_model.safetensors, with random non-zero A and B
  <name>_logits.npy       [T, vocab] logits of the PEFT model (eval mode: dropout off) for ids.npy
  <name>_merged.safetensors  the weights PEFT's `merge_and_unload` gives for two adapted layers of block 0
  ids.npy                 the prompt

Adapters: `all` — r 4, alpha 8, dropout 0.1 on q,k,v,o,gate,up,down_proj; `rslora` — r 2, alpha 6,
use_rslora (scale alpha/√r) on q_proj, v_proj, down_proj; `saved` — r 2, alpha 4 on q_proj, v_proj with
modules_to_save ["model.norm"] (the final norm trained in full, saved whole in the adapter file).

  python3 Scripts/gen_peft_fixture.py                 # write the fixtures
  python3 Scripts/gen_peft_fixture.py --validate DIR  # check an adapter MiniMindV wrote

--validate loads DIR/adapter (written by `MINIMIND_PEFT_EXPORT_DIR=DIR swift test --filter
PEFTAdapterTests`: the `all` adapter after a few training steps in MiniMindV) onto the fixture's base
model with `PeftModel.from_pretrained` and compares its logits for DIR/ids.npy with the logits
MiniMindV computed (DIR/logits.npy), float32, ≤ 1e-4.
"""
import json, os, shutil, sys

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "peft": "0.21.2", "numpy": "2.4.6", "safetensors": "0.8.0"}
require(PINNED)
import numpy as np, torch, peft
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM
from peft import LoraConfig, PeftModel, get_peft_model

OUT = os.path.join(FIXTURES, "peft")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAPTERS = {
    "all": dict(r=4, lora_alpha=8, lora_dropout=0.1, target_modules=TARGETS),
    "rslora": dict(r=2, lora_alpha=6, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"], use_rslora=True),
    # A module trained in full beside the adapters, saved whole (PEFT's modules_to_save): the final norm.
    "saved": dict(r=2, lora_alpha=4, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], modules_to_save=["model.norm"]),
}
MERGED = ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight"]
torch.set_num_threads(1)


def base_model():
    return LlamaForCausalLM.from_pretrained(os.path.join(OUT, "base"), dtype=torch.float32).eval()


def logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor(ids)[None]).logits[0].float().numpy()


def write():
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=1e6,
                         tie_word_embeddings=True, hidden_act="silu", initializer_range=0.3,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = LlamaForCausalLM(config).float().eval()
    with torch.no_grad():  # norm weights off 1 so that their use is checked too
        for n, p in model.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    model.save_pretrained(os.path.join(OUT, "base"), safe_serialization=True)
    ids = torch.randint(3, config.vocab_size, (12,)).tolist()
    np.save(os.path.join(OUT, "ids.npy"), np.array(ids, dtype=np.int64))
    plain = logits(base_model(), ids)
    for name, kwargs in ADAPTERS.items():
        lora = get_peft_model(base_model(), LoraConfig(task_type="CAUSAL_LM", **kwargs))
        with torch.no_grad():  # a trained adapter: B non-zero (PEFT starts it at zero)
            for n, p in lora.named_parameters():
                if "lora_A" in n or "lora_B" in n:
                    p.copy_(0.3 * torch.randn_like(p))
                elif "modules_to_save" in n:  # the trained copy of a saved module
                    p.copy_(1 + 0.3 * torch.randn_like(p))
        lora.eval()
        out = logits(lora, ids)
        assert np.abs(out - plain).max() > 1e-2, "the adapter must change the logits"
        lora.save_pretrained(os.path.join(OUT, name))
        np.save(os.path.join(OUT, f"{name}_logits.npy"), out.astype(np.float32))
        # Reload as a user would and check the saved files reproduce the logits.
        again = PeftModel.from_pretrained(base_model(), os.path.join(OUT, name)).eval()
        assert np.abs(logits(again, ids) - out).max() < 1e-6
        merged = again.merge_and_unload().state_dict()
        save_file({k: merged[k].contiguous().clone() for k in MERGED if k in merged},
                  os.path.join(OUT, f"{name}_merged.safetensors"))
    for name in ADAPTERS:  # peft writes its own README.md (a model card template): not needed
        readme = os.path.join(OUT, name, "README.md")
        if os.path.exists(readme):
            os.remove(readme)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total} bytes)")


def validate(folder):
    ids = np.load(os.path.join(folder, "ids.npy")).tolist()
    ours = np.load(os.path.join(folder, "logits.npy"))
    config = json.load(open(os.path.join(folder, "adapter", "adapter_config.json")))
    model = PeftModel.from_pretrained(base_model(), os.path.join(folder, "adapter")).eval()
    adapted = sum(1 for n, _ in model.named_modules() if n.endswith("lora_A.default"))
    ref = logits(model, ids)
    diff = float(np.abs(ref - ours.reshape(ref.shape)).max())
    plain = float(np.abs(logits(base_model(), ids) - ref).max())
    print(f"peft {peft.__version__} loaded {folder}/adapter: r={config['r']} alpha={config['lora_alpha']}, {adapted} adapted layers; "
          f"max |logits - MiniMindV's| = {diff:.2e} (the adapter moves them by {plain:.2e})")
    if not diff <= 1e-4 or plain < 1e-3:
        sys.exit("FAILED")
    print("OK")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--validate":
        validate(sys.argv[2])
    elif len(sys.argv) == 1:
        write()
    else:
        sys.exit(__doc__)
