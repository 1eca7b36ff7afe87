#!/usr/bin/env python3
"""Reference prompts for PromptAssembler (Docs/Model.md, "Assembling a prompt"), written to
Tests/Fixtures/prompt/assembled.json.

For each upstream tokenizer (Tests/Fixtures/upstream/{minimind2-v,minimind-3v}) and each case, the
ids are what upstream's code computes with transformers: every '<image>' in a user or assistant
message replaced by the placeholder run ('@' x 196 or '<|image_pad|>' x 64) before
`apply_chat_template(tokenize=False)`, then `tokenizer(text, add_special_tokens=False)`. A question
sent with images but without a marker gets the placeholder + "\\n" in front, as upstream's
eval_vlm.py writes its prompt. `slots` are the [start, end) ranges of the placeholder-id runs in
those ids. For each training case the script also checks that the generation prompt of the same
conversation prefix is a prefix of the training ids (what SampleBuilder and Generator must share).

Pinned versions (checked at runtime): transformers 5.24.0, tokenizers 0.23.3.
Usage: python3 Scripts/gen_prompt_fixtures.py
"""
import copy
import json
import os
import sys

from fixture_common import FIXTURES, REPO, require

PINNED = {"transformers": "5.24.0", "tokenizers": "0.23.3"}
require(PINNED)

import transformers  # noqa: E402

ASSETS = os.path.join(FIXTURES, "upstream")
OUT = os.path.join(FIXTURES, "prompt")
PLACEHOLDER = {"minimind2-v": ("@", 196), "minimind-3v": ("<|image_pad|>", 64)}
THINK_FLAG = {"minimind2-v": "enable_thinking", "minimind-3v": "open_thinking"}


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def system(text):
    return {"role": "system", "content": text}


# name, messages (as the Swift side receives them), images, generation prompt, thinking, fill the
# last question (images without a marker go in front of it).
CASES = [
    ("one image, question after it", [user("<image>\n描述一下这张图片的内容。")], 1, True, None, False),
    ("no marker: image put in front", [user("What is in the picture?")], 1, True, None, True),
    ("two markers in one question", [user("<image>\n<image>\n比较一下两张图像的异同点。")], 2, True, None, False),
    ("marker inside the text", [user("Look at <image> and say what colour it is.")], 1, True, None, False),
    ("system and two turns, images in both questions",
     [system("You are a careful describer."), user("<image>\nWhat is this?"), assistant("A red square."),
      user("And this one? <image>")], 2, True, None, False),
    ("text only", [user("Hello, how are you?")], 0, True, None, False),
    ("thinking switched on", [user("<image>\nCount the shapes.")], 1, True, True, False),
    ("training: one exchange", [user("<image>\n描述一下这张图片。"), assistant("一只猫坐在沙发上。")], 1, False, None, False),
    ("training: two exchanges with a system turn",
     [system("Answer briefly."), user("<image>\nWhat shape?"), assistant("A circle."), user("Colour?"),
      assistant("Blue.")], 1, False, None, False),
]


def expand(messages, token, count, images, fill):
    out = copy.deepcopy(messages)
    if fill:
        last = max(i for i, m in enumerate(out) if m["role"] == "user")
        out[last]["content"] = "<image>\n" * images + out[last]["content"]
    for m in out:
        if m["role"] != "system":
            m["content"] = m["content"].replace("<image>", token * count)
    return out


def runs(ids, token_id):
    out, i = [], 0
    while i < len(ids):
        if ids[i] == token_id:
            j = i
            while j < len(ids) and ids[j] == token_id:
                j += 1
            out.append([i, j])
            i = j
        else:
            i += 1
    return out


def main():
    data = {}
    for gen in ("minimind2-v", "minimind-3v"):
        tok = transformers.AutoTokenizer.from_pretrained(os.path.join(ASSETS, gen))
        token, count = PLACEHOLDER[gen]
        token_id = tok.convert_tokens_to_ids(token)

        def ids_of(messages, images, gen_prompt, thinking, fill):
            kwargs = {} if thinking is None else {THINK_FLAG[gen]: thinking}
            text = tok.apply_chat_template(expand(messages, token, count, images, fill), tokenize=False,
                                           add_generation_prompt=gen_prompt, **kwargs)
            return tok(text, add_special_tokens=False)["input_ids"]

        cases = []
        for name, messages, images, gen_prompt, thinking, fill in CASES:
            ids = ids_of(messages, images, gen_prompt, thinking, fill)
            slots = runs(ids, token_id) if images else []
            if len(slots) != images or any(e - s != count for s, e in slots):
                sys.exit(f"{gen} / {name}: the reference has runs {slots} for {images} image(s)")
            case = {"name": name, "messages": messages, "images": images, "generationPrompt": gen_prompt,
                    "thinking": thinking, "fillQuestion": fill, "ids": ids, "slots": slots}
            if not gen_prompt:
                # The generation prompt of the conversation up to the last answer is a prefix of the
                # training ids: what the model is asked at inference is what it was trained on.
                prefix = messages[:max(i for i, m in enumerate(messages) if m["role"] == "assistant")]
                prefix_images = sum(m["content"].count("<image>") for m in prefix)
                gen_ids = ids_of(prefix, prefix_images, True, None, False)
                if ids[:len(gen_ids)] != gen_ids:
                    sys.exit(f"{gen} / {name}: the generation prompt is not a prefix of the training ids")
                case["generationPrefixLength"] = len(gen_ids)
            cases.append(case)
        data[gen] = {"imageTokenId": token_id, "cases": cases}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "assembled.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(path, REPO), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
