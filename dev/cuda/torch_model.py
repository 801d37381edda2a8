"""torch_model.py — the PyTorch peer of tests/gpu/bench_cuda_model: the same
model shapes (Qwen2.5-0.5B and 1.5B, random weights), the same phases, batch
sizes and timing method, in PyTorch eager (torch.compile is not used), bf16.
It prints rows "| model | phase | shape | value | unit | note |" whose first
three fields match bench_cuda_model's, so tests/gpu/check.sh can join them
into ratios.

The model: Hugging Face transformers' Qwen2ForCausalLM (attention "sdpa")
when transformers is installed, else a hand-written Qwen2 (the same
computation: RMSNorm, q/k/v with bias, RoPE, GQA through
F.scaled_dot_product_attention, SwiGLU, tied lm_head; --selfcheck compares
it with transformers' on a tiny config). --impl picks one.

Phases (each one untimed warm-up where it says so; host wall clock around
work that ends in a synchronisation):
  decode   prompts of 512 random tokens at batch 64 and 256: a prefill (the
           base model over the prompts with use_cache, the lm_head on the last
           position only), then steps: sample one token per sequence from
           softmax(logits) (temperature 1, torch.multinomial), bring the tokens
           to the host (a rollout must, to see stops; bench_cuda_model does
           the same), run the model on them with the KV cache (transformers'
           own cache object; a preallocated one for the hand-written model).
           Up to 512 tokens per sequence, stopped at the phase's time cap.
           Model weights in bf16 (no fp32 master copy: inference only).
  train    8 x 512 random tokens: fp32 parameters, torch.autocast(bf16)
           forward, loss = -mean log_softmax(logits.float())[next token]
           (the last position has no target), backward;
           clip_grad_norm_(1.0); torch.optim.AdamW (fused on CUDA); zero_grad.
           One warm-up step, then up to 3 timed within the cap. "fwd+bwd" is
           the forward and backward alone, "step" all of it.
  MFU      FLOPs per token = 6 N + 6 L H D T (as bench_cuda_model: N the
           parameters that take part in products, causal attention counted
           at half of 12 L H D T), over the dense bf16 peak of the data sheet
           (H100 SXM and H200 989 TFLOP/s).
  memory   device total in use at the phase's peak: what was in use before
           any tensor (CUDA context) + torch.cuda.max_memory_reserved() over
           the phase (the caching allocator's peak).

Run:
  python3 dev/cuda/torch_model.py [--model 0.5b|1.5b|all] [--budget S]
  python3 dev/cuda/torch_model.py --tiny --device cpu   (a smoke run, no GPU)
  python3 dev/cuda/torch_model.py --selfcheck           (hand-written vs
                                                          transformers, CPU)
Checked here (no GPU) with /work/venv-ref (torch 2.15.0, transformers
5.24.0): --tiny --device cpu with --impl hf and --impl manual, and
--selfcheck. Status: not yet run on a GPU.
"""
import time

T_START = time.time()  # --budget counts from here, before torch's import

import argparse
import math
import sys
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

# name, V, C, F, L, H, KVH, D, tied (Qwen2.5's config.json values; all have q/k/v bias, rope_theta 1e6)
SHAPES = {
    "0.5b": ("Qwen2.5-0.5B", 151936, 896, 4864, 24, 14, 2, 64, True),
    "1.5b": ("Qwen2.5-1.5B", 151936, 1536, 8960, 28, 12, 2, 128, True),
    "tiny": ("tiny", 1000, 128, 256, 2, 4, 2, 32, True),
}


def num_params(V, C, Fd, L, H, KVH, D, tied):
    per_layer = 2 * C + (H + 2 * KVH) * D * C + (H + 2 * KVH) * D + H * D * C + 3 * Fd * C
    return V * C * (1 if tied else 2) + L * per_layer + C


def matmul_params(V, C, Fd, L, H, KVH, D, tied):
    return num_params(V, C, Fd, L, H, KVH, D, tied) - (0 if tied else V * C)


# ---------------------------------------------------------------------------
# the hand-written Qwen2 (transformers' Qwen2 computation, module for module)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, C, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(C))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


