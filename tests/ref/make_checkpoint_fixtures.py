#!/usr/bin/env python3
"""Fixtures for tests/checkpoint: tiny Hugging Face model directories written
by transformers itself, and the values an independent reader (the safetensors
library + torch) finds in them.

Rerun (developers only; CI uses the committed output):
    /work/venv-ref/bin/python tests/ref/make_checkpoint_fixtures.py
Made with the venv at /work/venv-ref:
    pip install torch==2.15.0 transformers==5.24.0 safetensors==0.8.0 numpy
It rewrites tests/fixtures/checkpoints/ (seeded, deterministic for a given
torch version; about 1 MB in all):

  <model>_<variant>/       config.json, generation_config.json and
                           model.safetensors (or shards with
                           model.safetensors.index.json), from save_pretrained
  reference.json           for every directory: the model config as
                           transformers reads it, and for every stored tensor
                           its shape, exact float64 sum (math.fsum) of its
                           values converted to float32, sum of absolute values,
                           and sampled elements (flat index, exact value)
  dtypes.safetensors       conversion cases written by safetensors.torch:
                           f16_bits / bf16_bits (F16 / BF16 bit patterns:
                           every subnormal, zeros, infinities, NaNs, extremes
                           and a stride through the rest) with
                           f16_as_f32 / bf16_as_f32 (torch's .float() of them),
                           and round_f32 (F32) with round_bf16 (torch's
                           .to(bfloat16) of it: ties, overflow, NaN, random)

The models (2 layers, vocabulary 128; every parameter random, biases and norm
weights included, so a misplaced tensor cannot go unnoticed):
  qwen2_bias     Qwen2ForCausalLM, q/k/v bias, GQA 4/2, rope_theta 1e6
  qwen3_qknorm   Qwen3ForCausalLM, q/k RMSNorm, head_dim 16 != hidden/heads 8
  llama_gqa      LlamaForCausalLM, GQA 6/2, rope_theta 5e5, eos a list
  smollm2_tied   LlamaForCausalLM with tied embeddings (SmolLM2-like, KVH 1)
Variants: f32 for all; bf16 and f16 (model.to(dtype).save_pretrained);
sharded (f32, save_pretrained(max_shard_size=...)).

It also writes the fuzzers' seed corpora: tests/fuzz/corpus/safetensors/
(small files from safetensors.torch.save_file) and tests/fuzz/corpus/hfconfig/
(the config.json of each model above).
"""
import copy
import json
import math
import os
import shutil
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def models():
    common = dict(vocab_size=128, num_hidden_layers=2, max_position_embeddings=256)
    return {
        "qwen2_bias": (Qwen2Config(hidden_size=32, intermediate_size=64, num_attention_heads=4,
                                   num_key_value_heads=2, rope_theta=1e6, rms_norm_eps=1e-6,
                                   bos_token_id=1, eos_token_id=2, **common),
                       Qwen2ForCausalLM, "Qwen2ForCausalLM"),
        "qwen3_qknorm": (Qwen3Config(hidden_size=32, intermediate_size=48, num_attention_heads=4,
                                     num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-5,
                                     eos_token_id=3, **common),
                         Qwen3ForCausalLM, "Qwen3ForCausalLM"),
        "llama_gqa": (LlamaConfig(hidden_size=48, intermediate_size=64, num_attention_heads=6,
                                  num_key_value_heads=2, rope_theta=5e5, rms_norm_eps=1e-5,
                                  bos_token_id=1, eos_token_id=[126, 127], **common),
                      LlamaForCausalLM, "LlamaForCausalLM"),
        "smollm2_tied": (LlamaConfig(hidden_size=36, intermediate_size=64, num_attention_heads=3,
                                     num_key_value_heads=1, tie_word_embeddings=True,
                                     rope_theta=1e5, bos_token_id=0, eos_token_id=0, **common),
                         LlamaForCausalLM, "LlamaForCausalLM"),
    }


