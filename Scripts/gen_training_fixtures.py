#!/usr/bin/env python3
"""Generates the training-step parity fixtures in Tests/Fixtures/training/ (llm.c style).

For a tiny MiniMind2-V-shaped model (transformers LlamaForCausalLM + Linear projector) and a tiny
minimind-3v-shaped model (Qwen3ForCausalLM + LayerNorm/Linear/GELU/Linear projector), in float32,
with precomputed random "vision features" as the image input (the encoder is frozen upstream, so
its output is all training needs) and the image splice of Docs/Model.md, "Projector and image splicing" written here:

  * the loss and the gradient of every trainable tensor at step 0,
  * the losses of 5 AdamW optimizer steps with the upstream schedule
    lr = base·(0.1 + 0.45·(1 + cos(π·t/T))) set at every micro-step t = 1, 2, … (upstream's numbering), clip_grad_norm_(1.0),
    torch.optim.AdamW(betas 0.9/0.999, eps 1e-8, weight_decay 0.01) over the trainable tensors,
  * the trainable tensors after the 5 steps,

under both recipes' trainable sets (pretrain and SFT) of each generation. The reference runs on
the full right-padded batch (length L, as upstream does); the Swift trainer trims padding, so the
fixture also shows that trimming does not change the numbers. Loss: cross-entropy of logits[t]
against labels[t+1] (labels -100 outside assistant answers), mean over counted tokens, divided by
the accumulation steps. Run from the repository root:  python3 Scripts/gen_training_fixtures.py
"""
import json, math, os

from fixture_common import fixture_dir, require

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0", "numpy": "2.4.6"}
require(PINNED)

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

OUT = fixture_dir("training")
torch.set_num_threads(1)

VOCAB, HIDDEN, LAYERS, VISION_DIM, IMAGE_TOKENS = 96, 32, 3, 24, 9
L, B, STEPS = 40, 3, 5


def path(*parts):
    return os.path.join(OUT, *parts)


def perturb_norms(module):
    with torch.no_grad():
        for n, p in module.named_parameters():
            if "norm" in n or n.startswith("0."):
                p.copy_((1 + 0.1 * torch.randn_like(p)) if n.endswith("weight") else 0.1 * torch.randn_like(p))


class VLM(torch.nn.Module):
    """The MiniMind-V composition: embed ids, overwrite placeholder runs with projected features, run the LM."""

    def __init__(self, lm, projector, proj_prefix, marker):
        super().__init__()
        self.lm, self.projector, self.proj_prefix, self.marker = lm, projector, proj_prefix, marker

    def named_release_parameters(self):
        # Checkpoint key names (tied lm_head listed once under the embedding, as in PyTorch).
        for n, p in self.lm.named_parameters():
            yield n, p
        for n, p in self.projector.named_parameters():
            yield f"vision_proj.{self.proj_prefix}.{n}", p

    def forward(self, ids, feats, sample_images):
        h = self.lm.model.embed_tokens(ids)
        proj = self.projector(feats)  # [N, tokens, hidden]
        rows = []
        for b in range(ids.shape[0]):
            seq, row, k, i = ids[b].tolist(), h[b], 0, 0
            pieces, last = [], 0
            while i < len(seq):
                if seq[i] == self.marker:
                    start = i
                    while i < len(seq) and seq[i] == self.marker:
                        i += 1
                    if k < len(sample_images[b]):
                        pieces += [row[last:start], proj[sample_images[b][k], : i - start]]
                        last = i
                        k += 1
                else:
                    i += 1
            pieces.append(row[last:])
            rows.append(torch.cat(pieces, 0))
        return self.lm(inputs_embeds=torch.stack(rows)).logits


def make_batch(gen, marker, with_images):
    """B samples of different real lengths, right-padded with 0 to L; labels only on 'answers'."""
    ids = torch.zeros(B, L, dtype=torch.long)
    labels = torch.full((B, L), -100, dtype=torch.long)
    sample_images, n_images = [], 0
    lengths = [L - 4, 21, 30]
    for b in range(B):
        n = lengths[b]
        seq = torch.randint(40, VOCAB, (n,), generator=gen)
        seq[0] = 1  # <|im_start|>
        imgs = []
        if with_images[b]:
            seq[2:2 + IMAGE_TOKENS] = marker
            imgs = [n_images]
            n_images += 1
        ids[b, :n] = seq
        answer = n - 9  # the last 9 real tokens are the "assistant answer" (+ <|im_end|>\n)
        labels[b, answer:n] = seq[answer:n]
        sample_images.append(imgs)
    feats = torch.randn(n_images, IMAGE_TOKENS, VISION_DIM, generator=gen)
    return ids, labels, feats, sample_images


