#!/usr/bin/env python3
"""make_loss_fixtures.py — PyTorch reference values for rewards/advantage.c and
learner/loss.c, written to tests/fixtures/loss/ (read by tests/rewards/ and
tests/loss/).

Rerun (from the repository root):
    /work/venv-ref/bin/python tests/ref/make_loss_fixtures.py
Made with Python 3, torch 2.15.0 (CPU), numpy 2.4.6. The output is
deterministic: inputs come from a seeded numpy generator and are rounded to
float32 so that the C float and double entry points see the same numbers.

This is an independent implementation: it follows the formulas of TRL's
GRPOTrainer (_compute_loss: coef_1/coef_2, -min(...), k3 KL added after the
importance-sampling weight, the grpo/dapo/dr_grpo reductions), DAPO (clip-higher,
token-level mean), Dr. GRPO (constant normaliser) and GSPO (sequence ratio
exp(mean log-ratio) broadcast over the row's tokens), with torch autograd for
the gradient with respect to the current log-probs, in float64. It does not
look at the C code's intermediate values. Two deliberate points, as
docs/losses.md states: grpo divides by the number of rows that have at least
one counted token (TRL's .mean() also counts fully masked rows as zeros), and
the TIS weight is min(exp(old - sampler), cap) with no gradient.

Files:
  advantages.json  groups of rewards with excluded samples; expected grpo
                   (torch.std, unbiased, eps 1e-4), dr_grpo and rloo advantages
                   and zero-spread flags.
  losses.json      loss cases: config, inputs (B, T row-major), expected loss,
                   dL/dlogp and statistics.
"""
import json
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "loss")