_GQA = None  # whether F.scaled_dot_product_attention takes enable_gqa


def sdpa(q, k, v, causal):
    global _GQA
    if q.shape[1] != k.shape[1]:
        if _GQA is None:
            try:
                F.scaled_dot_product_attention(q[:1, :, :1], k[:1, :, :1], v[:1, :, :1], enable_gqa=True)
                _GQA = True
            except TypeError:
                _GQA = False
        if _GQA:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        g = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


class Block(nn.Module):
    def __init__(self, C, Fd, H, KVH, D, eps):
        super().__init__()
        self.H, self.KVH, self.D = H, KVH, D
        self.ln1, self.ln2 = RMSNorm(C, eps), RMSNorm(C, eps)
        self.q = nn.Linear(C, H * D, bias=True)
        self.k = nn.Linear(C, KVH * D, bias=True)
        self.v = nn.Linear(C, KVH * D, bias=True)
        self.o = nn.Linear(H * D, C, bias=False)
        self.gate = nn.Linear(C, Fd, bias=False)
        self.up = nn.Linear(C, Fd, bias=False)
        self.down = nn.Linear(Fd, C, bias=False)

    def forward(self, x, cos, sin, cache=None, pos0=0):
        B, T, _ = x.shape
        if T > 1 and pos0 > 0:
            raise ValueError("chunked prefill after a prefix is not supported")
        h = self.ln1(x)
        q = self.q(h).view(B, T, self.H, self.D).transpose(1, 2)
        k = self.k(h).view(B, T, self.KVH, self.D).transpose(1, 2)
        v = self.v(h).view(B, T, self.KVH, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:  # (k_cache, v_cache), each (B, KVH, max_len, D)
            kc, vc = cache
            kc[:, :, pos0:pos0 + T] = k
            vc[:, :, pos0:pos0 + T] = v
            k, v = kc[:, :, :pos0 + T], vc[:, :, :pos0 + T]
        # one new row over a longer context attends to all of it; else causal
        a = sdpa(q, k, v, causal=T > 1)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, self.H * self.D))
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class ManualQwen2(nn.Module):
    def __init__(self, V, C, Fd, L, H, KVH, D, tied, eps=1e-6, theta=1e6):
        super().__init__()
        self.D, self.theta = D, theta
        self.embed = nn.Embedding(V, C)
        self.layers = nn.ModuleList([Block(C, Fd, H, KVH, D, eps) for _ in range(L)])
        self.norm = RMSNorm(C, eps)
        self.lm_head = nn.Linear(C, V, bias=False)
        if tied:
            self.lm_head.weight = self.embed.weight
        for mod in self.modules():  # transformers' init: normal(0, 0.02), zero biases
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, std=0.02)
                if getattr(mod, "bias", None) is not None:
                    nn.init.zeros_(mod.bias)

    def rope(self, pos0, T, dtype, device):
        inv = 1.0 / (self.theta ** (torch.arange(0, self.D, 2, device=device, dtype=torch.float32) / self.D))
        ang = torch.arange(pos0, pos0 + T, device=device, dtype=torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def hidden(self, ids, caches=None, pos0=0):
        x = self.embed(ids)
        cos, sin = self.rope(pos0, ids.shape[1], x.dtype, x.device)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i], pos0)
        return self.norm(x)

    def forward(self, ids):
        return self.lm_head(self.hidden(ids))


# ---------------------------------------------------------------------------
# the two implementations behind one interface


