#!/usr/bin/env python3
"""Fixtures for MiniMindTokenizer tests: Hugging Face `tokenizers` ids/decodes and transformers
chat-template renderings, written to Tests/Fixtures/tokenizer/.

Pinned versions (checked at runtime): tokenizers 0.23.3, transformers 5.24.0.

Usage:
  python3 Scripts/gen_tokenizer_fixtures.py
      (re)writes corpus.json, train_corpus.txt, hf_trained*/tokenizer.json, expected_*.json, chat_templates.json
  python3 Scripts/gen_tokenizer_fixtures.py --check-swift-trained PATH/tokenizer.json
      loads a tokenizer.json written by the Swift BPETrainer with HF `tokenizers`, encodes corpus.json and
      train_corpus.txt lines with it, and writes Tests/Fixtures/tokenizer/expected_swift_trained.json.

The real tokenizers are read from <repo>/Tests/Fixtures/upstream/{minimind2-v,minimind-3v} (committed copies
of upstream's files, see the NOTICE.md there).
"""
import argparse
import copy
import json
import os
import random
import sys

from fixture_common import FIXTURES, REPO, require

PINNED = {"tokenizers": "0.23.3", "transformers": "5.24.0"}
require(PINNED)

import transformers  # noqa: E402
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402

OUT = os.path.join(FIXTURES, "tokenizer")
ASSETS = os.path.join(FIXTURES, "upstream")
REAL = ["minimind2-v", "minimind-3v"]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


# ----------------------------------------------------------------------------------------------
# Corpus: hand-picked hard cases plus seeded random strings that stress the GPT-2 split regex.
def handpicked():
    return [
        "",
        "Hello world",
        "Hello, world! How's it going? I'm fine; they'll say we'd've won.",
        "'s 't 're 've 'm 'll 'd 'S 'T 'RE ' s",
        "你好，世界！今天天气怎么样？",
        "我们在2024年3月15日发布了MiniMind-V模型，参数量约为26M。",
        "这是一个测试：中文、English 和 数字123混合的句子。",
        "def main():\n    print(\"hello\")\n    return 0\n",
        "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
        "if x >= 10 && y != 'z' || !flag { return nil }",
        "\tTabbed\tline\t\twith\ttabs\t",
        "Windows line\r\nendings\r\n\r\nhere\r\n",
        "Trailing spaces   ",
        "   Leading spaces",
        "Multiple     spaces     between     words",
        "  \n  \n\n   \t \n",
        " ",
        "\n",
        "\n\n\n",
        "a  b   c    d     e",
        "Numbers: 0 1 12 123 1234 12345 3.14159 -42 1e10 1,000,000 ０１２３",
        "Roman Ⅻ and fractions ½ ¾ and superscripts x² y³ and circled ① ②",
        "Punctuation!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}}",
        "Emoji: 😀😃😄 🎉 👍 ❤️ 🤖",
        "ZWJ family: 👨‍👩‍👧‍👦 and 👩‍💻 and 🏳️‍🌈",
        "Flags: 🇨🇳🇺🇸🇯🇵🇩🇪 and 🇬🇧",
        "Skin tones: 👋🏻 👋🏼 👋🏽 👋🏾 👋🏿",
        "Keycaps: 1️⃣ 2️⃣ #️⃣",
        "Combining marks: e\u0301 a\u0300 n\u0303 o\u0308 \u0301\u0301 Z\u0335\u0321\u0322a\u0336l\u0337g\u0338o",
        "Precomposed vs decomposed: é vs e\u0301, Å vs A\u030a",
        "RTL: مرحبا بالعالم and שלום עולם mixed with English",
        "Hindi: नमस्ते दुनिया, Thai: สวัสดีชาวโลก, Korean: 안녕하세요 세계",
        "Japanese: こんにちは世界、カタカナ、ﾊﾝｶｸ",
        "Cyrillic: Привет, мир! Greek: Γειά σου Κόσμε",
        "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|><|im_end|><|endoftext|>",
        "text<|im_start|>text<|im_end|>text",
        " <|im_start|> spaced <|im_end|> ",
        "<|im_start|<|im_end|>>",
        "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n",
        "@" * 196,
        "Describe this image: " + "@" * 196 + "\nWhat is it?",
        "@ @@ @@@",
        "<|image_pad|>" * 64,
        "Look: <|vision_start|>" + "<|image_pad|>" * 64 + "<|vision_end|> what do you see?",
        "<think>\n\n</think>\n\nThe answer is 42.",
        "<think>reasoning here</think>answer",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
        "<|buffer1|><|buffer9|> <|object_ref_start|>dog<|object_ref_end|><|box_start|>(1,2)<|box_end|>",
        "URL: https://github.com/jingyaogong/minimind-v?tab=readme#usage and mail a.b@c.de",
        "JSON: {\"role\": \"user\", \"content\": \"你好\", \"n\": [1, 2.5, null, true]}",
        "Mixed\u00a0no-break\u2009thin\u3000ideographic\u2028line\u2029para\u0085nel spaces",
        "Zero width: a\u200bb\u200cc\u200dd\ufeffe",
        "Control chars: \x00\x01\x07\x1b[31mred\x1b[0m\x7f",
        "Private use \ue000\uf8ff and supplementary 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁 𝟘𝟙",
        "Math: ∀x∈ℝ, ∃y: x²+y²=z² ⇒ ∫₀¹ f(x)dx ≈ Σᵢ wᵢ",
        "Currency: $100 €50 ¥1000 £20 ₿0.5",
        "CamelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_CASE",
        "don't can't won't shouldn't y'all O'Neill rock'n'roll",
        "'''triple''' \"\"\"quotes\"\"\" ``backticks`` ‘curly’ “double”",
        "中文句子，没有空格但是很长很长很长很长很长很长很长很长很长很长很长很长很长很长的句子。",
        "全角标点：，。！？；：“”‘’（）【】《》",
        "x" * 300,
        "ab" * 150,
        "  " * 50 + "end",
        "a\tb\nc\rd\x0be\x0cf",
        "The quick brown fox jumps over the lazy dog. 敏捷的棕色狐狸跳过了懒狗。",
    ]


