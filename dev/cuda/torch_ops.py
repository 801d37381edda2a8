"""torch_ops.py — the peer of lab_ops_bench: the same ops at the same shapes
(Qwen2.5-0.5B and 1.5B, bf16, a 4,096-token micro-batch) in PyTorch eager,
the way a Python GRPO trainer runs them, timed the same way (CUDA events, L2
cleared before each launch, mean of the timed repetitions after a warm-up).
Prints rows "| model | op | shape | us |" whose first three fields match
lab_ops_bench's, so that tests/gpu/check.sh can join them into ratios.

What each PyTorch row runs (where it is not the same work, it says so):
  linear fwd / dX / dW   F.linear, dY @ W, dY^T @ X (bf16 out; ours writes
                         float32 dW)
  rmsnorm fwd / bwd      F.rms_norm; autograd.grad of it
  swiglu fwd / bwd       F.silu(g) * u; autograd.grad of it
  residual               a.add_(b)
  rope fwd (q)           transformers' apply_rotary_pos_emb on q (B, H, T, D)
  attention fwd / bwd    F.scaled_dot_product_attention, causal, GQA (flash)
  logsoftmax fwd         log_softmax in float32, gather, entropy
  logsoftmax bwd         autograd.grad of sum(w * logprob + u * entropy)
  sample                 softmax(z / T), top-k, top-p by sorting, multinomial
  grad norm              torch.linalg.vector_norm over one flat tensor
  adamw                  torch.optim.AdamW(fused=True) on one flat tensor
                         (no bf16 copy)

Run: python3 dev/cuda/torch_ops.py [--small]   (needs torch with CUDA)
Status: written, not yet run on a GPU.
"""
import sys

import torch
import torch.nn.functional as F

dev = "cuda"
props = torch.cuda.get_device_properties(0)
l2 = getattr(props, "L2_cache_size", 50 << 20)
flush = torch.empty(max(2 * l2, 64 << 20), dtype=torch.uint8, device=dev)
start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)


def time_ms(fn, reps):
    fn()
    torch.cuda.synchronize()
    total = 0.0
    for r in range(reps):
        flush.fill_(r & 0xFF)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        total += start.elapsed_time(stop)
    return total / reps


