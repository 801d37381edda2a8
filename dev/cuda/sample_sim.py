"""sample_sim.py — a sequential emulation, in numpy, of the algorithm of
model/cuda/sample.cu (radix select on order-preserving keys with count or
2^40 fixed-point mass histograms, the tie walk in id order over per-thread
chunks), compared with a sorted double-precision reference on random rows:
V 3001/1000/777, fp32 and bf16-like (tied) logits, -inf tokens, every
setting of tests/gpu/test_cuda_ops.c. It checks the ALGORITHM on a machine
without a GPU; it does not run, and says nothing about, the CUDA code.

Run: python3 dev/cuda/sample_sim.py   (numpy; /work/venv-ref has it)
Prints "bad 0 ambiguous N" when every unambiguous row agrees; exits 1 otherwise.
"""
import sys

import numpy as np
rng = np.random.default_rng(1)

def keys_of(s):
    b = s.astype(np.float32).view(np.uint32).astype(np.uint64)
    neg = (b & 0x80000000) != 0
    return np.where(neg, (~b) & 0xffffffff, b | 0x80000000).astype(np.uint64)

def in_set(key, ids, kt, idcut):
    return (key > kt) | ((key == kt) & (ids <= idcut))

def walk(w, key, ids, kt, idcut, match_key, tkey, R, nthreads=1024):
    V = len(w)
    pred = in_set(key, ids, kt, idcut) & ((~np.bool_(match_key)) | (key == tkey))
    wt = np.where(pred, w, 0)
    chunk = (V + nthreads - 1) // nthreads
    own = np.array([wt[min(V, t*chunk):min(V, t*chunk+chunk)].sum() for t in range(nthreads)], dtype=np.uint64)
    incl = np.cumsum(own, dtype=np.uint64); excl = incl - own
    for t in range(nthreads):
        if own[t] > 0 and excl[t] < R <= incl[t]:
            cum = int(excl[t])
            for i in range(min(V, t*chunk), min(V, t*chunk+chunk)):
                if pred[i]:
                    cum += int(w[i])
                    if cum >= R: return i
    return -1

def select(w, key, ids, kt, idcut, R):
    prefix = 0; mask = 0
    for rnd in range(4):
        shift = 24 - 8*rnd
        m = in_set(key, ids, kt, idcut) & ((key & mask) == prefix)
        bins = ((key >> shift) & 255).astype(np.int64)
        hist = np.zeros(256, dtype=np.uint64)
        np.add.at(hist, bins[m], w[m])
        r = R
        if rnd == 0:
            total = int(hist.sum()); r = min(max(r, 1), total)
        cum = 0; chosen = -1
        for b in range(255, -1, -1):
            if cum + int(hist[b]) >= r: chosen = b; break
            cum += int(hist[b])
        if chosen < 0: chosen, cum = 0, 0
        R = r - cum
        prefix |= chosen << shift; mask |= 0xff << shift
    i = walk(w, key, ids, kt, idcut, 1, prefix, R)
    if i >= 0: return prefix, i
    return kt, idcut

def gpu_sample(z, T, k, p, u):
    V = len(z); ids = np.arange(V, dtype=np.int64)
    if not T > 0:
        return int(np.argmax(z))
    s = (z / np.float32(T)).astype(np.float32) if T != 1 else z.astype(np.float32)
    s = s + np.float32(0)
    mx = s.max()
    q = np.rint((np.exp((s - mx).astype(np.float32)).astype(np.float32) * np.float32(2**40))).astype(np.uint64)
    key = keys_of(s)
    kt, idcut = 0, V-1
    sorted_ = k > 0 or p < 1
    if k > 0 and k < V:
        kt, idcut = select(np.ones(V, dtype=np.uint64), key, ids, kt, idcut, k)
    kept = int(q[in_set(key, ids, kt, idcut)].sum())
    if p < 1:
        r = int(np.ceil(np.float64(np.float32(p)) * kept))
        kt, idcut = select(q, key, ids, kt, idcut, max(r, 1))
        kept = int(q[in_set(key, ids, kt, idcut)].sum())
    R = min(int(np.floor(u * kept)) + 1, kept)
    if sorted_:
        kt, idcut = select(q, key, ids, kt, idcut, R); return idcut
    return walk(q, key, ids, 0, V-1, 0, 0, R)

def ref(z, T, k, p, u):
    V = len(z)
    if not T > 0: return int(np.argmax(z)), np.inf
    s = (z / np.float32(T)).astype(np.float32)
    pr = np.exp(s.astype(np.float64) - s.max()); pr /= pr.sum()
    order = np.arange(V)
    if k > 0 or p < 1:
        order = np.lexsort((np.arange(V), -s.astype(np.float64)))
    n = V if not (k > 0 and k < V) else k
    kept = pr[order[:n]].sum(); margin = np.inf
    if p < 1:
        cum = np.cumsum(pr[order[:n]]) / kept
        m = int(np.argmax(cum >= np.float32(p) - 0)) + 1 if (cum >= np.float32(p)).any() else n
        margin = min(margin, np.abs(cum[:m] - np.float32(p)).min())
        n = m; kept = pr[order[:n]].sum()
    cum = np.cumsum(pr[order[:n]]); t = u * kept
    i = int(np.argmax(cum > t)) if (cum > t).any() else n-1
    margin = min(margin, np.abs(cum[:i+1] - t).min() / kept)
    return int(order[i]), margin

settings = [(1.0,0,1.0),(0.7,0,1.0),(0.0,0,1.0),(1.0,50,1.0),(0.6,20,0.8),(1.0,0,0.9),(1.3,0,0.5),(0.9,1,1.0),(1.0,3006,1.0),(0.8,300,0.95),(1.0,0,0.01)]
bad = amb = 0
for trial in range(60):
    V = [3001, 1000, 777][trial % 3]
    z = (rng.standard_normal(V) * 3).astype(np.float32)
    if trial % 2: z = z.astype(np.float32).view(np.uint32) & np.uint32(0xffff0000); z = z.view(np.float32)  # bf16-like ties
    if trial % 4 == 0: z[1] = -np.inf
    T, k, p = settings[trial % len(settings)]
    u = rng.random()
    g = gpu_sample(z, T, k, p, u); r, mg = ref(z, T, k, p, u)
    if mg < 1e-6: amb += 1
    elif g != r: bad += 1; print("MISMATCH", trial, T, k, p, u, g, r, mg)
print("bad", bad, "ambiguous", amb)
sys.exit(1 if bad else 0)
