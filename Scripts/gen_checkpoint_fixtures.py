#!/usr/bin/env python3
"""Generates the checkpoint fixtures in Tests/Fixtures/checkpoints/ from the reference libraries.

Pinned versions (checked at runtime): torch 2.13.0+cpu, safetensors 0.8.0, numpy 2.4.6,
transformers 5.24.0, huggingface_hub 2.4.0.

Every expected value the Swift tests compare against comes from these libraries: torch.save writes
the .pth files, safetensors.torch.save_file the .safetensors files, numpy.save the .npy files,
transformers' save_pretrained the Hugging Face folders, and torch's .half()/.bfloat16() the
rounding tables. manifest.json lists each tensor with dtype, shape and its values as float32 bit
patterns (floats, exact incl. NaN/inf/subnormals) or decimal strings (integers).

Usage:
  python3 Scripts/gen_checkpoint_fixtures.py                 # (re)generate all fixtures
  python3 Scripts/gen_checkpoint_fixtures.py --validate-pth FILE [FILE...]
      torch.load(FILE, weights_only=True) and print every entry (used to check the Swift writer)
  python3 Scripts/gen_checkpoint_fixtures.py --validate-safetensors FILE [FILE...]
"""
import collections
import io
import json
import os
import shutil
import struct
import sys
import zipfile

import numpy as np
import torch

from fixture_common import FIXTURES, require

PINNED = {"torch": "2.13.0+cpu", "safetensors": "0.8.0", "numpy": "2.4.6",
          "transformers": "5.24.0", "huggingface_hub": "2.4.0"}

OUT = os.path.join(FIXTURES, "checkpoints")


def describe(t):
    """Manifest entry for one tensor: dtype, shape, exact values."""
    t = t.detach().contiguous()
    name = str(t.dtype).replace("torch.", "")
    if t.dtype.is_floating_point:
        bits = t.float().numpy().reshape(-1).view(np.uint32)
        return {"dtype": name, "shape": list(t.shape), "f32bits": [int(b) for b in bits]}
    if t.dtype == torch.bool:
        return {"dtype": name, "shape": list(t.shape), "ints": [str(int(v)) for v in t.reshape(-1).tolist()]}
    return {"dtype": name, "shape": list(t.shape), "ints": [str(int(v)) for v in t.reshape(-1).tolist()]}


def describe_tree(obj):
    """Manifest form of a nested checkpoint (dicts, lists, tuples, scalars, tensors)."""
    if isinstance(obj, torch.Tensor):
        return {"tensor": describe(obj)}
    if isinstance(obj, dict):
        return {"dict": [[describe_tree(k), describe_tree(v)] for k, v in obj.items()]}
    if isinstance(obj, list):
        return {"list": [describe_tree(v) for v in obj]}
    if isinstance(obj, tuple):
        return {"tuple": [describe_tree(v) for v in obj]}
    if isinstance(obj, bool):
        return {"bool": obj}
    if isinstance(obj, int):
        return {"int": str(obj)}
    if isinstance(obj, float):
        return {"float": obj}
    if isinstance(obj, str):
        return {"string": obj}
    if obj is None:
        return {"none": True}
    raise TypeError(type(obj))


def special_f32():
    """Values that exercise every corner of f16/bf16 conversion."""
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, 65504.0, -65504.0, 65520.0, 1e-8, 6e-8, 5.96e-8, 6.1e-5,
            3.0e38, -3.0e38, 1.0e-40, float("inf"), float("-inf"), float("nan"), 0.1, 1.0 / 3.0]
    return torch.tensor(vals, dtype=torch.float32)