class Impl:
    """build(), logits(ids) for training, prefill(prompt) / step(tokens) for decoding."""

    def __init__(self, kind, shape, dev):
        self.kind, self.dev = kind, dev
        _, V, C, Fd, L, H, KVH, D, tied = shape
        self.V, self.L, self.KVH, self.D = V, L, KVH, D
        if kind == "hf":
            from transformers import AutoModelForCausalLM, Qwen2Config
            cfg = Qwen2Config(vocab_size=V, hidden_size=C, intermediate_size=Fd, num_hidden_layers=L,
                              num_attention_heads=H, num_key_value_heads=KVH,
                              max_position_embeddings=2048 if V == 1000 else 32768, rope_theta=1e6,
                              rms_norm_eps=1e-6, tie_word_embeddings=tied, use_sliding_window=False)
            with torch.device(dev):
                self.model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa")
            self.model.to(dev)
            self.model.config.use_cache = False
        else:
            with torch.device(dev):
                self.model = ManualQwen2(V, C, Fd, L, H, KVH, D, tied)
            self.model.to(dev)

    def logits(self, ids):
        if self.kind == "hf":
            return self.model(input_ids=ids, use_cache=False).logits
        return self.model(ids)

    # decoding: returns the last position's logits (B, V)
    def prefill(self, prompt, max_len):
        m = self.model
        if self.kind == "hf":
            key = "cache" if "cache" in self._forward_args() else "past_key_values"
            kw = {}
            try:  # a cache object from the start (4.4x would otherwise return and convert the legacy tuples)
                from transformers import DynamicCache
                kw[key] = DynamicCache()
            except Exception:
                pass
            out = m.model(input_ids=prompt, use_cache=True, **kw)
            self.cache = out["cache"] if "cache" in out.keys() else out["past_key_values"]
            return m.lm_head(out.last_hidden_state[:, -1])
        B, P = prompt.shape
        dt = m.embed.weight.dtype
        self.caches = [(torch.empty(B, self.KVH, max_len, self.D, dtype=dt, device=prompt.device),
                        torch.empty(B, self.KVH, max_len, self.D, dtype=dt, device=prompt.device))
                       for _ in range(self.L)]
        self.pos = P
        return m.lm_head(m.hidden(prompt, self.caches, 0)[:, -1])

    def step(self, tok):  # tok (B, 1)
        m = self.model
        if self.kind == "hf":
            key = "cache" if "cache" in self._forward_args() else "past_key_values"
            out = m.model(input_ids=tok, use_cache=True, **{key: self.cache})
            self.cache = out["cache"] if "cache" in out.keys() else out["past_key_values"]
            return m.lm_head(out.last_hidden_state[:, -1])
        h = m.hidden(tok, self.caches, self.pos)
        self.pos += 1
        return m.lm_head(h[:, -1])

    def _forward_args(self):
        import inspect
        if not hasattr(self, "_args"):
            self._args = set(inspect.signature(self.model.model.forward).parameters)
        return self._args

    def release(self):
        self.cache = None
        self.caches = None


# ---------------------------------------------------------------------------
# timing and rows