# (model, variant, dtype, max_shard_size)
VARIANTS = [
    ("qwen2_bias", "f32", torch.float32, None),
    ("qwen2_bias", "bf16", torch.bfloat16, None),
    ("qwen2_bias", "sharded", torch.float32, "40KB"),
    ("qwen3_qknorm", "f32", torch.float32, None),
    ("qwen3_qknorm", "f16", torch.float16, None),
    ("llama_gqa", "f32", torch.float32, None),
    ("llama_gqa", "bf16", torch.bfloat16, None),
    ("smollm2_tied", "f32", torch.float32, None),
    ("smollm2_tied", "f16", torch.float16, None),
    ("smollm2_tied", "sharded", torch.float32, "30KB"),
]


def build(name, cfg, cls, arch, seed):
    cfg.architectures = [arch]
    torch.manual_seed(seed)
    model = cls(cfg).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, p in model.named_parameters():  # a tied matrix is listed once
            if pname.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif pname.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return model


def expected_config(cfg, arch, dtype_name):
    """The model config as transformers understands it."""
    heads = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
    eos = cfg.eos_token_id
    eos = [] if eos is None else (list(eos) if isinstance(eos, (list, tuple)) else [eos])
    return {
        "arch": {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"}[arch],
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_layers": cfg.num_hidden_layers,
        "num_heads": heads,
        "num_kv_heads": cfg.num_key_value_heads,
        "head_dim": head_dim,
        "max_position": cfg.max_position_embeddings,
        "rope_theta": float(cfg.rope_parameters["rope_theta"]),
        "rms_eps": float(cfg.rms_norm_eps),
        "tie_embeddings": bool(cfg.tie_word_embeddings),
        "attn_bias": arch == "Qwen2ForCausalLM",
        "qk_norm": arch == "Qwen3ForCausalLM",
        "bos_token_id": -1 if cfg.bos_token_id is None else cfg.bos_token_id,
        "eos_token_ids": eos,
        "torch_dtype": dtype_name,
    }


def tensor_reference(t, rng):
    flat = t.to(torch.float32).reshape(-1)
    vals = flat.double().tolist()
    n = len(vals)
    idx = sorted(set([0, 1, n - 1] + torch.randint(0, n, (9,), generator=rng).tolist()))
    return {
        "shape": list(t.shape),
        "sum": math.fsum(vals),
        "sum_abs": math.fsum(abs(v) for v in vals),
        "samples": [[i, vals[i]] for i in idx],
    }


def read_dir(d):
    """Every tensor of a model directory, read with the safetensors library."""
    files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    out = {}
    for f in files:
        with safe_open(os.path.join(d, f), framework="pt") as h:
            for k in h.keys():
                assert k not in out
                out[k] = h.get_tensor(k)
    return out


def dtype_cases():
    f16 = sorted(set(list(range(0, 0x401)) + list(range(0x8000, 0x8401)) + list(range(0, 0x10000, 37)) +
                     list(range(0x7bf0, 0x7c10)) + list(range(0xfbf0, 0xfc10)) + [0x7e00, 0xfe00, 0x7fff, 0xffff]))
    bf16 = sorted(set(list(range(0, 0x90)) + list(range(0x8000, 0x8090)) + list(range(0, 0x10000, 31)) +
                      list(range(0x7f70, 0x7f90)) + list(range(0xff70, 0xff90)) + [0x7fc0, 0xffc0, 0x7fff, 0xffff]))
    f16_bits = torch.tensor(f16, dtype=torch.int32).to(torch.int16).view(torch.float16)
    bf16_bits = torch.tensor(bf16, dtype=torch.int32).to(torch.int16).view(torch.bfloat16)
    g = torch.Generator().manual_seed(7)
    special = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 3.4e38, -3.4e38, 1e-45, -1e-45, 1.17549435e-38]
    # Ties: a float32 whose low 16 bits are exactly 0x8000, for even and odd
    # bf16 mantissas, and one ulp either side.
    ties = []
    for hi in (0x3f80, 0x3f81, 0xbf80, 0xbf81, 0x4049, 0x7f7f):
        for lo in (0x7fff, 0x8000, 0x8001):
            ties.append((hi << 16) | lo)
    ties_f = torch.tensor(ties, dtype=torch.int64).to(torch.int32).view(torch.float32)
    rnd = torch.randn(1000, generator=g) * torch.exp(torch.randn(1000, generator=g) * 10)
    round_in = torch.cat([torch.tensor(special, dtype=torch.float32), ties_f, rnd.to(torch.float32)])
    return {
        "f16_bits": f16_bits.contiguous(),
        "f16_as_f32": f16_bits.float().contiguous(),
        "bf16_bits": bf16_bits.contiguous(),
        "bf16_as_f32": bf16_bits.float().contiguous(),
        "round_f32": round_in.contiguous(),
        "round_bf16": round_in.to(torch.bfloat16).contiguous(),
    }