# Pools of scalars for random strings: each pool exercises a different regex class.
POOLS = [
    [" "], ["  "], ["\t"], ["\n"], ["\r\n"], ["\u3000", "\u00a0", "\u2003"],
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    list("0123456789"), list("٠١٢٣४५६७"), list("½Ⅻ²①"),
    list("'"), ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"],
    list(".,;:!?-_()[]{}<>@#$%^&*/\\|~`\"+="),
    list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"),
    list("，。！？、；：（）《》"),
    list("éüñçøåß"), ["e\u0301", "\u0300", "\u20dd"],
    list("αβγδεжзик"), list("مرحبا"), list("שלום"),
    ["😀", "🎉", "👍🏽", "👨‍👩‍👧", "🇨🇳", "❤️", "\u200d", "\ufe0f"],
    ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|image_pad|>", "<think>", "</think>", "<|im_"],
    ["@"], ["@" * 8],
]


def random_strings(count, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 14)):
            pool = rng.choice(POOLS)
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
        out.append("".join(parts))
    return out


def corpus():
    return handpicked() + random_strings(220, seed=1234)


# ----------------------------------------------------------------------------------------------
# Training corpus: deterministic sentences from small word lists (mixed Chinese/English/code).
EN = ("the of and to in is that for it as with was on be by this are from at or an have not which "
      "model image vision language token train data learn small fast swift tensor layer attention "
      "encoder decoder projector patch pixel weight gradient loss batch epoch step").split()
ZH = ("我们 模型 图像 视觉 语言 训练 数据 学习 小型 快速 注意力 编码器 解码器 投影 像素 权重 梯度 损失 "
      "批次 步骤 你好 世界 今天 天气 猫 狗 城市 车水马龙 描述 这张 图片 内容 是 的 了 在 有").split()
CODE = ["def f(x):", "return x + 1", "let y = 2", "for i in range(10):", "print(i)", "{ \"a\": 1 }",
        "x = [1, 2, 3]", "if a == b:", "    pass", "import torch"]
EMOJI = ["😀", "🎉", "👍", "🚀", "🇨🇳", "👨‍👩‍👧"]