class Run:
    def __init__(self, dev, budget, peak):
        self.dev, self.peak = dev, peak
        self.deadline = T_START + budget if budget > 0 else float("inf")
        self.model_name = ""
        self.failed = False
        self.auto = False
        self.base = 0
        if dev == "cuda":
            free, total = torch.cuda.mem_get_info()
            self.base = total - free  # the CUDA context (and anything else on the GPU)

    def sync(self):
        if self.dev == "cuda":
            torch.cuda.synchronize()

    def row(self, phase, shape, value, unit, note=""):
        print(f"| {self.model_name} | {phase} | {shape} | {value:.4g} | {unit} | {note} |", flush=True)

    def cap(self, nominal, later, reserve):
        left = self.deadline - time.time() - reserve
        return min(nominal, left * nominal / (nominal + later))

    def mem_reset(self):
        if self.dev == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def mem_row(self, phase, shape, what):
        if self.dev != "cuda":
            return
        gib = (self.base + torch.cuda.max_memory_reserved()) / 2**30
        self.row(phase, shape, gib, "GiB", f"device total in use at the peak: context {self.base / 2**30:.2f} GiB + "
                 f"allocator reserved; {what}; max allocated {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


def bench_decode(run, impl, batch, P, S, cap, gen):
    shape = f"batch {batch}, {P}+{S}"
    run.mem_reset()
    prompt = torch.randint(0, impl.V, (batch, P), generator=gen).to(run.dev)
    with torch.inference_mode():
        run.sync()
        t0 = time.time()
        logits = impl.prefill(prompt, P + S)
        run.sync()
        t_pre = time.time() - t0
        run.row("decode prefill", shape, batch * P / t_pre, "tokens/s",
                f"{t_pre:.3f} s for {batch * P} prompt tokens (the first call)")
        steps, t_gen = 0, 0.0
        t0 = time.time()
        while steps < S and (steps == 0 or t_gen < cap):
            probs = torch.softmax(logits.float(), dim=-1)
            tok = torch.multinomial(probs, 1)  # (B, 1)
            tok.cpu()  # to the host, as a rollout must
            if steps + 1 < S:
                logits = impl.step(tok)
            steps += 1
            t_gen = time.time() - t0
        run.sync()
        t_gen = time.time() - t0
    capped = " (stopped at the time cap: shorter contexts than the full run)" if steps < S else ""
    run.row("decode generate", shape, batch * steps / t_gen, "tokens/s",
            f"{steps} of {S} steps{capped}, {1e3 * t_gen / steps:.2f} ms per step")
    run.mem_row("decode memory", shape, "bf16 weights, KV cache, logits")
    impl.release()
    del logits, prompt


def bench_train(run, impl, shape_t, B, T, cap, gen):
    shape = f"{B} x {T} tokens"
    name, V, C, Fd, L, H, KVH, D, tied = shape_t
    run.mem_reset()
    model = impl.model
    model.float().train()
    fused = run.dev == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                            fused=fused) if fused else torch.optim.AdamW(model.parameters(), lr=1e-6)
    rows = torch.randint(0, V, (B, T), generator=gen).to(run.dev)
    tg = torch.cat((rows[:, 1:], torch.zeros(B, 1, dtype=rows.dtype, device=rows.device)), dim=1)
    mask = torch.ones(B, T, device=rows.device)
    mask[:, -1] = 0
    n = B * T
    amp = torch.autocast(device_type=run.dev, dtype=torch.bfloat16)
    t_fb = t_all = 0.0
    reps = 0
    start = time.time()
    for r in range(4):  # the first is a warm-up
        if r > 0 and time.time() - start >= cap:
            break
        run.sync()
        t0 = time.time()
        with amp:
            logits = impl.logits(rows)
        lp = torch.log_softmax(logits.float(), dim=-1).gather(-1, tg.unsqueeze(-1)).squeeze(-1)
        loss = -(lp * mask).sum() / n
        loss.backward()
        run.sync()
        t1 = time.time()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        run.sync()
        t2 = time.time()
        del logits, lp, loss
        if r > 0:
            t_fb += t1 - t0
            t_all += t2 - t0
            reps += 1
    if reps == 0:
        run.row("train step (fwd+bwd+clip+AdamW)", shape, 0, "tokens/s", "no timed repetition within the time cap")
    else:
        t_fb /= reps
        t_all /= reps
        flops = (6.0 * matmul_params(V, C, Fd, L, H, KVH, D, tied) + 6.0 * L * H * D * T) * n
        run.row("train fwd+bwd", shape, n / t_fb, "tokens/s",
                f"mean of {reps} after a warm-up; forward+backward {1e3 * t_fb:.1f} ms")
        run.row("train step (fwd+bwd+clip+AdamW)", shape, n / t_all, "tokens/s",
                f"{1e3 * t_all:.1f} ms: fwd+bwd, clip_grad_norm_ 1.0, AdamW{' (fused)' if fused else ''}")
        if run.peak > 0:
            run.row("train fwd+bwd MFU", shape, 100.0 * flops / t_fb / run.peak, "%",
                    f"{flops / t_fb / 1e12:.1f} TFLOP/s; {flops / n:.3g} FLOP/token")
            run.row("train step MFU", shape, 100.0 * flops / t_all / run.peak, "%",
                    f"{flops / t_all / 1e12:.1f} TFLOP/s over the whole step, of {run.peak / 1e12:.0f} TFLOP/s")
    run.mem_row("train memory", shape, "fp32 params, grads, AdamW, autocast activations")
    del opt, rows, tg, mask


