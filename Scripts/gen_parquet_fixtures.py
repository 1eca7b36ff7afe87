#!/usr/bin/env python3
"""Generates the Parquet fixtures in Tests/Fixtures/parquet/ and their expected rows.

Pinned versions (checked at run time): pyarrow 26.0.1, pillow 13.0.0, numpy 2.4.6.

Every fixture <name>.parquet gets <name>.expected.json: the rows as pyarrow's own reader returns
them, so the Swift tests compare against pyarrow, not against values we typed. Encoding of values
in the JSON: strings as strings, binary as base64, int64 as decimal strings, float/double as the
hex of their IEEE bits, lists as arrays, null as null.

    python3 Scripts/gen_parquet_fixtures.py                 # writes the fixtures
    python3 Scripts/gen_parquet_fixtures.py --perf /tmp/p.parquet   # a larger file for the rows/s note
"""
import base64
import io
import json
import os
import random
import struct
import sys

from fixture_common import FIXTURES, require

PINNED = {"pyarrow": "26.0.1", "pillow": "13.0.0", "numpy": "2.4.6"}
require(PINNED)

import numpy
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

OUT = os.path.join(FIXTURES, "parquet")

TEXTS = [
    "你好，请描述这张图片。",
    "Hello, what is in this picture?",
    "图中有一只猫🐱 sitting on a 红色的 sofa.",
    "",
    "多轮对话：第二轮问题是什么？",
    "line one\nline two\ttab \"quoted\" \\ backslash",
    "日本語とEnglishの混在テキスト",
]


def jpeg(seed, size=24):
    """A small noisy JPEG made by PIL (noise keeps it from compressing to nothing)."""
    rng = numpy.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size, size, 3), dtype=numpy.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def generic_table(rows=70):
    rng = random.Random(7)
    conversations, images, i32, i64, f32, f64, flags, raw, ints, ids, fixed = [], [], [], [], [], [], [], [], [], [], []
    for r in range(rows):
        ids.append(r * 1_000_000_007 - 3)
        conversations.append(None if r % 11 == 5 else TEXTS[rng.randrange(len(TEXTS))] + ("" if r % 3 else f" #{r}"))
        if r % 13 == 4:
            images.append(None)
        elif r % 9 == 2:
            images.append([])
        elif r % 17 == 8:
            images.append([bytes([r, 0, 255]), None, b""])
        else:
            images.append([bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(rng.randrange(1, 4))])
        i32.append(None if r % 7 == 3 else rng.randrange(-2**31, 2**31))
        i64.append(None if r % 5 == 1 else rng.choice([0, 1, -1, 2**62 + r, -(2**63), 2**63 - 1]))
        f32.append(None if r % 6 == 0 else rng.choice([0.1, -2.5, 3.4e38, 1e-45, float("inf"), rng.uniform(-1e3, 1e3)]))
        f64.append(None if r % 8 == 7 else rng.choice([0.1, -0.0, 1e308, 5e-324, float("-inf"), rng.uniform(-1e9, 1e9)]))
        flags.append(None if r % 10 == 9 else rng.random() < 0.5)
        raw.append(None if r % 4 == 2 else bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24))))
        ints.append(None if r % 12 == 11 else [rng.randrange(-100, 100) for _ in range(rng.randrange(0, 5))])
        fixed.append(None if r % 9 == 0 else bytes(rng.randrange(256) for _ in range(4)))
    schema = pa.schema([
        pa.field("id", pa.int64(), nullable=False),
        pa.field("conversations", pa.string()),
        pa.field("image_bytes", pa.list_(pa.binary())),
        pa.field("i32", pa.int32()),
        pa.field("i64", pa.int64()),
        pa.field("f32", pa.float32()),
        pa.field("f64", pa.float64()),
        pa.field("flag", pa.bool_()),
        pa.field("raw", pa.binary()),
        pa.field("ints", pa.list_(pa.int64())),
        pa.field("fixed", pa.binary(4)),  # FIXED_LEN_BYTE_ARRAY
    ])
    return pa.table([ids, conversations, images, i32, i64, f32, f64, flags, raw, ints, fixed], schema=schema)


def conversation(rng, with_image):
    question = rng.choice(["描述这张图片。", "图片里有什么颜色？", "What objects can you see?", "请用一句话总结。"])
    answer = rng.choice(["这是一张彩色噪声图片，没有明显的物体。", "The picture shows random coloured noise.", "主要颜色是红、绿、蓝的混合。"])
    turns = [{"role": "user", "content": ("<image>\n" if with_image else "") + question},
             {"role": "assistant", "content": answer}]
    return json.dumps(turns, ensure_ascii=False)


def minimind_single_table(rows=16):
    """The upstream pretrain/SFT layout: conversations JSON string + one JPEG per row."""
    rng = random.Random(11)
    return pa.table({
        "conversations": pa.array([conversation(rng, True) for _ in range(rows)], pa.string()),
        "image_bytes": pa.array([jpeg(100 + r) for r in range(rows)], pa.binary()),
    })


def minimind_multi_table(rows=12):
    """Several images per row (list of binary), including an empty list and a null row."""
    rng = random.Random(13)
    images = []
    for r in range(rows):
        if r == 3:
            images.append(None)
        elif r == 5:
            images.append([])
        else:
            images.append([jpeg(200 + r * 4 + k, size=16) for k in range(1 + r % 3)])
    return pa.table({
        "conversations": pa.array([conversation(rng, r not in (3, 5)) for r in range(rows)], pa.string()),
        "image_bytes": pa.array(images, pa.list_(pa.binary())),
    })