def gen_pth(manifest):
    g = torch.Generator().manual_seed(1234)
    # 1. dtypes
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f16"] = special_f32().half()
    sd["bf16"] = special_f32().bfloat16()
    sd["f64"] = torch.tensor([1.0 / 3.0, -2.5, 1e-300, 1e300], dtype=torch.float64)
    sd["i64"] = torch.tensor([0, -1, 2 ** 62, -(2 ** 63), 7], dtype=torch.int64)
    sd["i32"] = torch.tensor([[1, -2], [3, 2 ** 31 - 1]], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 1, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.75)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    save("pth_dtypes.pth", sd, manifest)

    # 2. non-contiguous views: transpose, slice with storage offset, column (stride), expand (stride 0)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = collections.OrderedDict()
    views["base"] = base
    views["transposed"] = base.t()
    views["rows_1_3"] = base[1:3]
    views["column_2"] = base[:, 2]
    views["strided"] = base[1:, ::2]
    views["expanded"] = torch.arange(3, dtype=torch.float32).reshape(3, 1).expand(3, 4)
    views["half_t"] = base.half().t()
    for k, v in views.items():
        if k != "base" and k != "rows_1_3":
            assert not v.is_contiguous() or v.storage_offset() != 0 or k == "expanded", k
    save("pth_views.pth", views, manifest)

    # 3. upstream-release-like: tiny fp16 MiniMind state dict, embed_tokens tied to lm_head
    model = torch.nn.ModuleDict({"embed": torch.nn.Embedding(16, 8), "norm": torch.nn.LayerNorm(8)})
    torch.manual_seed(7)
    emb = torch.randn(16, 8).half()
    release = collections.OrderedDict()
    release["model.embed_tokens.weight"] = emb
    release["model.layers.0.input_layernorm.weight"] = torch.ones(8).half()
    release["model.layers.0.self_attn.q_proj.weight"] = torch.randn(8, 8).half()
    release["model.norm.weight"] = torch.ones(8).half()
    release["lm_head.weight"] = emb  # same storage: torch.save writes it once
    del model
    save("pth_release_tied.pth", release, manifest)

    # 4. resume-style nested dict with a real AdamW state after two steps
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    opt = torch.optim.AdamW(net.parameters(), lr=4e-4)
    for _ in range(2):
        opt.zero_grad()
        net(torch.randn(5, 3)).pow(2).sum().backward()
        opt.step()
    resume = {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "step": 100,
              "lr": 0.0004, "name": "pretrain_vlm", "history": [1.5, 1.25, 1.0], "wandb_id": None,
              "done": False, "shape": (2, 3), "big": 2 ** 70, "neg": -123456789}
    save("pth_resume.pth", resume, manifest)

    # 5. the same state dict as (3) pickled with protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE ...)
    save("pth_protocol4.pth", views, manifest, pickle_protocol=4)