def f32(x):
    """Round to float32 and back, so the values are exact in both C APIs."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


# ---------------------------------------------------------------- advantages
def advantages_ref(rewards, excluded, eps=1e-4):
    """Each estimator over the included rewards of one group, with torch."""
    r = torch.tensor(rewards)
    inc = torch.tensor([not e for e in excluded])
    out = {}
    n = int(inc.sum())
    ri = r[inc]
    zero = n < 2 or bool(ri.max() == ri.min())
    for name in ("grpo", "dr_grpo", "rloo"):
        a = torch.zeros_like(r)
        if not zero:
            mean = ri.mean()
            if name == "grpo":
                a[inc] = (ri - mean) / (ri.std() + eps)  # torch.std: unbiased (n - 1)
            elif name == "dr_grpo":
                a[inc] = ri - mean
            else:
                others = torch.stack([torch.cat([ri[:j], ri[j + 1:]]).mean() for j in range(n)])
                a[inc] = ri - others
        out[name] = a.tolist()
    return out, zero


def make_advantages(rng):
    G = 6
    groups = []
    # Hand-picked groups: binary accuracy, all equal (zero spread), one
    # included sample left, shaped rewards, excluded samples in the middle.
    groups.append(([1, 0, 0, 1, 1, 0], [0] * 6))
    groups.append(([1, 1, 1, 1, 1, 1], [0] * 6))
    groups.append(([0, 0, 0, 0, 0, 0], [0] * 6))
    groups.append(([1, 0, 1, 0, 0, 0], [0, 1, 0, 1, 1, 1]))  # two included: 1, 1 -> zero spread
    groups.append(([0.5, 0, 1, 0.25, 0.75, 0], [0, 0, 1, 0, 0, 1]))
    groups.append(([1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]))  # one included -> zero spread
    groups.append(([0.9, -0.2, 1.0, 0.8, -1.0, 0.95], [0] * 6))
    for _ in range(5):
        r = f32(rng.choice([0.0, 1.0], size=G) + rng.uniform(-0.3, 0.0, size=G)).tolist()
        ex = (rng.uniform(size=G) < 0.15).astype(int).tolist()
        groups.append((r, ex))
    rewards, excluded = [], []
    expect = {"grpo": [], "dr_grpo": [], "rloo": []}
    zero_spread = []
    for r, ex in groups:
        a, z = advantages_ref([float(x) for x in r], [bool(e) for e in ex])
        rewards += [float(x) for x in r]
        excluded += ex
        for k in expect:
            expect[k] += a[k]
        zero_spread.append(int(z))
    return {"G": G, "ngroups": len(groups), "eps": 1e-4, "rewards": rewards, "excluded": excluded,
            "zero_spread": zero_spread, "advantages": expect}


# ---------------------------------------------------------------------- loss
def loss_ref(case):
    """TRL-style loss on one batch; returns loss, dL/dlogp and statistics."""
    B, T = case["B"], case["T"]
    logp = torch.tensor(case["logp"]).view(B, T).requires_grad_(True)
    old = torch.tensor(case["logp_old"]).view(B, T)
    adv = torch.tensor(case["adv"]).view(B, 1)
    mask = torch.tensor(case["mask"], dtype=torch.float64).view(B, T)
    if case["mask_truncated"]:
        trunc = torch.tensor(case["truncated"], dtype=torch.bool)
        mask = mask * (~trunc).unsqueeze(1).double()
    eps_low, eps_high, beta = case["eps_low"], case["eps_high"], case["beta"]
    # Padding may hold anything; keep it out of the arithmetic like the C code.
    logp_safe = torch.where(mask > 0, logp, torch.zeros_like(logp))
    old_safe = torch.where(mask > 0, old, torch.zeros_like(old))

    log_ratio = logp_safe - old_safe
    if case["ratio"] == "token":
        log_w = log_ratio
    else:  # GSPO: length-normalised sequence log-ratio, one per row
        log_w = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    coef_1 = torch.exp(log_w)
    coef_2 = torch.clamp(coef_1, 1 - eps_low, 1 + eps_high)
    per_token_loss = -torch.min(coef_1 * adv, coef_2 * adv)
    if case["ratio"] == "sequence":
        per_token_loss = per_token_loss.expand(B, T)
    if case["tis_cap"] > 0:
        smp = torch.tensor(case["logp_sampler"]).view(B, T)
        smp_safe = torch.where(mask > 0, smp, torch.zeros_like(smp))
        tis = torch.clamp(torch.exp(old_safe - smp_safe), max=case["tis_cap"])
        per_token_loss = per_token_loss * tis
    kl = None
    if case["logp_ref"] is not None:
        ref = torch.tensor(case["logp_ref"]).view(B, T)
        ref_safe = torch.where(mask > 0, ref, torch.zeros_like(ref))
        kl = torch.exp(ref_safe - logp_safe) - (ref_safe - logp_safe) - 1
        if beta != 0:
            per_token_loss = per_token_loss + beta * kl

    agg = case["aggregation"]
    if agg == "grpo":
        per_seq = (per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
        loss = per_seq.sum() / (mask.sum(-1) > 0).sum()
    elif agg == "dapo":
        loss = (per_token_loss * mask).sum() / mask.sum()
    elif agg == "dr_grpo":
        loss = (per_token_loss * mask).sum() / (B * case["max_tokens"])
    else:
        raise ValueError(agg)
    loss.backward()
    grad = torch.where(mask > 0, logp.grad, torch.zeros_like(logp.grad))

    with torch.no_grad():
        lo_c = (coef_1 < 1 - eps_low) & (adv < 0)
        hi_c = (coef_1 > 1 + eps_high) & (adv > 0)
        if case["ratio"] == "token":
            units = mask > 0
        else:
            units = (mask.sum(-1) > 0).unsqueeze(-1)
        n_units = units.sum()
        stats = {
            "clip_low": float((lo_c & units).sum() / n_units),
            "clip_high": float((hi_c & units).sum() / n_units),
            "ratio_mean": float(coef_1[units].sum() / n_units),
            "ratio_min": float(coef_1[units].min()),
            "ratio_max": float(coef_1[units].max()),
            "kl_mean": float((kl * mask).sum() / mask.sum()) if kl is not None else 0.0,
        }
    return float(loss.detach()), grad.reshape(-1).tolist(), stats


def make_case(rng, name, B, T, aggregation, ratio, eps_low, eps_high, beta, max_tokens=0,
              mask_truncated=0, tis_cap=0.0, lr_scale=0.3, with_ref=None):
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    lengths[B - 1] = 0 if B > 3 else lengths[B - 1]  # one fully masked row (an excluded sample)
    mask = np.zeros((B, T), dtype=int)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    logp = f32(np.log(rng.uniform(0.02, 1.0, size=(B, T))))
    old = f32(logp + rng.normal(0.0, lr_scale, size=(B, T)))
    ref = f32(logp + rng.normal(0.0, 0.5, size=(B, T)))
    smp = f32(old + rng.normal(0.0, 0.4, size=(B, T)))
    # Padding positions hold junk, as a real padded batch might (never read).
    logp[mask == 0] = 7.5
    old[mask == 0] = -3.25
    adv = f32(rng.normal(0.0, 1.0, size=B))
    adv[1] = 0.0  # a zero-advantage row: only the KL term moves it
    truncated = np.zeros(B, dtype=int)
    truncated[2] = 1
    if with_ref is None:
        with_ref = beta > 0
    case = {
        "name": name, "B": B, "T": T, "aggregation": aggregation, "ratio": ratio,
        "eps_low": eps_low, "eps_high": eps_high, "beta": beta, "max_tokens": max_tokens,
        "mask_truncated": mask_truncated, "tis_cap": tis_cap,
        "logp": logp.reshape(-1).tolist(), "logp_old": old.reshape(-1).tolist(),
        "logp_ref": ref.reshape(-1).tolist() if with_ref else None,
        "logp_sampler": smp.reshape(-1).tolist() if tis_cap > 0 else None,
        "adv": adv.tolist(), "mask": mask.reshape(-1).tolist(), "truncated": truncated.tolist(),
    }
    loss, grad, stats = loss_ref(case)
    case.update({"loss": loss, "grad": grad, "stats": stats})
    return case


def make_losses(rng):
    cases = [
        make_case(rng, "grpo_token", 6, 9, "grpo", "token", 0.2, 0.2, 0.0),
        make_case(rng, "dapo_token_kl_clip_higher", 6, 9, "dapo", "token", 0.2, 0.28, 0.04),
        make_case(rng, "dr_grpo_token_kl", 6, 9, "dr_grpo", "token", 0.2, 0.2, 0.1, max_tokens=12),
        make_case(rng, "grpo_token_truncated_kl", 6, 9, "grpo", "token", 0.2, 0.28, 0.04, mask_truncated=1),
        make_case(rng, "dapo_token_tis_truncated", 6, 9, "dapo", "token", 0.2, 0.28, 0.0, mask_truncated=1,
                  tis_cap=2.0),
        make_case(rng, "dr_grpo_token_tis_kl", 5, 7, "dr_grpo", "token", 0.1, 0.3, 0.05, max_tokens=7, tis_cap=1.5),
        # GSPO: the paper's clip range (3e-4, 4e-4) and small per-token log-ratios,
        # so that some sequence ratios clip and some do not.
        make_case(rng, "gspo_grpo", 6, 9, "grpo", "sequence", 3e-4, 4e-4, 0.0, lr_scale=1.2e-3),
        make_case(rng, "gspo_dapo_kl_tis", 6, 9, "dapo", "sequence", 3e-4, 4e-4, 0.02, tis_cap=2.0,
                  lr_scale=2e-3),
        make_case(rng, "gspo_wide_clip_truncated", 6, 9, "grpo", "sequence", 0.2, 0.2, 0.0, mask_truncated=1,
                  lr_scale=1.0),
        # beta = 0 but a reference is given: the KL is reported, not added.
        make_case(rng, "dapo_token_kl_stat_only", 4, 6, "dapo", "token", 0.2, 0.2, 0.0, with_ref=True),
    ]
    return {"cases": cases}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20250607)
    for fname, data in (("advantages.json", make_advantages(rng)), ("losses.json", make_losses(rng))):
        path = os.path.join(OUT, fname)
        with open(path, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
