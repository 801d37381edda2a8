#!/usr/bin/env python3
"""The PyTorch side of `rlvr bench model`: the same model shape, batch and
timing method through Hugging Face transformers, float32, torch eager (no
torch.compile), on the CPU.

Run (no network needed; the config comes from rlvr):
    build/rlvr bench model --shape smollm2-135m --write-config /tmp/shape
    /work/venv-ref/bin/python bench/torch_model.py --config /tmp/shape \
        --batch 4 --seq 256 --decode-batch 8 --prompt 64 --gen 32 --threads 2 --iters 5
bench/compare_model.sh does both and prints the ratio. Measured with the venv
at /work/venv-ref: pip install torch==2.15.0 transformers==5.24.0 (CPU wheels).

Phases (each: one untimed warm-up iteration, then the median of --iters):
  fwdbwd   model.zero_grad(); logits of B x T tokens; loss = sum over every
           position of log_softmax(logits)[next token] (targets are tokens
           1..T of B random rows of T+1); loss.backward(). B*T tokens.
  fwd      the same forward and log-probs under torch.inference_mode().
  prefill  decode-batch prompts of P random tokens, use_cache=True,
           logits_to_keep=1 (the last position's logits only, as rlvr's
           prefill). decode-batch*P tokens.
  decode   N greedy steps: argmax of the last logits, one forward of one token
           per sequence with the KV cache (transformers' DynamicCache).
           decode-batch*N tokens. A manual loop rather than model.generate so
           that prefill and decode are timed apart; it does less per step than
           generate (no logits processors or stopping criteria), so it is the
           stronger baseline.
Each phase also reports CPU seconds (all threads) per 1000 tokens.

--json prints the same keys as `rlvr bench model --json` ("impl": "torch").
"""
import argparse
import inspect
import json
import os
import resource
import statistics
import sys
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def cpu_now():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


class Phase:
    def __init__(self, name, tokens):
        self.name, self.tokens, self.wall, self.cpu = name, tokens, [], 0.0

    def add(self, dw, dc):
        self.wall.append(dw)
        self.cpu += dc

    def summary(self):
        med = statistics.median(self.wall)
        return {
            "tokens": self.tokens,
            "tok_per_s": self.tokens / med,
            "median_s": med,
            "min_s": min(self.wall),
            "max_s": max(self.wall),
            "cpu_s_per_ktok": 1000.0 * self.cpu / (self.tokens * len(self.wall)),
            "iters": len(self.wall),
            "times_s": self.wall,
        }


def run_forward(model, args, gen, V, phases):
    B, T = args.batch, args.seq
    rows = torch.randint(0, V, (B, T + 1), generator=gen)
    ids, targets = rows[:, :T].contiguous(), rows[:, 1:].contiguous()
    out = []

    def logprob_sum():
        logits = model(input_ids=ids, use_cache=False).logits  # (B, T, V)
        lp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return lp.sum()

    if "fwdbwd" in phases:
        model.train()  # no dropout in these configs; the training mode as a learner runs it
        p = Phase("fwdbwd", B * T)
        for it in range(args.iters + 1):
            w0, c0 = time.perf_counter(), cpu_now()
            model.zero_grad()
            loss = logprob_sum()
            loss.backward()
            dw, dc = time.perf_counter() - w0, cpu_now() - c0
            if it > 0:
                p.add(dw, dc)
            del loss
        model.zero_grad()
        out.append(p)
    if "fwd" in phases:
        model.eval()
        p = Phase("fwd", B * T)
        with torch.inference_mode():
            for it in range(args.iters + 1):
                w0, c0 = time.perf_counter(), cpu_now()
                s = logprob_sum()
                dw, dc = time.perf_counter() - w0, cpu_now() - c0
                if it > 0:
                    p.add(dw, dc)
                del s
        out.append(p)
    return out


def run_decode(model, args, gen, V):
    B, P, N = args.decode_batch, args.prompt, args.gen
    prompt = torch.randint(0, V, (B, P), generator=gen)
    pre, dec = Phase("prefill", B * P), Phase("decode", B * N)
    # transformers 5.x names the cache argument and output `cache`; 4.x `past_key_values`.
    key = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    model.eval()
    with torch.inference_mode():
        for it in range(args.iters + 1):
            w0, c0 = time.perf_counter(), cpu_now()
            o = model(input_ids=prompt, use_cache=True, logits_to_keep=1)
            past, logits = o[key], o.logits[:, -1]
            w1, c1 = time.perf_counter(), cpu_now()
            for _ in range(N):
                nxt = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
                o = model(input_ids=nxt, use_cache=True, **{key: past})
                past, logits = o[key], o.logits[:, -1]
            w2, c2 = time.perf_counter(), cpu_now()
            if it > 0:
                pre.add(w1 - w0, c1 - c0)
                dec.add(w2 - w1, c2 - c1)
            del past, o, logits
    return [pre, dec]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="directory with config.json (rlvr bench model --write-config)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--decode-batch", type=int, default=0, help="default: --batch")
    ap.add_argument("--prompt", type=int, default=64)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's own)")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--phases", default="fwdbwd,fwd,decode")
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"],
                    help="transformers attention implementation (default sdpa, its own default)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.decode_batch:
        args.decode_batch = args.batch
    phases = set(args.phases.split(","))
    if not phases <= {"fwdbwd", "fwd", "decode"}:
        ap.error("--phases: subset of fwdbwd,fwd,decode")
    if min(args.batch, args.seq, args.decode_batch, args.prompt, args.gen, args.iters) < 1:
        ap.error("sizes and --iters must be >= 1")

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    config = AutoConfig.from_pretrained(args.config)
    model = AutoModelForCausalLM.from_config(config, attn_implementation=args.attn, dtype=torch.float32)
    model = model.float()
    V = config.vocab_size
    nparams = sum(p.numel() for p in model.parameters())  # tied weights counted once

    if not args.json:
        print(f"torch bench model: {args.config} ({config.model_type}, {nparams / 1e6:.1f}M params), float32, "
              f"attn {args.attn}, threads {torch.get_num_threads()}, torch {torch.__version__}", flush=True)
    results = []
    if phases & {"fwdbwd", "fwd"}:
        results += run_forward(model, args, gen, V, phases)
    if "decode" in phases:
        results += run_decode(model, args, gen, V)
    rss = peak_rss_mb()

    if args.json:
        doc = {"impl": "torch", "shape": args.config, "arch": config.model_type, "params": nparams,
               "threads": torch.get_num_threads(), "batch": args.batch, "seq": args.seq,
               "decode_batch": args.decode_batch, "prompt": args.prompt, "gen": args.gen, "iters": args.iters,
               "peak_rss_mb": rss, "attn": args.attn, "torch": torch.__version__}
        for p in results:
            doc[p.name] = p.summary()
        json.dump(doc, sys.stdout, indent=1)
        print()
    else:
        for p in results:
            s = p.summary()
            if p.name in ("fwdbwd", "fwd"):
                what = f"B={args.batch} T={args.seq}"
            elif p.name == "prefill":
                what = f"B={args.decode_batch} P={args.prompt}"
            else:
                what = f"B={args.decode_batch} N={args.gen}"
            print(f"{p.name:<8} {what:<14} {s['tok_per_s']:10.1f} tok/s  median {s['median_s']:.4f} s of "
                  f"{s['iters']} (min {s['min_s']:.4f}, max {s['max_s']:.4f})  cpu {s['cpu_s_per_ktok']:.3f} s/1k tok")
        print(f"peak RSS {rss:.1f} MB, threads {torch.get_num_threads()}")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
