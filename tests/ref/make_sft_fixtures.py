#!/usr/bin/env python3
"""Fixtures for tests/sft: the tiny byte-level tokenizer built with Hugging
Face `tokenizers`, and a golden SFT run computed with PyTorch and
transformers, for rlvr's `sft` (learner/sft.h) to match.

Rerun (developers only; CI uses the committed output):
    /work/venv-ref/bin/python tests/ref/make_sft_fixtures.py
Made with the venv at /work/venv-ref:
    pip install torch==2.15.0 transformers==5.24.0 tokenizers==0.23.3 safetensors==0.8.0 numpy==2.4.6
Seeded and deterministic on one machine; the C test compares with
tolerances, never bit for bit.

It writes tests/fixtures/sft/:

  tokenizer_cases.json   {"texts": [...], "ids": [[...], ...], "decoded": [...]}
      texts encoded (and decoded back) by a tokenizer built here from the
      specification in model/tiny.h, independently of rlvr's C code: GPT-2's
      bytes_to_unicode alphabet with id = byte value, no merges, ByteLevel
      pre-tokenizer without regex, <|endoftext|> (256, special), <think>,
      </think>, <answer>, </answer> (257..260, not special). The C test
      checks that rlvr_tiny_tokenizer_json() encodes each text to the same ids.

  model/                 an HF model directory (LlamaForCausalLM, vocab 261,
      hidden 32, 2 layers, 4 heads, 2 kv heads, intermediate 64, tied
      embeddings, 64 positions; transformers' own random init, torch seed 0)
      with the tokenizer above: the golden run's starting point.

  data.jsonl             10 {"prompt", "completion"} pairs (arithmetic, one
      with <think>/<answer> tags; blank line and an extra field included, as
      the reader must accept them).

  golden.json            the run: settings, and per step the loss (mean NLL
      over the step's completion tokens), the gradient norm before clipping
      and the learning rate.

  final/                 the model after the last step (config.json and
      model.safetensors), for the C test to compare every parameter.

The golden run, as learner/sft.h specifies it: no shuffling, so step k
takes examples (4k .. 4k+3) mod 10 (the run crosses epoch boundaries);
micro-batches of 3 (so each step is a micro-batch of 3 and one of 1, and
gradients accumulate); an example is prompt ids + completion ids + EOS
(encoded apart); loss = -(1/K) sum of log p over the step's completion
tokens and EOS (K their count); clip_grad_norm_(1.0); torch.optim.AdamW
(betas 0.9, 0.95, eps 1e-8, weight decay 0.1 on 2-D tensors, 0 on 1-D);
learning rate of step k: 1e-2 * (k+1)/2 for k < 2 (warmup), then cosine
from 1e-2 to 1e-3 over the remaining steps (learner/schedule.h's formula).
"""
import json
import math
import os
import shutil

import torch
from safetensors.torch import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "sft")

STEPS, BATCH, MICRO = 6, 4, 3
LR, WARMUP, MIN_RATIO, WD, CLIP = 1e-2, 2, 0.1, 0.1, 1.0


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters (the ByteLevel alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(
        range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def build_tokenizer():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ["<think>", "</think>", "<answer>", "</answer>"]])
    assert tok.token_to_id("<|endoftext|>") == 256 and tok.token_to_id("</answer>") == 260
    return tok


TEXTS = [
    "What is 12 + 7?\n",
    "12 + 7 = 19\n<answer>19</answer>",
    " <think> 3 * 4 = 12 </think> <answer> 12 </answer>",
    "<answer><answer></answer>x</answer",
    "caf\u00e9 \u2014 na\u00efve \U0001F600 \u4e2d\u6587",
    "tabs\tand\r\nnewlines\n\n  spaces  ",
    "<|endoftext|>after the end",
    "".join(chr(c) for c in range(1, 128)),
]


def write_tokenizer_cases(tok):
    ids = [tok.encode(t).ids for t in TEXTS]
    decoded = [tok.decode(i, skip_special_tokens=False) for i in ids]
    with open(os.path.join(OUT, "tokenizer_cases.json"), "w") as f:
        json.dump({"texts": TEXTS, "ids": ids, "decoded": decoded}, f, ensure_ascii=True)


