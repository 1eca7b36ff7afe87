#!/usr/bin/env python3
"""Generates Tests/Fixtures/eval/metrics.json: hypothesis/reference sets and the scores the
reference implementations give them, for the Swift metrics in Sources/MiniMindV/Eval/.

  * corpus BLEU-1..4: sacrebleu's BLEU(max_ngram_order=n) with its defaults (13a tokeniser,
    'exp' smoothing, mixed case), several references per sample padded with None; score / 100;
  * CIDEr-D: pycocoevalcap's Cider (n=4, sigma=6) on text pre-tokenised with our definition
    (lower-case each code point, every code point that is not a letter (L*), a number (N*) or '_'
    becomes a space, split) -- pycocoevalcap's Java PTB tokenizer is not used;
  * ROUGE-L: rouge-score's RougeScorer(['rougeL'], use_stemmer=False).score_multi, F-measure,
    mean over samples;
  * VQA: the official evaluation code (aagrawal's vqaEval.py) as shipped in salesforce-lavis
    1.0.2 (lavis/common/vqa_tools/vqa_eval.py, imported from the wheel without installing LAVIS):
    its answer normalisation (processPunctuation + processDigitArticle) for exact match, and its
    evaluate() for the soft accuracy, with n=15 digits so its rounding does not matter.

Run from the repository root:  python3 Scripts/gen_eval_fixtures.py
"""
import glob, importlib.util, io, json, os, random, subprocess, sys, tempfile, unicodedata, zipfile
from contextlib import redirect_stdout

from fixture_common import fixture_dir, require

PINNED = {"sacrebleu": "2.6.0", "pycocoevalcap": "1.2", "rouge-score": "0.1.2", "numpy": "2.4.6"}
LAVIS = "salesforce-lavis==1.0.2"
require(PINNED)

import sacrebleu
from sacrebleu.metrics import BLEU
from pycocoevalcap.cider.cider import Cider
from rouge_score import rouge_scorer

OUT = fixture_dir("eval")


