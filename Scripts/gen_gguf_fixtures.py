#!/usr/bin/env python3
"""GGUF fixtures from the reference implementation (gguf-py, the llama.cpp project's own Python
package), in Tests/Fixtures/gguf/:

- quant_inputs.npy + quant_q8_0.bin / quant_q4_0.bin: float32 rows (edge cases: zeros, ties,
  halves, negative extremes, tiny and huge values, random) and gguf-py's q8_0 / q4_0 bytes for them.
- ref_llama_q8_0.gguf, ref_qwen3_q4_0.gguf: tiny MiniMind2 (llama) and minimind-3 (qwen3) language
  models written with gguf-py's GGUFWriter the way llama.cpp's convert_hf_to_gguf.py writes them
  (same metadata keys and types, tensor names, llama's q/k permutation, norms in f32), with the
  MiniMind2-V tokenizer. Weights follow a formula exact in float32 (see weights()), which the Swift
  test reproduces, so no weights file is committed; it then exports the same models and compares
  every key, tensor name, shape, type and byte with these files.

--validate FILE.gguf [...]: reads files our `minimind-v convert --format gguf` wrote with gguf-py's
GGUFReader and checks names, shapes, types and metadata against the same reference construction
(the tiny models above, exported by `swift test --filter GGUFExportTests` with MINIMIND_EXPORT_DIR).
MoE files (`qwen3moe`, `llama` with `llama.expert_count`) are checked against the same two models
with 4 experts (MOE_MODELS), built here in a temporary file, not committed: the router as
`ffn_gate_inp` (kept f32, as the converter does), the experts stacked as `ffn_{gate,up,down}_exps`,
the expert counts under `{arch}.expert_count` / `expert_used_count` (and qwen3moe's
`expert_feed_forward_length`).

Run from the repository root:  python3 Scripts/gen_gguf_fixtures.py
"""
import json, os, sys, tempfile

from fixture_common import FIXTURES, require

PINNED = {"gguf": "0.19.0", "numpy": "2.4.6"}
require(PINNED)
import numpy as np
import gguf
from gguf import GGUFWriter, GGUFReader, GGMLQuantizationType as QT
from gguf import quants

OUT = os.path.join(FIXTURES, "gguf")
TOKENIZER = os.path.join(FIXTURES, "upstream", "minimind2-v")

# The two tiny decoders (MiniMind2 = llama without QK-norm, minimind-3 = qwen3 with it).
MODELS = {
    "llama": dict(vocab=6400, hidden=32, layers=2, heads=4, kv_heads=2, head_dim=8, ffn=64, eps=1e-5,
                  theta=1e6, ctx=512, qk_norm=False, type="q8_0"),
    "qwen3": dict(vocab=6400, hidden=32, layers=2, heads=4, kv_heads=2, head_dim=16, ffn=96, eps=1e-6,
                  theta=1e6, ctx=512, qk_norm=True, type="q4_0"),
}


# The same decoders with 4 routed experts, as llama.cpp runs them (softmax router, top k renormalised,
# no shared expert): minimind-3's top-1 as qwen3moe, MiniMind2's top-2 as llama with experts.
MOE_MODELS = {
    "qwen3moe": dict(MODELS["qwen3"], experts=4, used=1, type="q8_0"),
    "llama_moe": dict(MODELS["llama"], experts=4, used=2, type="q8_0"),
}


def hf_shapes(c):
    """transformers / MiniMind release names and shapes of the decoder."""
    s = {"model.embed_tokens.weight": (c["vocab"], c["hidden"]), "model.norm.weight": (c["hidden"],)}
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        s[p + "input_layernorm.weight"] = (c["hidden"],)
        s[p + "post_attention_layernorm.weight"] = (c["hidden"],)
        s[p + "self_attn.q_proj.weight"] = (c["heads"] * c["head_dim"], c["hidden"])
        s[p + "self_attn.k_proj.weight"] = (c["kv_heads"] * c["head_dim"], c["hidden"])
        s[p + "self_attn.v_proj.weight"] = (c["kv_heads"] * c["head_dim"], c["hidden"])
        s[p + "self_attn.o_proj.weight"] = (c["hidden"], c["heads"] * c["head_dim"])
        if c["qk_norm"]:
            s[p + "self_attn.q_norm.weight"] = (c["head_dim"],)
            s[p + "self_attn.k_norm.weight"] = (c["head_dim"],)
        if c.get("experts"):
            s[p + "mlp.gate.weight"] = (c["experts"], c["hidden"])
            for e in range(c["experts"]):
                s[p + f"mlp.experts.{e}.gate_proj.weight"] = (c["ffn"], c["hidden"])
                s[p + f"mlp.experts.{e}.up_proj.weight"] = (c["ffn"], c["hidden"])
                s[p + f"mlp.experts.{e}.down_proj.weight"] = (c["hidden"], c["ffn"])
            continue
        s[p + "mlp.gate_proj.weight"] = (c["ffn"], c["hidden"])
        s[p + "mlp.up_proj.weight"] = (c["ffn"], c["hidden"])
        s[p + "mlp.down_proj.weight"] = (c["hidden"], c["ffn"])
    return s