def loss_of(model, ids, labels, feats, sample_images):
    logits = model(ids, feats, sample_images)
    return F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), labels[:, 1:].reshape(-1), ignore_index=-100)


def build(kind, seed):
    torch.manual_seed(seed)
    if kind == "vlm2":
        cfg = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=LAYERS,
                   num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=1e6,
                   max_position_embeddings=256, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
                   hidden_act="silu")
        lm = LlamaForCausalLM(LlamaConfig(**cfg)).float()
        projector = torch.nn.Sequential(torch.nn.Linear(VISION_DIM, HIDDEN))
        model = VLM(lm, projector, "vision_proj", 34)
    else:
        cfg = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=LAYERS,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=8, rms_norm_eps=1e-6, rope_theta=1e6,
                   max_position_embeddings=256, tie_word_embeddings=True, attention_bias=False, hidden_act="silu",
                   use_sliding_window=False)
        lm = Qwen3ForCausalLM(Qwen3Config(**cfg)).float()
        projector = torch.nn.Sequential(torch.nn.LayerNorm(VISION_DIM, eps=1e-5), torch.nn.Linear(VISION_DIM, HIDDEN),
                                        torch.nn.GELU(), torch.nn.Linear(HIDDEN, HIDDEN))
        model = VLM(lm, projector, "mlp", 12)
    perturb_norms(lm)
    perturb_norms(projector)
    with torch.no_grad():  # larger embeddings so the LM's gradients are not tiny
        lm.model.embed_tokens.weight.mul_(5)
    return model, cfg


last = LAYERS - 1
CASES = {
    # name: (model kind, trainable key prefixes, base lr, accumulation steps)
    "vlm2_pretrain": ("vlm2", ["vision_proj.", f"model.layers.{last}."], 4e-3, 1),
    "vlm2_sft": ("vlm2", ["vision_proj.", "model.", "lm_head."], 1e-3, 2),
    "vlm3_pretrain": ("vlm3", ["vision_proj."], 4e-3, 1),
    "vlm3_sft": ("vlm3", ["vision_proj.", "model.layers.0.", f"model.layers.{last}."], 2e-3, 1),
}
TOTAL_STEPS_FACTOR = 2  # the schedule spans 2x the micro-steps run (like --max-steps stopping early)

def train(case, kind, prefixes, base_lr, accum, weight_decay, write):
    """Runs the case's 5 optimizer steps; with `write`, saves its fixture files."""
    model, cfg = build(kind, seed=7 if kind == "vlm2" else 11)
    named = list(model.named_release_parameters())
    if write:
        weights = {n: p.detach().clone().contiguous() for n, p in named}
        save_file(weights, path(f"{kind}_weights.safetensors"))  # the same initial weights for both recipes
    initial = {n: p.detach().clone() for n, p in named}
    trainable = [(n, p) for n, p in named if any(n.startswith(x) for x in prefixes)]
    for n, p in named:
        p.requires_grad_(any(n.startswith(x) for x in prefixes))
    gen = torch.Generator().manual_seed(123)
    micro = STEPS * accum
    batches = [make_batch(gen, model.marker, [True, False, True] if m % 2 == 0 else [True, True, False])
               for m in range(micro)]
    total = micro * TOTAL_STEPS_FACTOR
    opt = torch.optim.AdamW([p for _, p in trainable], lr=base_lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    losses, lrs, norms = [], [], []
    step_loss, summary_loss0 = 0.0, None
    # Upstream's trainers number micro-batches from 1 (`enumerate(loader, start=start_step + 1)`,
    # then get_lr(epoch * iters + step, epochs * iters, lr)), so the first micro-batch uses t = 1.
    for t, (ids, labels, feats, si) in enumerate(batches, start=1):
        lr = base_lr * (0.1 + 0.45 * (1 + math.cos(math.pi * t / total)))
        for g in opt.param_groups:
            g["lr"] = lr
        loss = loss_of(model, ids, labels, feats, si) / accum
        loss.backward()
        step_loss += loss.item()
        if t == accum and write:  # gradients of the first optimizer step (all its micro-batches)
            save_file({n: p.grad.detach().clone().contiguous() for n, p in trainable}, path(f"{case}_grads0.safetensors"))
            summary_loss0 = step_loss
        if t % accum == 0:  # groups of `accum` from the start (our grouping, Docs/Training.md)
            norms.append(float(torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)))
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(step_loss)
            lrs.append(lr)
            step_loss = 0.0
    after = {n: p.detach().clone().contiguous() for n, p in trainable}
    if write:
        save_file(after, path(f"{case}_after.safetensors"))
        for m, (ids, labels, feats, si) in enumerate(batches):
            np.save(path(f"{case}_batch{m}_ids.npy"), ids.numpy().astype(np.int64))
            np.save(path(f"{case}_batch{m}_labels.npy"), labels.numpy().astype(np.int64))
            np.save(path(f"{case}_batch{m}_features.npy"), feats.numpy().astype(np.float32))
    info = dict(kind=kind, lm_config=cfg, trainable=[n for n, _ in trainable], base_lr=base_lr,
                accumulation_steps=accum, micro_batches=micro, schedule_total=total,
                sample_images=[b[3] for b in batches], loss0=summary_loss0, losses=losses, lrs=lrs,
                grad_norms=norms)
    return info, initial, after