def load_vqa_eval():
    """The official VQAEval class from the LAVIS wheel (pip download, no install, no dependencies)."""
    folder = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder, LAVIS], check=True)
    wheel = glob.glob(os.path.join(folder, "salesforce_lavis-1.0.2-*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        source = z.read("lavis/common/vqa_tools/vqa_eval.py")
    path = os.path.join(folder, "vqa_eval.py")
    with open(path, "wb") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("vqa_eval", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VQAEval


def cider_tokens(text):
    """Our CIDEr-D tokenisation (Docs/Evaluation.md): per code point lower-case, keep L*, N* and '_'."""
    lowered = "".join(c.lower() for c in text)
    kept = "".join(c if unicodedata.category(c)[0] in "LN" or c == "_" else " " for c in lowered)
    return kept.split()


# ---------------------------------------------------------------- caption data
WORDS = ("a the man woman dog cat red blue green circle square triangle sitting on bench in park two three people "
         "riding bike street with near tree large small white black table plate of food and is are holding umbrella "
         "standing next to building sky water boat field grass playing ball young old group train station bus car "
         "road sign window kitchen room bed").split()
ODD = ["dog.", "cat,", "well-known", "3.5", "1,000", "(left)", "\"quoted\"", "it's", "don't", "&amp;", "&quot;hi&quot;",
       "<skipped>", "U.S.", "e-mail", "5-year", "...", "?", "!", "a/b", "x+y", "50%", "$20", "#tag", "@home", "[box]",
       "{curly}", "~tilde", "`tick`", "3-4", "4.", ",5", "café", "naïve", "中文", "图片里有一只猫", "🙂", "Straße", "İstanbul",
       "\u212a", "ﬁne", "CAPS", "MiXeD", "snake_case", "line\nbreak", "hy-\nphen", "tab\tsep", "nb\u00a0sp", "ideo\u3000space",
       "Ωmega", "über"]


def sentence(rng, lo, hi, odd=0.15):
    return " ".join(rng.choice(ODD) if rng.random() < odd else rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def mutate(rng, ref):
    words = ref.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < 0.12:
            continue
        if r < 0.24:
            out.append(rng.choice(WORDS))
        else:
            out.append(w)
        if rng.random() < 0.05:
            out.append(rng.choice(WORDS + ODD))
    if rng.random() < 0.2:
        rng.shuffle(out)
    return " ".join(out)


def caption_main(rng):
    samples = []
    for i in range(230):
        refs = [sentence(rng, 3, 16) for _ in range(rng.choice([1, 1, 2, 3, 5]))]
        kind = i % 23
        if kind == 0:
            hyp = ""
        elif kind == 1:
            hyp = " ".join(refs) + " " + sentence(rng, 2, 6)   # longer than every reference
        elif kind == 2:
            hyp = refs[0]
        elif kind == 3:
            hyp = "   \t "
        elif kind == 4:
            hyp = "... ?!"
        elif kind == 5:
            hyp = sentence(rng, 1, 3, odd=0.5)
        elif kind == 6:
            hyp = "图片里有一只猫 🙂 café İstanbul \u212a"
        else:
            hyp = mutate(rng, rng.choice(refs)) if rng.random() < 0.85 else sentence(rng, 2, 14)
        samples.append({"hyp": hyp, "refs": refs})
    return samples


def bleu_scores(samples):
    width = max(len(s["refs"]) for s in samples)
    streams = [[s["refs"][k] if k < len(s["refs"]) else None for s in samples] for k in range(width)]
    hyps = [s["hyp"] for s in samples]
    out = []
    for n in range(1, 5):
        out.append(BLEU(max_ngram_order=n).corpus_score(hyps, streams).score / 100)
    return out


def cider_scores(samples):
    gts = {i: [" ".join(cider_tokens(r)) for r in s["refs"]] for i, s in enumerate(samples)}
    res = {i: [" ".join(cider_tokens(s["hyp"]))] for i, s in enumerate(samples)}
    score, scores = Cider().compute_score(gts, res)
    return float(score), [float(x) for x in scores]


ROUGE = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_scores(samples):
    per = [ROUGE.score_multi(s["refs"], s["hyp"])["rougeL"].fmeasure for s in samples]
    return sum(per) / len(per), per


def caption_set(name, samples):
    tok = BLEU().tokenizer
    bleu = bleu_scores(samples)
    cider, cider_per = cider_scores(samples)
    rouge, rouge_per = rouge_scores(samples)
    return {"name": name, "samples": samples, "bleu": bleu, "cider_d": cider, "cider_d_per_sample": cider_per,
            "rouge_l": rouge, "rouge_l_per_sample": rouge_per,
            "tokens_13a": [tok(s["hyp"].rstrip()) for s in samples],
            "tokens_cider": [" ".join(cider_tokens(s["hyp"])) for s in samples]}


# ---------------------------------------------------------------- VQA data
ANSWERS = ["yes", "no", "2", "two", "Two", "a dog", "the dog", "dog", "red", "Red.", "3", "three", "none", "0", "zero",
           "10", "ten", "tennis", "baseball", "don't know", "dont know", "it's", "its", "1,000", "1000", "3.5", "3.5.",
           "left", "right", "white and black", "black & white", "t-shirt", "tshirt", "n/a", "?", "yes!", "No.",
           "an apple", "apple", "cant", "can't", "Im", "im", "  yes ", "yes\n", "red, white", "red,white", "a.b.c",
           "U.S.", "(left)", "x;y", "ideo\u3000graphic", "café", "İ", "one two three", "the a an", "e.g. this"]


def vqa_samples(rng):
    samples = []
    for i in range(220):
        kind = i % 11
        if kind == 0:      # all references the same (the official code then leaves them unnormalised)
            ans = rng.choice(ANSWERS)
            refs = [ans] * 10
            pred = rng.choice([ans, ans.upper(), ans + ".", rng.choice(ANSWERS)])
        elif kind == 1:
            refs = [rng.choice(ANSWERS) for _ in range(rng.choice([1, 2, 3]))]
            pred = rng.choice(refs + [rng.choice(ANSWERS)])
        elif kind == 2:
            refs = [rng.choice(ANSWERS) for _ in range(10)]
            pred = ""
        else:
            common = [rng.choice(ANSWERS) for _ in range(3)]
            refs = [rng.choice(common) if rng.random() < 0.8 else rng.choice(ANSWERS) for _ in range(10)]
            pred = rng.choice(common + [rng.choice(ANSWERS)])
        samples.append({"pred": pred, "refs": refs})
    return samples


class _QA:
    def __init__(self, qa):
        self.qa = qa

    def getQuesIds(self):
        return list(self.qa.keys())


def vqa_set(VQAEval, samples):
    ev = VQAEval(n=15)
    norm = lambda s: ev.processDigitArticle(ev.processPunctuation(s.replace("\n", " ").replace("\t", " ").strip()))
    exact = [1.0 if norm(s["pred"]) in {norm(r) for r in s["refs"]} else 0.0 for s in samples]
    gts = {i: {"answers": [{"answer": r, "answer_id": k + 1} for k, r in enumerate(s["refs"])],
               "question_type": "q", "answer_type": "a"} for i, s in enumerate(samples)}
    res = {i: {"answer": s["pred"]} for i, s in enumerate(samples)}
    official = VQAEval(_QA(gts), _QA(res), n=15)
    with redirect_stdout(io.StringIO()):
        official.evaluate()
    soft = [official.evalQA[i] / 100 for i in range(len(samples))]
    return {"name": "vqa", "samples": samples,
            "normalized_pred": [norm(s["pred"]) for s in samples],
            "normalized_refs": [[norm(r) for r in s["refs"]] for s in samples],
            "exact_match_per_sample": exact, "exact_match": sum(exact) / len(exact),
            "vqa_accuracy_per_sample": soft, "vqa_accuracy": sum(soft) / len(soft)}


def main():
    rng = random.Random(20261205)
    main_set = caption_main(rng)
    sets = [
        caption_set("main", main_set),
        caption_set("single sample", [{"hyp": "a red circle on the left", "refs": ["a red circle in the left corner"]}]),
        caption_set("single sample, several references",
                    [{"hyp": "two dogs play in the park.", "refs": ["Two dogs are playing in a park.", "dogs in the park",
                                                                       "a pair of dogs playing on grass"]}]),
        caption_set("all hypotheses empty", [{"hyp": "", "refs": [sentence(rng, 3, 8)]} for _ in range(4)]),
        caption_set("short hypotheses (no 4-grams)", [{"hyp": "a dog", "refs": ["a dog on a bench"]},
                                                      {"hyp": "the cat sat", "refs": ["the cat sat down", "a cat"]}]),
        caption_set("hypotheses longer than every reference",
                    [{"hyp": sentence(rng, 20, 30), "refs": [sentence(rng, 2, 5), sentence(rng, 2, 5)]} for _ in range(5)]),
        caption_set("unicode", [{"hyp": "图片里有一只猫 🙂", "refs": ["图片里有一只猫", "一只猫 🙂"]},
                                {"hyp": "Café in İstanbul, Straße", "refs": ["a café in istanbul", "STRASSE café"]},
                                {"hyp": "naïve ﬁne über", "refs": ["naive fine uber", "naïve ﬁne über"]}]),
    ]
    VQAEval = load_vqa_eval()
    fixture = {"generator": "Scripts/gen_eval_fixtures.py", "versions": dict(PINNED, **{"salesforce-lavis": "1.0.2"}),
               "caption_sets": sets, "vqa": vqa_set(VQAEval, vqa_samples(rng))}
    path = os.path.join(OUT, "metrics.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"wrote {path}: {len(main_set)} main caption pairs, {len(fixture['vqa']['samples'])} VQA samples, "
          f"{os.path.getsize(path)} bytes")
    for s in sets:
        print(f"  {s['name']}: BLEU {['%.4f' % b for b in s['bleu']]} CIDEr-D {s['cider_d']:.4f} ROUGE-L {s['rouge_l']:.4f}")
    print(f"  vqa: exact {fixture['vqa']['exact_match']:.4f} soft {fixture['vqa']['vqa_accuracy']:.4f}")


if __name__ == "__main__":
    main()
