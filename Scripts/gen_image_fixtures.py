#!/usr/bin/env python3
"""Generate the image fixtures for Tests/MiniMindVTests/Image*.swift.

References come from Pillow (decoding, Image.resize) and transformers' PIL image processors
(CLIPImageProcessorPil / SiglipImageProcessorPil, the path upstream MiniMind-V runs when torchvision
is absent). Pinned versions (checked below): pillow 13.0.0, numpy 2.4.6, transformers 5.24.0.

Output: Tests/Fixtures/images/  (manifest.json + small source images + raw little-endian arrays:
*.u8 = uint8, *.f32 = float32). Run from anywhere: python3 Scripts/gen_image_fixtures.py
"""
import hashlib
import io
import json
import os
import shutil
import struct
import warnings
import zlib

from fixture_common import FIXTURES, require

PINNED = {"pillow": "13.0.0", "numpy": "2.4.6", "transformers": "5.24.0"}
require(PINNED)

import numpy as np
from PIL import Image
from transformers import CLIPImageProcessorPil, SiglipImageProcessorPil

warnings.filterwarnings("ignore")

OUT = os.path.join(FIXTURES, "images")
# The committed upstream eval JPEGs (Tests/Fixtures/upstream/NOTICE.md): only minimind-3v's, which are
# small enough to ship (178 KB for six); minimind2-v's eight weigh 1.8 MB and are not committed.
ASSETS = os.path.join(FIXTURES, "upstream")
rng = np.random.default_rng(20240607)
manifest = {"generator": "Scripts/gen_image_fixtures.py",
            "versions": PINNED,
            "sources": [], "resize": [], "preprocess": [], "preset_samples": [], "eval_images": []}


def path(*parts):
    p = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def save_array(rel, array, dtype):
    a = np.ascontiguousarray(array, dtype=dtype)
    with open(path(rel), "wb") as f:
        f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
    return rel


def synthetic(width, height, noise=4.0, seed_shift=0):
    """Photo-like content: gradients, a few sharp-edged shapes (bicubic overshoot), mild noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    r = 255 * u
    g = 127.5 + 127.5 * np.sin(2 * np.pi * (1.5 * u + v) + seed_shift)
    b = 255 * (1 - v) * (0.5 + 0.5 * np.cos(3 * np.pi * u * v))
    img = np.stack([r, g, b], axis=-1)
    # Hard-edged blocks of saturated colour.
    for _ in range(4):
        x0, y0 = rng.integers(0, max(width - 1, 1)), rng.integers(0, max(height - 1, 1))
        x1, y1 = x0 + rng.integers(1, max(width // 3, 2)), y0 + rng.integers(1, max(height // 3, 2))
        img[y0:y1, x0:x1] = rng.choice([0, 255], size=3)
    img += rng.normal(0, noise, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def pil_rgb(image):
    """The RGB conversion upstream performs (alpha dropped, not composited)."""
    return np.asarray(image.convert("RGB"))


def add_source(name, data, kind, exact=True, note=None, expected=None):
    """Write a source file and PIL's decoded RGB reference (or an explicit expected array)."""
    with open(path("sources", name), "wb") as f:
        f.write(data)
    im = Image.open(io.BytesIO(data))
    rgb = pil_rgb(im) if expected is None else expected
    entry = {"file": f"sources/{name}", "kind": kind, "mode": im.mode, "format": im.format,
             "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
             "decoded": save_array(f"decoded/{name}.u8", rgb, np.uint8), "exact": exact}
    if note:
        entry["note"] = note
    manifest["sources"].append(entry)
    return rgb


