#!/usr/bin/env python3
"""A training set whose answers are predictable from the question text (Docs/Training.md, "When
the model goes wrong", "Grounding against a language prior").

Splits the quick demo's multi-turn SFT rows into one row per question (the "Describe the image."
captions are left out: they have no short answer), takes for every question text its most frequent
answer as the "prior" answer, and keeps every row with that answer but only as many of the other
rows as make the prior right in a share BIAS of the question's rows (rows dropped at random with
SEED). A model trained on it can answer most rows without the picture; the demo's test split stays
balanced, so there the prior is worth chance and only the picture helps. Standard library only.

Usage: Scripts/make_prior_biased_vqa.py SFT.jsonl OUT.jsonl [--bias 0.8] [--seed 1]
"""
import argparse
import collections
import json
import random


def single_turn_rows(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            turns = row["conversations"]
            for i in range(0, len(turns) - 1, 2):
                question = turns[i]["content"].replace("<image>\n", "").replace("<image>", "").strip()
                answer = turns[i + 1]["content"]
                if question.startswith("Describe"):
                    continue
                yield question, answer, row["image"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sft")
    p.add_argument("out")
    p.add_argument("--bias", type=float, default=0.8, help="share of each question's rows whose answer is its prior answer")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if not 0 < a.bias < 1:
        raise SystemExit(f"--bias {a.bias}: allowed 0 < bias < 1")
    rng = random.Random(a.seed)
    by_question = collections.defaultdict(list)
    for q, ans, image in single_turn_rows(a.sft):
        by_question[q].append((ans, image))
    out, prior_rows = [], 0
    for q in sorted(by_question):
        rows = by_question[q]
        prior = collections.Counter(ans for ans, _ in rows).most_common(1)[0][0]
        hits = [r for r in rows if r[0] == prior]
        others = [r for r in rows if r[0] != prior]
        keep = min(len(others), round(len(hits) * (1 - a.bias) / a.bias))
        chosen = hits + rng.sample(others, keep)
        prior_rows += len(hits)
        out += [(q, ans, image) for ans, image in chosen]
    rng.shuffle(out)
    with open(a.out, "w", encoding="utf-8") as f:
        for q, ans, image in out:
            f.write(json.dumps({"conversations": [{"role": "user", "content": "<image>\n" + q},
                                                  {"role": "assistant", "content": ans}], "image": image}) + "\n")
    print(f"{len(out)} rows, {len(by_question)} questions, prior answer right in {prior_rows / len(out):.3f}")


if __name__ == "__main__":
    main()