def save(name, obj, manifest, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    manifest["pth"][name] = describe_tree(obj)


def gen_forbidden(manifest):
    """Zip archives laid out like torch.save output whose pickles reference globals outside the
    allow-list. The bytes are written by hand; nothing is unpickled or executed here."""
    def archive(name, pkl):
        path = os.path.join(OUT, name)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pkl)
            z.writestr("archive/byteorder", "little")
            z.writestr("archive/version", "3\n")
        manifest["forbidden"][name] = None

    def short_str(s):
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b
    # {'w': os.system('echo pwned')}  via GLOBAL + REDUCE
    pkl = (b"\x80\x02}q\x00(" + short_str("w") + b"cos\nsystem\nq\x01" + short_str("echo pwned")
           + b"\x85q\x02Rq\x03u.")
    archive("pth_forbidden_os_system.pth", pkl)
    manifest["forbidden"]["pth_forbidden_os_system.pth"] = "os.system"
    # builtins.eval reached through STACK_GLOBAL (protocol 4)
    pkl = (b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x031+1\x94\x85\x94R\x94.")
    archive("pth_forbidden_eval.pth", pkl)
    manifest["forbidden"]["pth_forbidden_eval.pth"] = "builtins.eval"
    # a custom class pickled by reference (what a user's own object would produce)
    pkl = b"\x80\x02c__main__\nMyConfig\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00aK\x03sb."
    archive("pth_forbidden_class.pth", pkl)
    manifest["forbidden"]["pth_forbidden_class.pth"] = "__main__.MyConfig"


def gen_safetensors(manifest):
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(99)
    sd = {
        "a.f32": torch.randn(2, 3, generator=g),
        "b.f16": special_f32().half(),
        "c.bf16": special_f32().bfloat16(),
        "d.f64": torch.tensor([0.1, -1e200], dtype=torch.float64),
        "e.i64": torch.tensor([[1, -2, 2 ** 40]], dtype=torch.int64),
        "f.i32": torch.tensor([-7, 8], dtype=torch.int32),
        "g.i16": torch.tensor([-300, 300], dtype=torch.int16),
        "h.i8": torch.tensor([-128, 127], dtype=torch.int8),
        "i.u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "j.bool": torch.tensor([[True, False], [False, True]]),
        "k.scalar": torch.tensor(1.5),
        "l.empty": torch.zeros(2, 0),
    }
    save_file(sd, os.path.join(OUT, "st_dtypes.safetensors"), metadata={"format": "pt", "note": "fixture"})
    manifest["safetensors"]["st_dtypes.safetensors"] = {
        "metadata": {"format": "pt", "note": "fixture"},
        "tensors": {k: describe(v) for k, v in sd.items()}}


def gen_hf(manifest):
    from transformers import CLIPVisionConfig, CLIPVisionModel, CLIPImageProcessor
    torch.manual_seed(5)
    cfg = CLIPVisionConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                           image_size=8, patch_size=4, projection_dim=8)
    model = CLIPVisionModel(cfg).eval()
    sd = {k: v for k, v in model.state_dict().items()}
    single = os.path.join(OUT, "hf_clip_tiny")
    model.save_pretrained(single)
    CLIPImageProcessor(size={"shortest_edge": 8}, crop_size={"height": 8, "width": 8}).save_pretrained(single)
    sharded = os.path.join(OUT, "hf_clip_tiny_sharded")
    model.save_pretrained(sharded, max_shard_size="2KB")
    binfolder = os.path.join(OUT, "hf_clip_tiny_bin")
    os.makedirs(binfolder, exist_ok=True)
    shutil.copy(os.path.join(single, "config.json"), binfolder)
    torch.save(model.state_dict(), os.path.join(binfolder, "pytorch_model.bin"))
    manifest["hf"] = {"tensors": {k: describe(v) for k, v in sd.items()},
                      "config": json.load(open(os.path.join(single, "config.json")))}