def weights(c):
    """Tensor number t (in sorted name order), element i: ((7919·i + 104729·t) mod 2001 − 1000) / 4096,
    norms 1 + that / 8: exact in float32 and float16, reproducible in any language."""
    out = {}
    for t, (name, shape) in enumerate(sorted(hf_shapes(c).items())):
        i = np.arange(int(np.prod(shape)), dtype=np.int64)
        v = (((i * 7919 + t * 104729) % 2001) - 1000).astype(np.float32) / np.float32(4096)
        if len(shape) == 1:
            v = np.float32(1) + v / np.float32(8)
        out[name] = v.reshape(shape).astype(np.float32)
    return out


def permute(w, n_head, n_head_kv):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: half-split rows -> interleaved pairs."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def gguf_tensors(arch, c, w):
    names = [("token_embd.weight", "model.embed_tokens.weight", None)]
    for i in range(c["layers"]):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        names += [(b + "attn_norm.weight", p + "input_layernorm.weight", None),
                  (b + "attn_q.weight", p + "self_attn.q_proj.weight", "q"),
                  (b + "attn_k.weight", p + "self_attn.k_proj.weight", "k"),
                  (b + "attn_v.weight", p + "self_attn.v_proj.weight", None),
                  (b + "attn_output.weight", p + "self_attn.o_proj.weight", None)]
        if c["qk_norm"]:
            names += [(b + "attn_q_norm.weight", p + "self_attn.q_norm.weight", None),
                      (b + "attn_k_norm.weight", p + "self_attn.k_norm.weight", None)]
        names += [(b + "ffn_norm.weight", p + "post_attention_layernorm.weight", None)]
        if c.get("experts"):
            # convert_hf_to_gguf.py stacks the experts of each projection (Qwen2MoeModel / LlamaModel).
            names += [(b + "ffn_gate_inp.weight", p + "mlp.gate.weight", None)]
            names += [(b + f"ffn_{n}_exps.weight", [p + f"mlp.experts.{e}.{n}_proj.weight" for e in range(c["experts"])], None)
                      for n in ("gate", "up", "down")]
        else:
            names += [(b + "ffn_gate.weight", p + "mlp.gate_proj.weight", None),
                      (b + "ffn_up.weight", p + "mlp.up_proj.weight", None),
                      (b + "ffn_down.weight", p + "mlp.down_proj.weight", None)]
    names.append(("output_norm.weight", "model.norm.weight", None))
    for gname, hname, perm in names:
        t = np.stack([w[h] for h in hname]) if isinstance(hname, list) else w[hname]
        if arch == "llama" and perm == "q":
            t = permute(t, c["heads"], c["heads"])
        elif arch == "llama" and perm == "k":
            t = permute(t, c["heads"], c["kv_heads"])
        yield gname, np.ascontiguousarray(t)


def tokenizer_lists(vocab_size):
    """What convert_hf_to_gguf.py's get_vocab_base() makes of a tokenizers BPE file."""
    tok = json.load(open(os.path.join(TOKENIZER, "tokenizer.json"), encoding="utf-8"))
    cfg = json.load(open(os.path.join(TOKENIZER, "tokenizer_config.json"), encoding="utf-8"))
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok["added_tokens"]}
    tokens, types = [], []
    for i in range(vocab_size):
        if i in added:
            tokens.append(added[i]["content"])
            types.append(gguf.TokenType.CONTROL if added[i]["special"] else gguf.TokenType.USER_DEFINED)
        elif i in by_id:
            tokens.append(by_id[i]); types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]"); types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    ids = {a["content"]: a["id"] for a in tok["added_tokens"]}
    return tokens, types, merges, ids[cfg["bos_token"]], ids[cfg["eos_token"]], ids[cfg["pad_token"]], cfg["chat_template"]