def bench_model(run, key, kind, small, gen):
    shape_t = SHAPES[key]
    name, V, C, Fd, L, H, KVH, D, tied = shape_t
    run.model_name = name
    P = S = 32 if small else 512
    b1, b2 = (4, 8) if small else (64, 256)
    TB, TT = (2, 64) if small else (8, 512)
    cap1, cap2, cap3 = (30, 30, 30) if small else (6, 10, 5)
    big = num_params(V, C, Fd, L, H, KVH, D, tied) / 1e9
    t0 = time.time()
    torch.manual_seed(1)
    try:
        impl = Impl(kind, shape_t, run.dev)
    except Exception as e:
        if kind != "hf" or not run.auto:
            raise
        # transformers is there but cannot build this model: the hand-written one
        print(f"transformers' Qwen2 could not be built ({type(e).__name__}: {e}); using the hand-written Qwen2",
              file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        kind = "manual"
        impl = Impl(kind, shape_t, run.dev)
    impl.model.to(torch.bfloat16).eval()
    run.sync()
    counted = sum(p.numel() for p in impl.model.parameters())
    run.row("setup", "bf16 weights and activations", counted / 1e6, "M params",
            f"{'transformers Qwen2ForCausalLM (sdpa)' if kind == 'hf' else 'hand-written Qwen2'}, random weights, "
            f"built in {time.time() - t0:.1f} s; rlvr's count {num_params(V, C, Fd, L, H, KVH, D, tied) / 1e6:.1f}M")
    phases = [
        ("decode", lambda: bench_decode(run, impl, b1, P, S, run.cap(cap1, cap2 + cap3, 2 + 4 * big), gen)),
        ("decode", lambda: bench_decode(run, impl, b2, P, S, run.cap(cap2, cap3, 1 + 3 * big), gen)),
        ("train", lambda: bench_train(run, impl, shape_t, TB, TT, run.cap(cap3, 0, 1 + big), gen)),
    ]
    for what, fn in phases:
        try:
            fn()
        except Exception as e:  # one phase's failure (out of memory, an API change) must not lose the others
            oom = "out of memory" in str(e).lower()
            run.row(f"{what} failed", "", 0, "", f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")
            traceback.print_exc(file=sys.stderr)
            run.failed = run.failed or not oom
            if run.dev == "cuda":
                impl.release()
                torch.cuda.empty_cache()
    del impl
    if run.dev == "cuda":
        torch.cuda.empty_cache()


def selfcheck():
    """The hand-written Qwen2 against transformers' on a tiny config, float32
    on the CPU: logits of a batch, and decoding with the cache against the
    full forward."""
    from transformers import AutoModelForCausalLM, Qwen2Config
    name, V, C, Fd, L, H, KVH, D, tied = SHAPES["tiny"]
    torch.manual_seed(3)
    cfg = Qwen2Config(vocab_size=V, hidden_size=C, intermediate_size=Fd, num_hidden_layers=L, num_attention_heads=H,
                      num_key_value_heads=KVH, max_position_embeddings=2048, rope_theta=1e6, rms_norm_eps=1e-6,
                      tie_word_embeddings=tied, use_sliding_window=False)
    hf = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa").float().eval()
    for p in hf.parameters():  # non-trivial norms and biases too
        with torch.no_grad():
            p.add_(0.05 * torch.randn_like(p))
    mine = ManualQwen2(V, C, Fd, L, H, KVH, D, tied).float().eval()
    sd = hf.state_dict()
    with torch.no_grad():
        mine.embed.weight.copy_(sd["model.embed_tokens.weight"])
        mine.norm.weight.copy_(sd["model.norm.weight"])
        for i, b in enumerate(mine.layers):
            pre = f"model.layers.{i}."
            b.ln1.weight.copy_(sd[pre + "input_layernorm.weight"])
            b.ln2.weight.copy_(sd[pre + "post_attention_layernorm.weight"])
            for mod, hn in ((b.q, "self_attn.q_proj"), (b.k, "self_attn.k_proj"), (b.v, "self_attn.v_proj"),
                            (b.o, "self_attn.o_proj"), (b.gate, "mlp.gate_proj"), (b.up, "mlp.up_proj"),
                            (b.down, "mlp.down_proj")):
                mod.weight.copy_(sd[pre + hn + ".weight"])
                if mod.bias is not None:
                    mod.bias.copy_(sd[pre + hn + ".bias"])
    ids = torch.randint(0, V, (3, 17))
    with torch.no_grad():
        want = hf(input_ids=ids, use_cache=False).logits
        got = mine(ids)
        d_full = (want - got).abs().max().item()
        impl = Impl.__new__(Impl)
        impl.kind, impl.model, impl.V, impl.L, impl.KVH, impl.D = "manual", mine, V, L, KVH, D
        rows = [impl.prefill(ids[:, :9], 17)]
        for t in range(9, 17):
            rows.append(impl.step(ids[:, t:t + 1]))
        got_dec = torch.stack(rows[:-1], dim=1)  # logits after positions 8..15
        d_dec = (want[:, 8:16] - got_dec).abs().max().item()
        hfi = Impl.__new__(Impl)
        hfi.kind, hfi.model, hfi.V = "hf", hf, V
        rows = [hfi.prefill(ids[:, :9], 17)]
        for t in range(9, 16):
            rows.append(hfi.step(ids[:, t:t + 1]))
        d_hfdec = (want[:, 8:16] - torch.stack(rows, dim=1)).abs().max().item()
    scale = want.abs().max().item()
    ok = d_full < 1e-4 * scale + 1e-5 and d_dec < 1e-4 * scale + 1e-5 and d_hfdec < 1e-4 * scale + 1e-5
    print(f"{'ok  ' if ok else 'FAIL'} hand-written Qwen2 vs transformers (tiny, fp32, CPU): logits max diff "
          f"{d_full:.3g}, decode with the cache vs the full forward {d_dec:.3g}; transformers' own decode path "
          f"{d_hfdec:.3g} (max |logit| {scale:.3g})")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all", choices=["0.5b", "1.5b", "all"])
    ap.add_argument("--tiny", action="store_true", help="a tiny model and batches (a smoke run)")
    ap.add_argument("--small", action="store_true", help="the same as --tiny (check.sh's flag)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--impl", default="auto", choices=["auto", "hf", "manual"])
    ap.add_argument("--budget", type=float, default=0, help="seconds for the whole run (phases shrink their caps)")
    ap.add_argument("--peak-tflops", type=float, default=-1, help="the bf16 peak (default: by the device's name)")
    ap.add_argument("--selfcheck", action="store_true")
    args = ap.parse_args()
    if args.selfcheck:
        return selfcheck()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device for PyTorch: skipped")
        return 77
    kind = args.impl
    tf = "not installed"
    try:
        import transformers
        from transformers import Qwen2Config  # noqa: F401 (Qwen2 since transformers 4.37)
        tf = transformers.__version__
    except Exception as e:  # missing, or too old for Qwen2
        if kind == "hf":
            raise
        tf = f"not usable ({type(e).__name__})"
    if kind == "auto":
        kind = "manual" if tf.startswith("not") else "hf"
    peak = args.peak_tflops * 1e12
    devname = "CPU"
    if args.device == "cuda":
        devname = torch.cuda.get_device_name(0)
        if args.peak_tflops < 0:
            peak = 756e12 if "H100" in devname and "PCIe" in devname else 835e12 if "H100" in devname and "NVL" in \
                devname else 989e12 if ("H100" in devname or "H200" in devname) else 0
    peak = max(peak, 0)
    print(f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}), transformers {tf}, on {devname}; model: "
          f"{'transformers Qwen2ForCausalLM, sdpa attention' if kind == 'hf' else 'hand-written Qwen2 (sdpa)'}; "
          f"bf16; eager (torch.compile not used); bf16 peak {peak / 1e12:.0f} TFLOP/s", flush=True)
    print("| model | phase | shape | value | unit | note |\n|---|---|---|---|---|---|", flush=True)
    run = Run(args.device, args.budget, peak)
    run.auto = args.impl == "auto"
    gen = torch.Generator().manual_seed(1)
    small = args.tiny or args.small
    keys = ["tiny"] if small else (["0.5b", "1.5b"] if args.model == "all" else [args.model])
    for key in keys:
        if run.deadline - time.time() < 10:
            run.model_name = SHAPES[key][0]
            run.row("not run", "", 0, "", "the time budget is spent")
            continue
        bench_model(run, key, kind, small, gen)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