def gen_npy(manifest):
    arrays = {
        "npy_f32.npy": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
        "npy_i64.npy": np.array([[-(2 ** 63), 0], [2 ** 62, -5]], dtype=np.int64),
        "npy_f16.npy": special_f32().half().numpy(),
        "npy_f64.npy": np.array([1 / 3, 1e-300], dtype=np.float64),
        "npy_i32.npy": np.array([1, -2, 3], dtype=np.int32),
        "npy_scalar.npy": np.array(4.5, dtype=np.float32),
        "npy_empty.npy": np.zeros((0, 5), dtype=np.float32),
        "npy_bigendian_f32.npy": np.array([1.5, -2.0], dtype=">f4"),
    }
    for name, a in arrays.items():
        np.save(os.path.join(OUT, name), a)
        t = torch.from_numpy(a.astype(a.dtype.newbyteorder("=")).copy())
        manifest["npy"][name] = describe(t)
    np.save(os.path.join(OUT, "npy_fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))


def gen_rounding(manifest):
    """f32 inputs and torch's .half() / .bfloat16() results for the narrowing tests."""
    rng = np.random.default_rng(42)
    parts = [
        rng.integers(0, 2 ** 32, 6000, dtype=np.uint64).astype(np.uint32),      # every bit pattern class
        (np.float32(2.0) ** rng.integers(-26, 17, 2000)).astype(np.float32).view(np.uint32),
        special_f32().numpy().view(np.uint32),
    ]
    # exact f16 and bf16 halfway points (ties) and their neighbours
    h = rng.integers(0, 0x7C00, 1000, dtype=np.uint64).astype(np.uint16)
    mid = (torch.from_numpy(h.view(np.float16).astype(np.float32)).numpy().view(np.uint32) + (1 << 12))
    parts += [mid, mid + 1, mid - 1]
    b = rng.integers(0, 0x7F80, 1000, dtype=np.uint64).astype(np.uint32) << 16
    parts += [b + 0x8000, b + 0x8001, b + 0x7FFF, b + 0x18000]
    bits = np.concatenate(parts).astype(np.uint32)
    x = torch.from_numpy(bits.view(np.float32).copy())
    half = x.half().view(torch.int16).numpy().astype(np.int32) & 0xFFFF
    bf = x.bfloat16().view(torch.int16).numpy().astype(np.int32) & 0xFFFF
    np.save(os.path.join(OUT, "round_inputs_f32.npy"), bits.view(np.float32))
    np.save(os.path.join(OUT, "round_half_bits.npy"), half.astype(np.int32))
    np.save(os.path.join(OUT, "round_bf16_bits.npy"), bf.astype(np.int32))
    manifest["rounding"] = {"count": int(bits.size)}


def same(a, b, where):
    """Recursive equality of two loaded checkpoints (tensors: dtype, shape, values; NaN == NaN)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        ok = (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
              and a.shape == b.shape and torch.equal(a.isnan() if a.dtype.is_floating_point else a,
                                                     b.isnan() if b.dtype.is_floating_point else b)
              and (not a.dtype.is_floating_point or torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0))))
        if not ok:
            raise SystemExit(f"MISMATCH at {where}: {a!r} vs {b!r}")
        return
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a.keys()) != list(b.keys()):
            raise SystemExit(f"MISMATCH keys at {where}: {list(a)} vs {list(b)}")
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
        return
    if isinstance(a, (list, tuple)) and type(a) == type(b) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
        return
    if type(a) != type(b) or a != b:
        raise SystemExit(f"MISMATCH at {where}: {a!r} vs {b!r}")


def validate_pth(paths):
    for p in paths:
        obj = torch.load(p, weights_only=True)
        print(f"{p}: torch.load(weights_only=True) OK")
        base = os.path.basename(p)
        original = os.path.join(OUT, base[len("swift_"):]) if base.startswith("swift_") else None
        if original and base.startswith("swift_statedict_"):
            original = os.path.join(OUT, base[len("swift_statedict_"):])
        if original and os.path.exists(original):
            ref = torch.load(original, weights_only=False)  # our own fixture; protocol 4 needs the full unpickler
            same(obj, ref, base)
            print(f"  identical to torch's {os.path.basename(original)}")
            if base.startswith("swift_statedict_pth_release_tied"):
                assert obj["lm_head.weight"].untyped_storage().data_ptr() == obj["model.embed_tokens.weight"].untyped_storage().data_ptr()
                print("  lm_head.weight and model.embed_tokens.weight share one storage")
        def show(o, indent="  "):
            if isinstance(o, dict):
                for k, v in o.items():
                    print(f"{indent}{k!r}:", end="")
                    if isinstance(v, (dict, list)):
                        print(); show(v, indent + "  ")
                    else:
                        print(" ", end=""); show(v, "")
            elif isinstance(o, list):
                for v in o:
                    show(v, indent)
            elif isinstance(o, torch.Tensor):
                print(f"{indent}tensor {o.dtype} {tuple(o.shape)} {o.flatten()[:6].tolist()}")
            else:
                print(f"{indent}{o!r}")
        show(obj)


def validate_safetensors(paths):
    from safetensors import safe_open
    from safetensors.torch import load_file
    for p in paths:
        base = os.path.basename(p)
        original = os.path.join(OUT, base[len("swift_"):]) if base.startswith("swift_") else None
        if original and os.path.exists(original):
            a, b = load_file(p), load_file(original)
            same(dict(sorted(a.items())), dict(sorted(b.items())), base)
            print(f"{p}: identical to {os.path.basename(original)}")
        with safe_open(p, "pt") as f:
            print(f"{p}: safetensors OK, metadata={f.metadata()}")
            for k in f.keys():
                t = f.get_tensor(k)
                print(f"  {k}: {t.dtype} {tuple(t.shape)} {t.flatten()[:6].tolist()}")


def main():
    require(PINNED)
    if len(sys.argv) > 1 and sys.argv[1] == "--validate-pth":
        return validate_pth(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "--validate-safetensors":
        return validate_safetensors(sys.argv[2:])
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    manifest = {"pth": {}, "forbidden": {}, "safetensors": {}, "npy": {}}
    gen_pth(manifest)
    gen_forbidden(manifest)
    gen_safetensors(manifest)
    gen_hf(manifest)
    gen_npy(manifest)
    gen_rounding(manifest)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