def write_reference(arch, c, path, name=None):
    w = weights(c)
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0}[c["type"]]
    g = GGUFWriter(path, arch)
    g.add_type("model")
    g.add_name(name or f"tiny-{arch}")
    g.add_block_count(c["layers"]); g.add_context_length(c["ctx"]); g.add_embedding_length(c["hidden"])
    g.add_feed_forward_length(c["ffn"]); g.add_head_count(c["heads"]); g.add_head_count_kv(c["kv_heads"])
    g.add_rope_freq_base(c["theta"]); g.add_layer_norm_rms_eps(c["eps"])
    g.add_key_length(c["head_dim"]); g.add_value_length(c["head_dim"])
    g.add_file_type(ftype)
    if arch == "llama":
        g.add_vocab_size(c["vocab"]); g.add_rope_dimension_count(c["head_dim"])
    if c.get("experts"):
        g.add_expert_count(c["experts"]); g.add_expert_used_count(c["used"])
        if arch == "qwen3moe":
            g.add_expert_feed_forward_length(c["ffn"])
    g.add_quantization_version(gguf.GGML_QUANT_VERSION)
    tokens, types, merges, bos, eos, pad, template = tokenizer_lists(c["vocab"])
    g.add_tokenizer_model("gpt2"); g.add_tokenizer_pre("gpt-2")
    g.add_token_list(tokens); g.add_token_types(types); g.add_token_merges(merges)
    g.add_bos_token_id(bos); g.add_eos_token_id(eos); g.add_pad_token_id(pad); g.add_add_bos_token(False)
    g.add_chat_template(template)
    qtype = {"q8_0": QT.Q8_0, "q4_0": QT.Q4_0, "f16": QT.F16, "f32": QT.F32}[c["type"]]
    for name, t in gguf_tensors(arch, c, w):
        # convert_hf_to_gguf.py: 1-D tensors and norms stay F32; rows not filling blocks fall back to F16.
        if t.ndim <= 1 or name.endswith("_norm.weight") or name.endswith("ffn_gate_inp.weight"):
            g.add_tensor(name, t.astype(np.float32)); continue
        if qtype == QT.F32:
            g.add_tensor(name, t); continue
        if qtype == QT.F16 or t.shape[-1] % 32 != 0:
            g.add_tensor(name, t.astype(np.float16)); continue
        data = quants.quantize(t, qtype)
        g.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)
    g.write_header_to_file(); g.write_kv_data_to_file(); g.write_tensors_to_file(); g.close()


def quant_inputs():
    rng = np.random.default_rng(7)
    rows = [np.zeros(32), np.full(32, 0.5), np.full(32, -0.5), np.linspace(-1, 1, 32), np.linspace(1, -1, 32),
            np.array([(-1) ** k * (k % 9) for k in range(32)], dtype=np.float64),      # ties of magnitude
            np.array([k / 8 - 2 for k in range(32)]),                                    # exact halves
            rng.normal(0, 1e-30, 32), rng.normal(0, 1e20, 32), rng.normal(0, 0.02, 32),
            np.r_[np.full(31, 0.001), [-3.0]], np.r_[[7.0], np.full(31, -7.0)]]
    rows += [rng.normal(0, s, 32) for s in (0.1, 1, 3) for _ in range(4)]
    return np.stack(rows).astype(np.float32)


def validate(paths):
    for path in paths:
        r = GGUFReader(path)
        arch = r.fields["general.architecture"].contents()
        if f"{arch}.expert_count" in r.fields:
            c = MOE_MODELS["llama_moe" if arch == "llama" else arch]
            ref_path = os.path.join(tempfile.mkdtemp(), f"ref_{arch}_moe.gguf")
            write_reference(arch, c, ref_path, name=f"tiny-{arch}-moe")
        else:
            c = MODELS[arch]
            ref_path = os.path.join(OUT, f"ref_{arch}_{c['type']}.gguf")
        ref = GGUFReader(ref_path)
        ours_t = {t.name: t for t in r.tensors}
        ref_t = {t.name: t for t in ref.tensors}
        assert list(ours_t) == list(ref_t), f"{path}: tensor names differ: {sorted(set(ours_t) ^ set(ref_t))}"
        for name, t in ref_t.items():
            o = ours_t[name]
            assert list(o.shape) == list(t.shape), f"{name}: shape {list(o.shape)} vs {list(t.shape)}"
            assert o.tensor_type == t.tensor_type, f"{name}: type {o.tensor_type.name} vs {t.tensor_type.name}"
            assert np.array_equal(np.asarray(o.data), np.asarray(t.data)), f"{name}: data differs"
        extra = set(r.fields) - set(ref.fields)
        assert not extra, f"{path}: metadata the reference does not write: {sorted(extra)}"
        for key, f in ref.fields.items():
            if key.startswith("GGUF."):
                continue
            assert key in r.fields, f"{path}: metadata {key} missing"
            a, b = r.fields[key], f
            assert a.types == b.types, f"{key}: types {a.types} vs {b.types}"
            assert a.contents() == b.contents(), f"{key}: values differ"
        print(f"{path}: {len(ours_t)} tensors and {len(r.fields)} fields read by gguf {PINNED['gguf']}: names, shapes, types, metadata as the reference")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--validate":
        validate(sys.argv[2:]); sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    x = quant_inputs()
    np.save(os.path.join(OUT, "quant_inputs.npy"), x)
    quants.quantize(x, QT.Q8_0).tofile(os.path.join(OUT, "quant_q8_0.bin"))
    quants.quantize(x, QT.Q4_0).tofile(os.path.join(OUT, "quant_q4_0.bin"))
    for arch, c in MODELS.items():
        write_reference(arch, c, os.path.join(OUT, f"ref_{arch}_{c['type']}.gguf"))
    json.dump({arch: c for arch, c in MODELS.items()}, open(os.path.join(OUT, "models.json"), "w"), indent=1, sort_keys=True)
    print("wrote", sorted(os.listdir(OUT)))
