#!/usr/bin/env python3
"""Fixtures for tests/model: tiny random Hugging Face models and what PyTorch
and transformers compute with them (forward, backward, KV-cache decode, AdamW).

Rerun (developers only; CI uses the committed output):
    /work/venv-ref/bin/python tests/ref/make_model_fixtures.py
Made with the venv at /work/venv-ref:
    pip install torch==2.15.0 transformers==5.24.0 tokenizers==0.23.3 safetensors==0.8.0 numpy==2.4.6
Seeded and deterministic for those versions on one machine (torch's CPU
kernels may round differently elsewhere: the C tests compare with tolerances,
never bit for bit). It rewrites:

  tests/fixtures/models/<name>/     an HF model directory: config.json,
      model.safetensors (float32), generation_config.json, tokenizer.json,
      tokenizer_config.json (a byte-level BPE tokenizer trained here)
  tests/fixtures/model_ref/<name>.safetensors   the reference values (below)
  tests/fixtures/model_ref/adamw.safetensors    one optimizer check

Models (2 layers, hidden 64, heads 4, kv heads 2, intermediate 96, the
tokenizer's vocabulary; every weight random with std 1/sqrt(fan_in) so that
activations and logits are O(1), norm weights random around 1, biases random,
so a transposed or misplaced tensor cannot go unnoticed):
  tiny-qwen2   Qwen2ForCausalLM: q/k/v bias, rope_theta 1e6, untied
  tiny-qwen3   Qwen3ForCausalLM: q/k RMSNorm, head_dim 32 (!= 64/4), untied
  tiny-llama   LlamaForCausalLM: tied embeddings (SmolLM2-like), rope_theta 1e4

Reference values per model (float32 run in eager attention; "ref64" runs the
same model in float64 to show how far float32 itself is from exact; the script
prints both distances, and docs/model.md uses them for the tolerances):
  tokens (B,T) int32, lens (B) int32     a right-padded batch, B=3, T=16,
                                         lens 16, 11, 5 (pad id 0)
  targets (B,T) int32                    tokens[b,t+1] for t < len-1, else -1
  w (B,T), u (B,T) f32                   per-token loss weights, 0 where no
                                         target (w) / at padding (u)
  logits (B,T,V)                         padded rows included but meaningless
  logprobs (B,T)                         log p(targets[b,t]); 0 where no target
  entropy (B,T)                          of the next-token distribution; 0 at padding
  loss ()                                sum w*logprobs + sum u*entropy
  grad.<HF tensor name>                  d loss / d parameter, every parameter
  dec.prompt_tokens (3,Tp), dec.prompt_lens (3), dec.cont_tokens (3,S),
  dec.cont_lens (3), dec.logits (sum_b (1+cont_lens[b]), V)
      decode with transformers' KV cache (use_cache, past_key_values), one
      sequence at a time: the logits after the prompt, then after each forced
      continuation token, concatenated over b in order.
adamw.safetensors (on tiny-llama's parameters and its gradients above; tied
embeddings, so the shared tensor counts once in the norm):
  two steps of torch.optim.AdamW (lr 1e-2, betas (0.9, 0.95), eps 1e-8,
  weight decay 0.1 on 2-D tensors, 0 on 1-D ones) each after
  clip_grad_norm_(max_norm=50) of the same gradients (norm ~190: clipping acts):
  norm1, norm2 ()                        the total norms clip_grad_norm_ returned
  step2.<name>                           parameters after the second step
"""
import os
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config,
                          Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODELS = os.path.join(ROOT, "tests", "fixtures", "models")
REF = os.path.join(ROOT, "tests", "fixtures", "model_ref")

# Qwen2's pre-tokenizer pattern, as its tokenizer.json writes it.
QWEN_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
            r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def corpus(rng):
    """Arithmetic questions and short English sentences, the kind of text the
    RL tasks produce, so that merges are plausible."""
    words = ("the a number sum of and is what if then answer two three five seven plus minus times "
             "equals we add take result so first next total each more less how many apples has gives").split()
    lines = []
    for _ in range(3000):
        a, b = rng.integers(0, 1000, size=2)
        op = rng.choice(["+", "-", "*"])
        val = {"+": a + b, "-": a - b, "*": a * b}[op]
        lines.append(f"What is {a} {op} {b}? The answer is {val}.")
        lines.append(" ".join(rng.choice(words, size=rng.integers(4, 12))).capitalize() + ".")
    return lines