def training_corpus(lines, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        kind = rng.random()
        if kind < 0.4:
            words = [rng.choice(EN) for _ in range(rng.randint(3, 15))]
            s = " ".join(words).capitalize() + rng.choice([".", "!", "?", ","])
        elif kind < 0.75:
            s = "".join(rng.choice(ZH) for _ in range(rng.randint(3, 12))) + rng.choice(["。", "！", "？", "，"])
        elif kind < 0.9:
            s = rng.choice(CODE)
        else:
            s = " ".join(rng.choice(EN + ZH + EMOJI + [str(rng.randint(0, 9999))]) for _ in range(rng.randint(2, 8)))
        out.append(s)
    return out


def train_hf(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer)
    # Added tokens with the flags HF supports, so the Swift matcher is checked against each of them.
    tok.add_special_tokens([AddedToken("<|image_pad|>", special=True, normalized=False)])
    tok.add_tokens([
        AddedToken("<think>", special=False, normalized=False),
        AddedToken("</think>", special=False, normalized=False),
        AddedToken("[MASK]", lstrip=True, special=True, normalized=False),
        AddedToken("<r>", rstrip=True, special=False, normalized=False),
        AddedToken("<sw>", single_word=True, special=False, normalized=True),
        AddedToken("hello world", special=False, normalized=True),
    ])
    return tok


# Extra strings that exercise the added-token flags of the trained tokenizer.
def flag_cases():
    return [
        "a [MASK] b  [MASK]\t[MASK]", "x<r>  y<r>\n\nz", "<sw> a<sw> <sw>b <sw>, é<sw> <sw>",
        "say hello world twice: hello world!", "hello worldly", "<|image_pad|><think>x</think>",
        "[MASK]<r> <sw> [MASK] ", "  [MASK]<r>   <sw>   ",
    ]


# ----------------------------------------------------------------------------------------------
def expected_for(tok, texts, seed):
    rng = random.Random(seed)
    enc, dec, dec_skip, slices = [], [], [], []
    for i, s in enumerate(texts):
        ids = tok.encode(s, add_special_tokens=False).ids
        enc.append(ids)
        dec.append(tok.decode(ids, skip_special_tokens=False))
        dec_skip.append(tok.decode(ids, skip_special_tokens=True))
        if len(ids) >= 2:
            for _ in range(2):  # arbitrary slices: cut characters decode to U+FFFD like HF does
                a = rng.randrange(0, len(ids))
                b = rng.randrange(a + 1, len(ids) + 1)
                slices.append({"index": i, "start": a, "end": b,
                               "text": tok.decode(ids[a:b], skip_special_tokens=False)})
    return {"encodings": enc, "decoded": dec, "decodedSkipSpecial": dec_skip, "slices": slices}


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=True, separators=(",", ":"))  # escapes: Foundation drops a raw U+FEFF
        f.write("\n")
    print("wrote", os.path.relpath(path, REPO), os.path.getsize(path), "bytes")


def check_with_transformers(folder_or_file, tok, texts):
    """transformers must agree with `tokenizers` on these files (it wraps the same Rust tokenizer)."""
    from transformers import PreTrainedTokenizerFast
    if os.path.isdir(folder_or_file):
        t = transformers.AutoTokenizer.from_pretrained(folder_or_file)
    else:
        t = PreTrainedTokenizerFast(tokenizer_file=folder_or_file)
    for s in texts:
        a = tok.encode(s, add_special_tokens=False).ids
        b = t.encode(s, add_special_tokens=False)
        if a != b:
            sys.exit(f"transformers and tokenizers disagree on {s!r}: {a} vs {b}")
        if t.decode(a, skip_special_tokens=True) != tok.decode(a, skip_special_tokens=True):
            sys.exit(f"transformers and tokenizers decode differently for {s!r}")


# ----------------------------------------------------------------------------------------------
# Chat templates (transformers apply_chat_template, tokenize=False).
IMAGE_PLACEHOLDER = {"minimind2-v": ("@" * 196), "minimind-3v": ("<|image_pad|>" * 64)}
THINK_FLAG = {"minimind2-v": "enable_thinking", "minimind-3v": "open_thinking"}

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "查询城市天气 (weather)",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "城市名, e.g. \"北京\""},
        "days": {"type": "integer", "minimum": 1, "maximum": 7}},
        "required": ["city"]}}}
CALC_TOOL = {"type": "function", "function": {"name": "add", "description": "a+b",
                                              "parameters": {"type": "object", "properties": {}}}}


def chat_cases():
    sys_msg = {"role": "system", "content": "你是一个视觉助手。"}
    u1 = {"role": "user", "content": "<image>\n这张图片里有什么？"}
    a1 = {"role": "assistant", "content": "图片里有一只狗。"}
    u2 = {"role": "user", "content": "What color is it?\n\n"}
    a2 = {"role": "assistant", "content": "\nIt is golden.\n"}
    a_think = {"role": "assistant", "content": "<think>\nLet me look.\n</think>\n\nA dog."}
    a_think2 = {"role": "assistant", "content": "prefix<think>\n\nstep 1\nstep 2\n\n</think>\n\n\nDone"}
    a_reason = {"role": "assistant", "content": "Answer </think> kept", "reasoning_content": "\n\nthought\n"}
    a_tool = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "北京", "days": 2}}}]}
    a_tool2 = {"role": "assistant", "content": "Calling tools.", "tool_calls": [
        {"name": "add", "arguments": "{\"a\":1,\"b\":2}"},
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}
    t1 = {"role": "tool", "content": "{\"temp\": 21}"}
    t2 = {"role": "tool", "content": "3"}
    conversations = {
        "user_only": [u1],
        "system_user": [sys_msg, u1],
        "multi_turn": [u1, a1, u2, a2],
        "system_multi_turn": [sys_msg, u1, a1, u2, a2, {"role": "user", "content": "谢谢"}],
        "mid_system": [u1, a1, {"role": "system", "content": "Be brief."}, u2],
        "think_in_content": [u1, a_think, u2],
        "think_prefix": [u1, a_think2],
        "reasoning_field": [u1, a_reason],
        "tool_calls": [{"role": "user", "content": "北京天气？"}, a_tool, t1, t2, a1],
        "tool_calls_text": [sys_msg, {"role": "user", "content": "1+2, weather?"}, a_tool2, t1],
        "empty_content": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}],
        "unknown_role": [{"role": "user", "content": "hi"}, {"role": "narrator", "content": "ignored?"}],
    }
    cases = []
    for name, msgs in conversations.items():
        for gen in (False, True):
            for think in (None, False, True):
                for tools in (None, [WEATHER_TOOL, CALC_TOOL]):
                    if tools is not None and name not in ("user_only", "system_user", "tool_calls", "tool_calls_text"):
                        continue
                    cases.append({"name": name, "messages": msgs, "addGenerationPrompt": gen,
                                  "thinking": think, "tools": tools})
    return cases