def encode(image, fmt, **kw):
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def png16(rgb16, colour_type):
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit RGB)."""
    h, w = rgb16.shape[:2]
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- sources (PNG: the exact path)
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
pngs = {}
for name, (w, h) in {"rgb_100x75": (100, 75), "rgb_37x53": (37, 53), "rgb_200x150": (200, 150),
                     "rgb_5x1": (5, 1), "rgb_7x3": (7, 3), "rgb_1x5": (1, 5)}.items():
    arr = synthetic(w, h, noise=2.0 if w >= 200 else 4.0)
    pngs[name] = add_source(f"{name}.png", encode(Image.fromarray(arr), "PNG", optimize=True), "png")

base = synthetic(40, 30)
alpha = synthetic(40, 30)[..., 0]
rgba = Image.fromarray(np.dstack([base, alpha]), "RGBA")
pngs["rgba_40x30"] = add_source("rgba_40x30.png", encode(rgba, "PNG"), "png")
grey = Image.fromarray(synthetic(33, 21)[..., 1], "L")
pngs["grey_33x21"] = add_source("grey_33x21.png", encode(grey, "PNG"), "png")
la = Image.fromarray(np.dstack([synthetic(20, 20)[..., 2], alpha[:20, :20]]), "LA")
pngs["la_20x20"] = add_source("la_20x20.png", encode(la, "PNG"), "png")
pal = Image.fromarray(synthetic(24, 18)).quantize(colors=16)
pngs["palette_24x18"] = add_source("palette_24x18.png", encode(pal, "PNG"), "png")
pal_t = pal.copy()
pal_t.info["transparency"] = 3
add_source("palette_trns_24x18.png", encode(pal_t, "PNG", transparency=3), "png",
           note="palette with a transparent index: upstream's convert('RGB') keeps the palette colour")
rgb16 = (synthetic(12, 9).astype(np.uint16) * 257 + rng.integers(0, 256, (9, 12, 3))).astype(np.uint16)
add_source("rgb16_12x9.png", png16(rgb16, 2), "png")
grey16 = (synthetic(10, 6)[..., 0].astype(np.uint16) * 257 + rng.integers(0, 256, (6, 10))).astype(np.uint16)
add_source("grey16_10x6.png", png16(grey16, 0), "png",
           expected=np.repeat((grey16 >> 8).astype(np.uint8)[..., None], 3, axis=2),
           note="16-bit grey: we keep the high byte; PIL's I;16 -> RGB clips at 255 (nearly white)")

# ---------------------------------------------------------------- other lossless containers
frame0, frame1 = synthetic(30, 20), synthetic(30, 20, seed_shift=1.0)
p0 = Image.fromarray(frame0).quantize(colors=64)
p1 = Image.fromarray(frame1).quantize(colors=64)
add_source("anim_30x20.gif", encode(p0, "GIF", save_all=True, append_images=[p1], duration=100, loop=0), "gif")
add_source("still_17x11.gif", encode(Image.fromarray(synthetic(17, 11)).quantize(colors=200), "GIF"), "gif")
add_source("rgb_23x13.bmp", encode(Image.fromarray(synthetic(23, 13)), "BMP"), "bmp")
add_source("pal_19x9.bmp", encode(Image.fromarray(synthetic(19, 9)).quantize(colors=100), "BMP"), "bmp")
add_source("grey_15x8.bmp", encode(Image.fromarray(synthetic(15, 8)[..., 0], "L"), "BMP"), "bmp")
add_source("mono_21x7.bmp", encode(Image.fromarray(synthetic(21, 7)[..., 0] > 128), "BMP"), "bmp")
add_source("rgb_22x14.tga", encode(Image.fromarray(synthetic(22, 14)), "TGA"), "tga")
add_source("rle_22x14.tga", encode(Image.fromarray(synthetic(22, 14)), "TGA", compression="tga_rle"), "tga")
add_source("rgba_16x10.tga", encode(Image.fromarray(np.dstack([synthetic(16, 10), synthetic(16, 10)[..., 0]]), "RGBA"),
                                    "TGA"), "tga")
add_source("grey_14x9.tga", encode(Image.fromarray(synthetic(14, 9)[..., 2], "L"), "TGA"), "tga")

# ---------------------------------------------------------------- JPEG (decoders differ by a few levels)
jpeg_src = synthetic(96, 72, noise=3.0)
add_source("q90_420_96x72.jpg", encode(Image.fromarray(jpeg_src), "JPEG", quality=90), "jpeg", exact=False)
add_source("q95_444_96x72.jpg", encode(Image.fromarray(jpeg_src), "JPEG", quality=95, subsampling=0), "jpeg", exact=False)
add_source("q80_422_96x72.jpg", encode(Image.fromarray(jpeg_src), "JPEG", quality=80, subsampling=1), "jpeg", exact=False)
add_source("progressive_96x72.jpg", encode(Image.fromarray(jpeg_src), "JPEG", quality=85, progressive=True), "jpeg",
           exact=False)
add_source("odd_37x53.jpg", encode(Image.fromarray(pngs["rgb_37x53"]), "JPEG", quality=90), "jpeg", exact=False)
add_source("grey_41x29.jpg", encode(Image.fromarray(synthetic(41, 29)[..., 1], "L"), "JPEG", quality=90), "jpeg",
           exact=False)

# ---------------------------------------------------------------- resize: Pillow's Image.resize, uint8
FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
           "box": Image.Resampling.BOX, "hamming": Image.Resampling.HAMMING, "lanczos": Image.Resampling.LANCZOS}
cases = [("rgb_100x75", 37, 28), ("rgb_100x75", 120, 90), ("rgb_100x75", 100, 40), ("rgb_100x75", 61, 75),
         ("rgb_200x150", 48, 32), ("rgb_200x150", 29, 97), ("rgb_37x53", 80, 120), ("rgb_37x53", 13, 19),
         ("rgb_5x1", 20, 3), ("rgb_1x5", 3, 2), ("rgb_7x3", 50, 21), ("rgb_200x150", 150, 100),
         # Pillow 13 runs the vertical pass first when the height shrinks and 2*outW - outH > 2*inW - inH;
         # these pin both sides of that rule, including the equality boundary (horizontal first).
         ("rgb_37x53", 20, 12), ("rgb_100x75", 90, 20), ("rgb_200x150", 150, 49), ("rgb_200x150", 150, 50),
         ("rgb_200x150", 151, 50)]
all_filter_cases = {("rgb_100x75", 37, 28), ("rgb_37x53", 80, 120), ("rgb_7x3", 50, 21)}
for src, w, h in cases:
    for fname, f in FILTERS.items():
        if fname not in ("bilinear", "bicubic") and (src, w, h) not in all_filter_cases:
            continue
        out = np.asarray(Image.fromarray(pngs[src]).resize((w, h), f))
        manifest["resize"].append({"source": f"sources/{src}.png", "filter": int(f), "filter_name": fname,
                                   "width": w, "height": h,
                                   "expected": save_array(f"resize/{src}_{fname}_{w}x{h}.u8", out, np.uint8)})

# ---------------------------------------------------------------- preprocessing with transformers' PIL processors
def processor_for(config):
    kw = {k: v for k, v in config.items() if k not in ("image_processor_type", "feature_extractor_type", "processor_class")}
    cls = CLIPImageProcessorPil if config.get("image_processor_type", config.get("feature_extractor_type", "")).startswith(
        "CLIP") else SiglipImageProcessorPil
    return cls(**kw)


def numpy_pipeline(rgb, config, proc):
    """An independent re-statement of the PIL path (checks our reading of transformers)."""
    h, w = rgb.shape[:2]
    size = proc.size
    if size.shortest_edge:
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(size.shortest_edge * long / short)
        nh, nw = (new_long, size.shortest_edge) if w <= h else (size.shortest_edge, new_long)
    else:
        nh, nw = size.height, size.width
    img = np.asarray(Image.fromarray(rgb).resize((nw, nh), proc.resample)) if proc.do_resize else rgb
    if proc.do_center_crop:
        ch, cw = proc.crop_size.height, proc.crop_size.width
        H, W = img.shape[:2]
        pad = np.zeros((max(H, ch), max(W, cw), 3), np.uint8)
        tp, lp = -(-(pad.shape[0] - H) // 2), -(-(pad.shape[1] - W) // 2)
        pad[tp:tp + H, lp:lp + W] = img
        top, left = (H - ch) // 2 + tp, (W - cw) // 2 + lp
        img = pad[max(top, 0):top + ch, max(left, 0):left + cw]
    x = (img.astype(np.float64) * proc.rescale_factor).astype(np.float32)
    x = (x - np.array(proc.image_mean, np.float32)) / np.array(proc.image_std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def reference(rgb, config):
    proc = processor_for(config)
    out = proc(images=Image.fromarray(rgb), return_tensors="np")["pixel_values"][0]
    mine = numpy_pipeline(rgb, config, proc)
    assert out.dtype == np.float32 and out.shape == mine.shape and np.array_equal(out, mine), "numpy restatement differs"
    return out


CONFIGS = {
    "clip_openai": {"feature_extractor_type": "CLIPFeatureExtractor", "crop_size": 224, "do_center_crop": True,
                    "do_normalize": True, "do_resize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                    "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224},
    "siglip_256": {"image_processor_type": "SiglipImageProcessor", "do_normalize": True, "do_rescale": True,
                   "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2,
                   "rescale_factor": 0.00392156862745098, "size": {"height": 256, "width": 256}},
    "clip_small": {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 24},
                   "crop_size": {"height": 24, "width": 24}, "do_center_crop": True, "resample": 3,
                   "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]},
    "clip_pad": {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 12},
                 "crop_size": {"height": 16, "width": 13}, "do_center_crop": True, "resample": 3},
    "clip_nocrop": {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 12},
                    "do_center_crop": False, "resample": 2, "image_mean": [0.1, 0.2, 0.3], "image_std": [0.9, 0.8, 0.7]},
    "siglip_small": {"image_processor_type": "SiglipImageProcessor", "size": {"height": 12, "width": 20},
                     "resample": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                     "rescale_factor": 0.00392156862745098},
    "siglip_bicubic": {"image_processor_type": "SiglipImageProcessor", "size": {"height": 18, "width": 18},
                       "resample": 3, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
}
for name, cfg in CONFIGS.items():
    with open(path("configs", f"{name}.json"), "w") as f:
        json.dump(cfg, f, indent=2)

small = ["rgb_100x75", "rgb_37x53", "rgb_200x150", "rgb_5x1", "rgb_7x3", "rgb_1x5", "rgba_40x30", "grey_33x21",
         "la_20x20", "palette_24x18"]
for src in small:
    for cname in ("clip_small", "clip_pad", "clip_nocrop", "siglip_small", "siglip_bicubic"):
        out = reference(pngs[src], CONFIGS[cname])
        manifest["preprocess"].append({"source": f"sources/{src}.png", "config": f"configs/{cname}.json",
                                       "shape": list(out.shape),
                                       "expected": save_array(f"preprocess/{src}_{cname}.f32", out, np.float32)})


def summary(out, prefix, stride):
    """Per-channel float64 sums, a central 16x16 patch and a strided sample of a [3,H,W] output."""
    _, H, W = out.shape
    y0, x0 = (H - 16) // 2, (W - 16) // 2
    return {"shape": list(out.shape), "channel_sums": [float(s) for s in out.astype(np.float64).sum(axis=(1, 2))],
            "channel_means": [float(s) for s in out.astype(np.float64).mean(axis=(1, 2))],
            "patch_origin": [y0, x0], "patch": save_array(f"{prefix}_patch16.f32", out[:, y0:y0 + 16, x0:x0 + 16], np.float32),
            "stride": stride, "sample": save_array(f"{prefix}_stride{stride}.f32", out[:, ::stride, ::stride], np.float32)}


for src in ("rgb_100x75", "rgb_37x53", "rgb_7x3", "rgb_200x150"):
    for cname, preset in (("clip_openai", "clip224"), ("siglip_256", "siglip256")):
        out = reference(pngs[src], CONFIGS[cname])
        entry = {"source": f"sources/{src}.png", "config": f"configs/{cname}.json", "preset": preset}
        entry.update(summary(out, f"presets/{src}_{preset}", 7))
        manifest["preset_samples"].append(entry)

# ---------------------------------------------------------------- upstream eval images (summaries only)
for generation in ("minimind2-v", "minimind-3v"):
    folder = os.path.join(ASSETS, generation, "eval_images")
    if not os.path.isdir(folder):
        print(f"note: {folder} absent, eval-image fixtures skipped")
        continue
    for fname in sorted(f for f in os.listdir(folder) if f.endswith(".jpg")):
        with open(os.path.join(folder, fname), "rb") as f:
            data = f.read()
        rgb = pil_rgb(Image.open(io.BytesIO(data)))
        stem = f"eval/{generation}_{fname[:-4]}"
        entry = {"asset": f"{generation}/eval_images/{fname}", "bytes": len(data),
                 "sha256": hashlib.sha256(data).hexdigest(), "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                 "decoded_channel_means": [float(m) for m in rgb.astype(np.float64).mean(axis=(0, 1))],
                 "decoded_stride": 32, "decoded_sample": save_array(f"{stem}_decoded_stride32.u8", rgb[::32, ::32], np.uint8),
                 "presets": {}}
        for cname, preset in (("clip_openai", "clip224"), ("siglip_256", "siglip256")):
            entry["presets"][preset] = summary(reference(rgb, CONFIGS[cname]), f"{stem}_{preset}", 16)
        manifest["eval_images"].append(entry)

with open(path("manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
print(f"wrote {OUT}: {total / 1024:.0f} KiB")