def make_tokenizer(rng, vocab_size=320):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(rng), trainer=trainer)
    return tok


def configs(V):
    common = dict(vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                  bos_token_id=None, eos_token_id=2, pad_token_id=None)
    return {
        "tiny-qwen2": (Qwen2ForCausalLM, Qwen2Config(**common, rope_theta=1e6, rms_norm_eps=1e-6,
                                                     tie_word_embeddings=False, use_sliding_window=False)),
        "tiny-qwen3": (Qwen3ForCausalLM, Qwen3Config(**common, head_dim=32, rope_theta=1e6, rms_norm_eps=1e-6,
                                                     tie_word_embeddings=False, attention_bias=False,
                                                     use_sliding_window=False)),
        "tiny-llama": (LlamaForCausalLM, LlamaConfig(**common, rope_theta=1e4, rms_norm_eps=1e-5,
                                                     tie_word_embeddings=True, attention_bias=False,
                                                     mlp_bias=False)),
    }


def randomize(model, gen):
    """Weights with std 1/sqrt(fan_in) (activations O(1)), the embedding std 1,
    norm weights 1 + 0.2 N(0,1), biases 0.2 N(0,1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2:
                std = 1.0 if "embed_tokens" in name else p.shape[1] ** -0.5
                if "lm_head" in name:
                    std *= 2.0  # peakier next-token distributions
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * std)
            elif "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen, dtype=torch.float64))


def batch(tok, rng, V):
    texts = ["What is 17 + 25? The answer is 42. We add two numbers.",
             "Take five apples and three more: how many apples?",
             "The sum of 9 and 4 is 13."]
    lens = [16, 11, 5]
    B, T = 3, 16
    tokens = np.zeros((B, T), dtype=np.int32)
    for b, text in enumerate(texts):
        ids = tok.encode(text).ids
        assert len(ids) >= lens[b], (text, len(ids))
        tokens[b, :lens[b]] = ids[:lens[b]]
    tokens[0, 3] = V - 1  # the last vocabulary row takes part too
    targets = np.full((B, T), -1, dtype=np.int32)
    w = np.zeros((B, T), dtype=np.float32)
    u = np.zeros((B, T), dtype=np.float32)
    for b in range(B):
        targets[b, :lens[b] - 1] = tokens[b, 1:lens[b]]
        w[b, :lens[b] - 1] = rng.normal(size=lens[b] - 1)
        u[b, :lens[b]] = 0.3 * rng.normal(size=lens[b])
    return tokens, np.array(lens, dtype=np.int32), targets, w, u


def forward_loss(model, tokens, lens, targets, w, u, dtype):
    B, T = tokens.shape
    ids = torch.from_numpy(tokens.astype(np.int64))
    mask = (torch.arange(T)[None, :] < torch.from_numpy(lens.astype(np.int64))[:, None]).long()
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits.to(dtype)
    logp = torch.log_softmax(logits, dim=-1)
    tgt = torch.from_numpy(np.maximum(targets, 0).astype(np.int64))
    has = torch.from_numpy(targets >= 0)
    lp = torch.gather(logp, 2, tgt[..., None])[..., 0] * has
    valid = mask.bool()
    ent = -(logp.exp() * logp).sum(-1) * valid
    loss = (torch.from_numpy(w).to(dtype) * lp).sum() + (torch.from_numpy(u).to(dtype) * ent).sum()
    return logits, lp, ent, loss


def decode(model, prompts, cont):
    """Per sequence (batch 1, no padding): prefill the prompt with use_cache,
    then feed the forced continuation one token at a time through
    past_key_values. Returns the logits after the prompt and after each token."""
    rows = []
    with torch.no_grad():
        for p, c in zip(prompts, cont):
            out = model(input_ids=torch.tensor([p]), use_cache=True)
            past = out.past_key_values
            rows.append(out.logits[0, -1])
            for i, t in enumerate(c):
                pos = len(p) + i
                out = model(input_ids=torch.tensor([[t]]), past_key_values=past, use_cache=True,
                            position_ids=torch.tensor([[pos]]), cache_position=torch.tensor([pos]))
                past = out.past_key_values
                rows.append(out.logits[0, -1])
    return torch.stack(rows)


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(1234)
    tok = make_tokenizer(rng)
    V = tok.get_vocab_size()
    print("tokenizer vocabulary", V)
    os.makedirs(REF, exist_ok=True)
    tokens, lens, targets, w, u = batch(tok, rng, V)

    for idx, (name, (cls, cfg)) in enumerate(configs(V).items()):
        gen = torch.Generator().manual_seed(100 + idx)
        cfg._attn_implementation = "eager"
        model = cls(cfg).float()
        randomize(model, gen)
        model.eval()  # no dropout (there is none, but be explicit)

        out = os.path.join(MODELS, name)
        shutil.rmtree(out, ignore_errors=True)
        model.save_pretrained(out, safe_serialization=True)
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
        fast.save_pretrained(out)
        for extra in ("special_tokens_map.json", "chat_template.jinja"):
            if os.path.exists(os.path.join(out, extra)):
                os.remove(os.path.join(out, extra))

        # float32: the fixture values.
        model.zero_grad()
        logits, lp, ent, loss = forward_loss(model, tokens, lens, targets, w, u, torch.float32)
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
        # float64 copy: how far float32 is from exact.
        m64 = cls(cfg).double()
        m64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
        logits64, lp64, ent64, loss64 = forward_loss(m64, tokens, lens, targets, w, u, torch.float64)
        loss64.backward()
        valid = torch.from_numpy(np.arange(16)[None, :] < lens[:, None])
        print(f"{name}: loss f32 {loss.item():.6f} f64 {loss64.item():.6f}")
        print(f"  f32 vs f64: logits {(logits - logits64.float())[valid].abs().max():.3g}  "
              f"logprobs {(lp - lp64.float()).abs().max():.3g}  entropy {(ent - ent64.float()).abs().max():.3g}")
        for n, p in m64.named_parameters():
            d = (grads[n].double() - p.grad).abs().max().item()
            print(f"  grad {n}: max|g| {p.grad.abs().max().item():.3g}  f32-f64 {d:.3g}")

        # Decode: prompts of different lengths, continuations finishing at different times.
        prompts = [tokens[0, :5].tolist(), tokens[1, :9].tolist(), tokens[2, :2].tolist()]
        cont = [tokens[0, 5:11].tolist(), tokens[1, 9:11].tolist() + [V - 1], [7, 100, 5, 250, 3, 1, 60, 8]]
        dec_logits = decode(model, prompts, cont)

        Tp = max(len(p) for p in prompts)
        S = max(len(c) for c in cont)
        ptok = np.zeros((3, Tp), dtype=np.int32)
        ctok = np.zeros((3, S), dtype=np.int32)
        for b in range(3):
            ptok[b, :len(prompts[b])] = prompts[b]
            ctok[b, :len(cont[b])] = cont[b]
        ref = {
            "tokens": torch.from_numpy(tokens), "lens": torch.from_numpy(lens),
            "targets": torch.from_numpy(targets), "w": torch.from_numpy(w), "u": torch.from_numpy(u),
            "logits": logits.detach().contiguous(), "logprobs": lp.detach().float().contiguous(),
            "entropy": ent.detach().float().contiguous(), "loss": loss.detach().reshape(()),
            "dec.prompt_tokens": torch.from_numpy(ptok),
            "dec.prompt_lens": torch.tensor([len(p) for p in prompts], dtype=torch.int32),
            "dec.cont_tokens": torch.from_numpy(ctok),
            "dec.cont_lens": torch.tensor([len(c) for c in cont], dtype=torch.int32),
            "dec.logits": dec_logits.contiguous(),
        }
        for n, g in grads.items():
            ref["grad." + n] = g.contiguous()
        save_file(ref, os.path.join(REF, name + ".safetensors"))

        if name == "tiny-llama":
            adamw(model, grads)


def adamw(model, grads):
    params = dict(model.named_parameters())
    decay = [p for n, p in params.items() if p.ndim == 2]
    no_decay = [p for n, p in params.items() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.95), eps=1e-8, foreach=False)
    out = {}
    for step in (1, 2):
        for n, p in params.items():
            p.grad = grads[n].clone()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm=50.0, foreach=False)
        print(f"adamw step {step}: total norm {norm.item():.6f}")
        out[f"norm{step}"] = norm.detach().reshape(()).float()
        opt.step()
    for n, p in params.items():
        out["step2." + n] = p.detach().clone().contiguous()
    save_file(out, os.path.join(REF, "adamw.safetensors"))


if __name__ == "__main__":
    main()
