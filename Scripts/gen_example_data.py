#!/usr/bin/env python3
"""Writes the tiny example training data in Examples/Data/ (used by Examples/PretrainProjector and
Examples/SFT): 24 PNG pictures of coloured shapes (32x32), a JSONL caption set in the older
MiniMind-V format (conversations + image file names) and a Parquet SFT set in the current format
(conversations JSON string + image_bytes). Run from the repository root.
"""
import io, json, os, random

from fixture_common import REPO, require

PINNED = {"pillow": "13.0.0", "pyarrow": "26.0.1"}
require(PINNED)
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

OUT = os.path.join(REPO, "Examples", "Data")
os.makedirs(os.path.join(OUT, "shapes"), exist_ok=True)
rng = random.Random(0)
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (230, 200, 30)}
SHAPES = ["square", "circle", "triangle"]
BACKGROUNDS = {"white": (250, 250, 250), "black": (15, 15, 15)}

captions, sft_rows = [], []
for colour, rgb in COLOURS.items():
    for shape in SHAPES:
        for bg_name, bg in BACKGROUNDS.items():
            img = Image.new("RGB", (32, 32), bg)
            d = ImageDraw.Draw(img)
            x, y, s = rng.randint(2, 8), rng.randint(2, 8), rng.randint(16, 22)
            if shape == "square":
                d.rectangle([x, y, x + s, y + s], fill=rgb)
            elif shape == "circle":
                d.ellipse([x, y, x + s, y + s], fill=rgb)
            else:
                d.polygon([(x + s // 2, y), (x, y + s), (x + s, y + s)], fill=rgb)
            name = f"{colour}_{shape}_{bg_name}.png"
            img.save(os.path.join(OUT, "shapes", name))
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            captions.append({"conversations": [
                {"role": "user", "content": "<image>\nDescribe the picture."},
                {"role": "assistant", "content": f"A {colour} {shape} on a {bg_name} background."}], "image": name})
            sft_rows.append((json.dumps([
                {"role": "user", "content": "<image>\nWhat colour is the shape?"},
                {"role": "assistant", "content": f"The shape is {colour}."},
                {"role": "user", "content": "And what shape is it?"},
                {"role": "assistant", "content": f"It is a {shape}."}], ensure_ascii=False), buf.getvalue()))

with open(os.path.join(OUT, "captions.jsonl"), "w") as f:
    for c in captions:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
table = pa.table({"conversations": [r[0] for r in sft_rows], "image_bytes": [r[1] for r in sft_rows]})
pq.write_table(table, os.path.join(OUT, "sft.parquet"), compression="snappy")
print("wrote", len(captions), "captions,", len(sft_rows), "SFT rows")