def encode(value, arrow_type):
    if value is None:
        return None
    if pa.types.is_list(arrow_type):
        return [encode(item, arrow_type.value_type) for item in value]
    if pa.types.is_string(arrow_type):
        return value
    if pa.types.is_binary(arrow_type) or pa.types.is_fixed_size_binary(arrow_type):
        return base64.b64encode(value).decode("ascii")
    if pa.types.is_boolean(arrow_type):
        return value
    if pa.types.is_int32(arrow_type):
        return value
    if pa.types.is_int64(arrow_type):
        return str(value)
    if pa.types.is_float32(arrow_type):
        return struct.pack("<f", value)[::-1].hex()
    if pa.types.is_float64(arrow_type):
        return struct.pack("<d", value)[::-1].hex()
    raise ValueError(f"no encoding for {arrow_type}")


def type_name(arrow_type):
    if pa.types.is_list(arrow_type):
        return "list<" + type_name(arrow_type.value_type) + ">"
    if pa.types.is_fixed_size_binary(arrow_type):
        return "binary"
    return {"string": "string", "binary": "binary", "bool": "bool", "int32": "int32", "int64": "int64",
            "float": "float", "double": "double"}[str(arrow_type)]


def write_fixture(name, table, **options):
    path = os.path.join(OUT, name + ".parquet")
    pq.write_table(table, path, **options)
    # The expected rows come from pyarrow's reader, not from the table we wrote.
    back = pq.read_table(path)
    meta = pq.ParquetFile(path).metadata
    encodings = sorted({e for g in range(meta.num_row_groups) for c in range(meta.num_columns)
                        for e in meta.row_group(g).column(c).encodings})
    codecs = sorted({meta.row_group(g).column(c).compression for g in range(meta.num_row_groups)
                     for c in range(meta.num_columns)})
    columns = [{"name": f.name, "type": type_name(f.type)} for f in back.schema]
    rows = []
    for row in back.to_pylist():
        rows.append({f.name: encode(row[f.name], f.type) for f in back.schema})
    manifest = {
        "file": name + ".parquet",
        "options": {k: v for k, v in options.items() if isinstance(v, (str, int, bool))},
        "num_rows": back.num_rows,
        "num_row_groups": meta.num_row_groups,
        "codecs": codecs,
        "encodings": encodings,
        "columns": columns,
        "rows": rows,
    }
    with open(os.path.join(OUT, name + ".expected.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=0)
    print(f"{name}: {os.path.getsize(path)} bytes, {meta.num_row_groups} row groups, codecs {codecs}, encodings {encodings}")
    return meta


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--perf":
        import time
        rng = random.Random(3)
        rows = 10_000
        table = pa.table({
            "conversations": pa.array([conversation(rng, True) for _ in range(rows)], pa.string()),
            "image_bytes": pa.array([jpeg(r, size=32) for r in range(rows)], pa.binary()),
        })
        pq.write_table(table, sys.argv[2], row_group_size=1000, compression="snappy")
        print(f"wrote {sys.argv[2]}: {rows} rows, {os.path.getsize(sys.argv[2])} bytes")
        # pyarrow's own row-by-row reading speed, for comparison with the Swift reader.
        for _ in range(3):
            started = time.perf_counter()
            count = 0
            for batch in pq.ParquetFile(sys.argv[2]).iter_batches(batch_size=1000):
                for row in batch.to_pylist():
                    count += 1
            seconds = time.perf_counter() - started
            print(f"pyarrow iter_batches + to_pylist: {count} rows in {seconds:.3f} s = {count / seconds:.0f} rows/s")
        return
    os.makedirs(OUT, exist_ok=True)
    table = generic_table()
    for codec in ["none", "snappy", "zstd"]:
        for dictionary in [True, False]:
            for version in ["1.0", "2.0"]:
                name = f"generic_{codec}_{'dict' if dictionary else 'plain'}_v{version[0]}"
                meta = write_fixture(name, table, compression=codec, use_dictionary=dictionary,
                                     data_page_version=version, row_group_size=16, data_page_size=256,
                                     write_batch_size=8)
                assert meta.num_row_groups > 1
    # A dictionary that overflows its limit: pyarrow falls back to PLAIN pages within a chunk.
    write_fixture("generic_dict_fallback", table, compression="snappy", use_dictionary=True,
                  dictionary_pagesize_limit=64, row_group_size=40, data_page_size=128, write_batch_size=4)
    # Format version 1.0 writes the older PLAIN_DICTIONARY encoding name for dictionary pages and indices.
    write_fixture("generic_format1_dict", table, version="1.0", compression="snappy", use_dictionary=True,
                  row_group_size=30, data_page_size=512)
    # Columns that are null in every row: pages with levels but no values.
    nulls = pa.table({"conversations": pa.array([None] * 10, pa.string()),
                      "image_bytes": pa.array([None] * 10, pa.list_(pa.binary())),
                      "i32": pa.array([None] * 10, pa.int32())})
    for codec, version in [("zstd", "2.0"), ("snappy", "1.0")]:
        write_fixture(f"all_null_{codec}_v{version[0]}", nulls, compression=codec, data_page_version=version, row_group_size=4)
    write_fixture("minimind_v_text_only", pa.table({"conversations": minimind_single_table(6).column("conversations")}),
                  compression="snappy", row_group_size=4)
    # A codec the reader does not implement: the test expects an error that names it.
    pq.write_table(table.slice(0, 8), os.path.join(OUT, "unsupported_gzip.parquet"), compression="gzip")
    write_fixture("minimind_v_single", minimind_single_table(), compression="snappy", row_group_size=5)
    write_fixture("minimind_v_multi", minimind_multi_table(), compression="zstd", row_group_size=4,
                  data_page_version="2.0")


if __name__ == "__main__":
    main()