summary = {}
for case, (kind, prefixes, base_lr, accum) in CASES.items():
    info, initial, after = train(case, kind, prefixes, base_lr, accum, 0.01, write=True)
    # What weight decay contributes to each tensor's 5-step update, relative to the update's size
    # (L2: |after_wd - after_no_wd| / |after_wd - initial|): the tests' update tolerance must stay
    # below it, so a trainer that dropped decay would fail.
    _, _, no_decay = train(case, kind, prefixes, base_lr, accum, 0.0, write=False)
    info["decay_effect"] = {n: float((after[n] - no_decay[n]).norm() / (after[n] - initial[n]).norm().clamp_min(1e-12))
                            for n in after}
    summary[case] = info
    print(case, "losses", ["%.5f" % x for x in info["losses"]], "norms", ["%.3f" % x for x in info["grad_norms"]],
          "decay effect min %.2e" % min(info["decay_effect"].values()))

with open(path("training_cases.json"), "w") as f:
    json.dump(summary, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------- samples: template, expansion, labels
# Reference for TrainingSample building (Docs/Model.md, "Training samples"), from the real tokenizers in ../shared/assets
# (read at generation time; only ids and labels are committed): transformers' apply_chat_template,
# HF tokenizers, and upstream's label rule (dataset/lm_dataset.py generate_labels, written out here):
# labels = ids inside each answer, from right after "<|im_start|>assistant\n" through the next
# "<|im_end|>\n" inclusive, -100 elsewhere; ids truncated to max_len (padding is left to the consumer).
from transformers import AutoTokenizer

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "assets")


def upstream_labels(ids, bos, eos, max_len):
    labels = [-100] * len(ids)
    i = 0
    while i < len(ids):
        if ids[i:i + len(bos)] == bos:
            start = i + len(bos)
            end = start
            while end < len(ids):
                if ids[end:end + len(eos)] == eos:
                    break
                end += 1
            for j in range(start, min(end + len(eos), max_len)):
                labels[j] = ids[j]
            i = end + len(eos) if end < len(ids) else len(ids)
        else:
            i += 1
    return labels


CONVERSATIONS = [
    ([{"role": "user", "content": "<image>\nWhat is in the picture?"}, {"role": "assistant", "content": "A small dog with balloons."}], 1),
    ([{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi! How can I help?"},
      {"role": "user", "content": "Compare <image> and <image>."}, {"role": "assistant", "content": "The first is red; the second is blue."}], 2),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Green."}], 0),
]
samples = {}
if os.path.isdir(ASSETS):
    for gen_name, placeholder, positional in [("minimind2-v", "@" * 196, True), ("minimind-3v", "<|image_pad|>" * 64, False)]:
        tok = AutoTokenizer.from_pretrained(os.path.join(ASSETS, gen_name))
        bos = tok("<|im_start|>assistant\n", add_special_tokens=False).input_ids
        eos = tok("<|im_end|>\n", add_special_tokens=False).input_ids
        out = []
        for conv, n_images in CONVERSATIONS:
            messages = []
            for i, turn in enumerate(conv):
                # MiniMind2-V takes roles by position (even user, odd assistant); minimind-3v by 'role'
                role = ("user" if i % 2 == 0 else "assistant") if positional else turn["role"]
                content = turn["content"] if role == "system" else turn["content"].replace("<image>", placeholder)
                messages.append({"role": role, "content": content})
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
            full = tok(text, add_special_tokens=False).input_ids
            for max_len in [len(full) + 5, len(full) - 4]:
                ids = full[:max_len]
                out.append(dict(conversations=conv, images=n_images, max_len=max_len, text=text, ids=ids,
                                labels=upstream_labels(ids, bos, eos, max_len)))
        samples[gen_name] = out
    with open(path("samples.json"), "w") as f:
        json.dump(samples, f, ensure_ascii=False)
    print("samples:", {k: len(v) for k, v in samples.items()})
else:
    print("../shared/assets not found: samples.json not regenerated")