def write_corpus(reference):
    d = os.path.join(CORPUS, "safetensors")
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(3)
    save_file({"w": torch.randn(2, 3, generator=g)}, os.path.join(d, "f32.safetensors"), metadata={"format": "pt"})
    save_file({"a": torch.randn(4, generator=g).to(torch.bfloat16), "b": torch.randn(2, 2, generator=g).half(),
               "c": torch.zeros(0, 3)}, os.path.join(d, "mixed.safetensors"))
    save_file({"s": torch.tensor(1.5), "i": torch.arange(3, dtype=torch.int64)}, os.path.join(d, "scalar_int.safetensors"))
    save_file({}, os.path.join(d, "empty.safetensors"), metadata={"format": "pt", "note": "\u00e9\"\\"})
    d = os.path.join(CORPUS, "hfconfig")
    os.makedirs(d, exist_ok=True)
    for name, r in reference.items():
        if name.endswith("_f32"):
            shutil.copy(os.path.join(ROOT, r["dir"], "config.json"), os.path.join(d, name[:-4] + ".json"))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    save_file(dtype_cases(), os.path.join(OUT, "dtypes.safetensors"), metadata={"format": "pt"})
    specs = models()
    built = {}
    reference = {}
    rng = torch.Generator().manual_seed(11)
    for seed, (name, variant, dtype, shard) in enumerate(VARIANTS):
        cfg, cls, arch = specs[name]
        if name not in built:
            built[name] = build(name, cfg, cls, arch, 100 + seed)
        model = built[name]
        d = os.path.join(OUT, f"{name}_{variant}")
        m = copy.deepcopy(model).to(dtype)
        kwargs = {"max_shard_size": shard} if shard else {}
        m.save_pretrained(d, **kwargs)
        written = json.load(open(os.path.join(d, "config.json")))
        dtype_name = written.get("torch_dtype", written.get("dtype", ""))
        tensors = read_dir(d)
        if shard:
            assert os.path.exists(os.path.join(d, "model.safetensors.index.json")), "not sharded"
            assert sum(f.endswith(".safetensors") for f in os.listdir(d)) > 1
        reference[f"{name}_{variant}"] = {
            "dir": os.path.relpath(d, ROOT),
            "sharded": bool(shard),
            "config": expected_config(m.config, arch, dtype_name),
            "num_tensors": len(tensors),
            "tensors": {k: tensor_reference(v, rng) for k, v in sorted(tensors.items())},
        }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1, sort_keys=True)
        f.write("\n")
    write_corpus(reference)
    for top in (OUT, os.path.join(CORPUS, "safetensors"), os.path.join(CORPUS, "hfconfig")):
        for r, _, fs in os.walk(top):  # save_pretrained and save_file create 0600 files
            for f in fs:
                os.chmod(os.path.join(r, f), 0o644)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {len(reference)} directories, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