def render_chat_cases():
    out = {"cases": []}
    for gen_name in REAL:
        folder = os.path.join(ASSETS, gen_name)
        tok = transformers.AutoTokenizer.from_pretrained(folder)
        raw = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        for case in chat_cases():
            kwargs = {}
            if case["thinking"] is not None:
                kwargs[THINK_FLAG[gen_name]] = case["thinking"]
            text = tok.apply_chat_template(copy.deepcopy(case["messages"]), tools=case["tools"], tokenize=False,
                                           add_generation_prompt=case["addGenerationPrompt"], **kwargs)
            entry = dict(case, template=gen_name, rendered=text)
            if case["thinking"] is None and case["tools"] is None:  # ids of a subset keep the file small
                expanded = text.replace("<image>", IMAGE_PLACEHOLDER[gen_name])
                entry["expandedIds"] = raw.encode(expanded, add_special_tokens=False).ids
            out["cases"].append(entry)
    return out


# ----------------------------------------------------------------------------------------------
def generate():
    os.makedirs(OUT, exist_ok=True)
    texts = corpus()
    dump(os.path.join(OUT, "corpus.json"), texts)
    train_lines = training_corpus(3000, seed=7)
    with open(os.path.join(OUT, "train_corpus.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(train_lines) + "\n")

    # (a) tokenizers trained by HF itself, plus variants of the ByteLevel flags.
    base = train_hf(train_lines)
    variants = {"hf_trained": (False, True), "hf_trained_prefix_space": (True, True),
                "hf_trained_no_regex": (False, False)}
    for name, (prefix, use_regex) in variants.items():
        data = json.loads(base.to_str())
        data["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": True,
                                 "use_regex": use_regex}
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "tokenizer.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        tok = Tokenizer.from_file(path)
        all_texts = texts + flag_cases()
        check_with_transformers(path, tok, all_texts)
        exp = expected_for(tok, all_texts, seed=99)
        exp.update({"tokenizer": name, "flagCasesStart": len(texts), "vocabSize": tok.get_vocab_size(True)})
        dump(os.path.join(OUT, f"expected_{name}.json"), exp)

    # (b) the real tokenizers (ids only; the tests read the same committed files).
    for name in REAL:
        folder = os.path.join(ASSETS, name)
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        check_with_transformers(folder, tok, texts)
        exp = expected_for(tok, texts, seed=99)
        hft = transformers.AutoTokenizer.from_pretrained(folder)
        exp.update({"tokenizer": name, "flagCasesStart": len(texts), "vocabSize": tok.get_vocab_size(True),
                    "bosId": hft.bos_token_id, "eosId": hft.eos_token_id, "padId": hft.pad_token_id})
        dump(os.path.join(OUT, f"expected_{name}.json"), exp)

    dump(os.path.join(OUT, "chat_templates.json"), render_chat_cases())


def check_swift_trained(path):
    tok = Tokenizer.from_file(path)
    with open(os.path.join(OUT, "corpus.json"), encoding="utf-8") as f:
        texts = json.load(f)
    with open(os.path.join(OUT, "train_corpus.txt"), encoding="utf-8") as f:
        texts += f.read().split("\n")[:300]
    check_with_transformers(path, tok, texts)
    exp = expected_for(tok, texts, seed=99)
    exp.update({"tokenizer": "swift_trained", "vocabSize": tok.get_vocab_size(True)})
    dump(os.path.join(OUT, "expected_swift_trained.json"), exp)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check-swift-trained", metavar="PATH", help="tokenizer.json written by the Swift BPETrainer")
    args = p.parse_args()
    if args.check_swift_trained:
        check_swift_trained(args.check_swift_trained)
    else:
        generate()