def row(model, op, shape, ms):
    print(f"| {model} | {op} | {shape} | {ms * 1e3:.1f} |", flush=True)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def bench_model(name, C, Fd, H, KVH, D, V, L, Ntok, seqs, reps):
    bf = torch.bfloat16
    QKV, HD = (H + 2 * KVH) * D, H * D
    x = torch.randn(Ntok, max(Fd, C), device=dev, dtype=bf)
    for op, N, K in [("qkv", QKV, C), ("o_proj", C, HD), ("gate/up", Fd, C), ("down", C, Fd), ("lm_head", V, C)]:
        xi, w = x[:, :K].contiguous(), torch.randn(N, K, device=dev, dtype=bf) * 0.02
        dy = torch.randn(Ntok, N, device=dev, dtype=bf)
        sh = f"{Ntok}x{N}x{K}"
        row(name, f"linear fwd {op}", sh, time_ms(lambda: F.linear(xi, w), reps))
        row(name, f"linear dX {op}", sh, time_ms(lambda: dy @ w, reps))
        row(name, f"linear dW {op} (f32 out)", sh, time_ms(lambda: dy.t() @ xi, reps))
        del xi, w, dy
    # rmsnorm
    xc = torch.randn(Ntok, C, device=dev, dtype=bf, requires_grad=True)
    wc = torch.ones(C, device=dev, dtype=bf, requires_grad=True)
    sh = f"{Ntok}x{C}"
    row(name, "rmsnorm fwd", sh, time_ms(lambda: F.rms_norm(xc, (C,), wc, 1e-6), reps))
    y = F.rms_norm(xc, (C,), wc, 1e-6)
    dy = torch.randn_like(y)
    row(name, "rmsnorm bwd", sh, time_ms(lambda: torch.autograd.grad(y, (xc, wc), dy, retain_graph=True), reps))
    # swiglu
    g = torch.randn(Ntok, Fd, device=dev, dtype=bf, requires_grad=True)
    u = torch.randn(Ntok, Fd, device=dev, dtype=bf, requires_grad=True)
    sh = f"{Ntok}x{Fd}"
    row(name, "swiglu fwd", sh, time_ms(lambda: F.silu(g) * u, reps))
    a = F.silu(g) * u
    da = torch.randn_like(a)
    row(name, "swiglu bwd", sh, time_ms(lambda: torch.autograd.grad(a, (g, u), da, retain_graph=True), reps))
    r1, r2 = torch.randn(Ntok, C, device=dev, dtype=bf), torch.randn(Ntok, C, device=dev, dtype=bf)
    row(name, "residual", f"{Ntok}x{C}", time_ms(lambda: r1.add_(r2), reps))
    # rope on q, (B, H, T, D)
    T = Ntok // seqs
    q = torch.randn(seqs, H, T, D, device=dev, dtype=bf)
    ang = torch.arange(T, device=dev, dtype=torch.float32)[:, None] * torch.rand(D // 2, device=dev)[None, :]
    cos = torch.cat((ang.cos(), ang.cos()), -1).to(bf)
    sin = torch.cat((ang.sin(), ang.sin()), -1).to(bf)
    row(name, "rope fwd (q)", f"{Ntok}x{H}x{D}", time_ms(lambda: q * cos + rotate_half(q) * sin, reps))
    # attention
    qa = torch.randn(seqs, H, T, D, device=dev, dtype=bf, requires_grad=True)
    ka = torch.randn(seqs, KVH, T, D, device=dev, dtype=bf, requires_grad=True)
    va = torch.randn(seqs, KVH, T, D, device=dev, dtype=bf, requires_grad=True)
    sh = f"{seqs}x{T}, H {H}/{KVH}, D {D}"
    sdpa = lambda: F.scaled_dot_product_attention(qa, ka, va, is_causal=True, enable_gqa=True)
    row(name, "attention fwd", sh, time_ms(sdpa, reps))
    o = sdpa()
    do = torch.randn_like(o)
    row(name, "attention bwd", sh, time_ms(lambda: torch.autograd.grad(o, (qa, ka, va), do, retain_graph=True), reps))
    del qa, ka, va, o, do, q
    # log-softmax over the vocabulary
    z = torch.randn(Ntok, V, device=dev, dtype=bf, requires_grad=True)
    tg = torch.randint(0, V, (Ntok, 1), device=dev)
    wt, ut = torch.randn(Ntok, device=dev), torch.randn(Ntok, device=dev)

    def lsm():
        ls = torch.log_softmax(z, dim=-1, dtype=torch.float32)
        lp = ls.gather(1, tg).squeeze(1)
        ent = -(ls.exp() * ls).sum(-1)
        return lp, ent

    sh = f"{Ntok}x{V}"
    with torch.no_grad():
        row(name, "logsoftmax fwd (lse, entropy, logprob)", sh, time_ms(lsm, reps))
    lp, ent = lsm()
    loss = (wt * lp + ut * ent).sum()
    row(name, "logsoftmax bwd (in place)", sh, time_ms(lambda: torch.autograd.grad(loss, z, retain_graph=True), reps))
    del lp, ent, loss
    # sampling, as transformers' warpers: temperature, top-k, top-p, multinomial
    zs = z.detach()
    for Bs in (64, 256):
        zb = zs[:Bs]
        for mode in (0, 1):
            def sample():
                if mode == 0:
                    return torch.multinomial(torch.softmax(zb.float(), -1), 1)
                s = zb.float() / 0.7
                kth = torch.topk(s, 50, dim=-1).values[:, -1:]
                s = s.masked_fill(s < kth, float("-inf"))
                srt, idx = torch.sort(s, descending=False)
                cum = srt.softmax(-1).cumsum(-1)
                drop = cum <= 1 - 0.9
                drop[:, -1] = False
                s = s.scatter(1, idx, srt.masked_fill(drop, float("-inf")))
                return torch.multinomial(torch.softmax(s, -1), 1)
            sh = f"{Bs}x{V} {'T0.7 k50 p0.9' if mode else 'T1'}"
            row(name, "sample", sh, time_ms(sample, reps))
    del z, zs


def bench_optimizer(name, C, Fd, H, KVH, D, V, L, reps):
    n = V * C + L * (2 * C + (H + 2 * KVH) * D * (C + 1) + C * H * D + 3 * Fd * C) + C
    p = torch.nn.Parameter(torch.randn(n, device=dev) * 0.02)
    p.grad = torch.randn(n, device=dev) * 1e-3
    sh = f"{n / 1e6:.0f}M params"
    row(name, "grad norm", sh, time_ms(lambda: torch.linalg.vector_norm(p.grad), reps))
    opt = torch.optim.AdamW([p], lr=1e-5, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, fused=True)
    row(name, "adamw (+ bf16 copy)", sh, time_ms(opt.step, reps))
    del opt, p


def main():
    small = "--small" in sys.argv
    print(f"PyTorch {torch.__version__} on {props.name}")
    print("| model | op | shape | us |\n|---|---|---|---|")
    if small:
        bench_model("tiny", 64, 176, 4, 2, 16, 1000, 2, 64, 2, 2)
        bench_optimizer("tiny", 64, 176, 4, 2, 16, 1000, 2, 2)
        return
    bench_model("Qwen2.5-0.5B", 896, 4864, 14, 2, 64, 151936, 24, 4096, 8, 5)
    bench_optimizer("Qwen2.5-0.5B", 896, 4864, 14, 2, 64, 151936, 24, 5)
    torch.cuda.empty_cache()
    bench_model("Qwen2.5-1.5B", 1536, 8960, 12, 2, 128, 151936, 28, 4096, 8, 5)
    bench_optimizer("Qwen2.5-1.5B", 1536, 8960, 12, 2, 128, 151936, 28, 5)


if __name__ == "__main__":
    main()