def make_data():
    pairs = []
    nums = [(12, 7, "+"), (45, 38, "-"), (9, 91, "+"), (70, 3, "-"), (25, 25, "+"), (8, 60, "-"), (33, 44, "+"),
            (99, 1, "+"), (51, 16, "-")]
    for a, b, op in nums:
        r = a + b if op == "+" else a - b
        pairs.append({"prompt": f"What is {a} {op} {b}?\n", "completion": f"{a} {op} {b} = {r}\n<answer>{r}</answer>"})
    pairs.append({"prompt": "User: 3 * 4? Assistant: <think>", "completion": " 3 * 4 = 12 </think> <answer> 12 </answer>",
                  "id": "extra field, ignored"})
    lines = [json.dumps(p) for p in pairs]
    lines.insert(5, "")  # a blank line, skipped
    with open(os.path.join(OUT, "data.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return pairs


def lr_at(k):
    if k < WARMUP:
        return LR * (k + 1) / WARMUP
    p = min(1.0, (k - WARMUP) / max(1, STEPS - WARMUP))
    m = MIN_RATIO * LR
    return m + (LR - m) * 0.5 * (1 + math.cos(math.pi * p))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    tok = build_tokenizer()
    write_tokenizer_cases(tok)
    pairs = make_data()

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=261, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                      tie_word_embeddings=True, bos_token_id=None, eos_token_id=256, pad_token_id=None)
    model = LlamaForCausalLM(cfg).float()
    model.config._attn_implementation = "eager"
    mdir = os.path.join(OUT, "model")
    model.save_pretrained(mdir, safe_serialization=True)
    tok.save(os.path.join(mdir, "tokenizer.json"))
    with open(os.path.join(mdir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>"}, f, indent=1)

    examples = []
    for p in pairs:
        pi = tok.encode(p["prompt"]).ids
        ci = tok.encode(p["completion"]).ids + [256]
        examples.append((pi, ci))

    params = [p for p in model.parameters()]  # tied: the shared tensor appears once
    decay = [p for p in params if p.dim() == 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95), eps=1e-8)
    model.train()
    steps = []
    for k in range(STEPS):
        batch = [examples[(BATCH * k + i) % len(examples)] for i in range(BATCH)]
        K = sum(len(c) for _, c in batch)
        opt.zero_grad(set_to_none=False)
        nll_total = 0.0
        for m0 in range(0, BATCH, MICRO):
            micro = batch[m0:m0 + MICRO]
            T = max(len(p) + len(c) for p, c in micro)
            ids = torch.zeros((len(micro), T), dtype=torch.long)
            mask = torch.zeros((len(micro), T), dtype=torch.long)
            tgt = torch.full((len(micro), T), -100, dtype=torch.long)
            for b, (p, c) in enumerate(micro):
                seq = p + c
                ids[b, :len(seq)] = torch.tensor(seq)
                mask[b, :len(seq)] = 1
                for t in range(len(p) - 1, len(seq) - 1):
                    tgt[b, t] = seq[t + 1]
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
            lp = torch.log_softmax(logits, dim=-1)
            sel = tgt >= 0
            picked = lp[sel].gather(1, tgt[sel].unsqueeze(1)).squeeze(1)
            nll = -picked.sum()
            (nll / K).backward()
            nll_total += float(nll.detach().double())
        norm = float(torch.nn.utils.clip_grad_norm_(params, CLIP))
        lr = lr_at(k)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        steps.append({"step": k + 1, "loss": nll_total / K, "grad_norm": norm, "lr": lr, "completion_tokens": K})
        print(f"step {k + 1}: loss {nll_total / K:.6f} grad_norm {norm:.5f} lr {lr:.5g}")

    settings = {"steps": STEPS, "batch_size": BATCH, "micro_batch_size": MICRO, "lr": LR, "warmup_steps": WARMUP,
                "schedule": "cosine", "min_lr_ratio": MIN_RATIO, "weight_decay": WD, "max_grad_norm": CLIP,
                "betas": [0.9, 0.95], "eps": 1e-8, "shuffle": False}
    versions = {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                "tokenizers": __import__("tokenizers").__version__}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump({"settings": settings, "versions": versions, "steps": steps}, f, indent=1)
    fdir = os.path.join(OUT, "final")
    model.save_pretrained(fdir, safe_serialization=True)
    for extra in ("generation_config.json",):
        path = os.path.join(fdir, extra)
        if os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()
