#!/usr/bin/env python3
"""Does a tiny model that rlvr builds from scratch (model/tiny.h) load in
Hugging Face transformers and tokenizers as the same model?

It runs `rlvr sft --init tiny` for two steps on generated worked examples
(so the weights are no longer the initial ones), then loads the saved
directory <run>/sft/model with AutoTokenizer and AutoModelForCausalLM
(float32) and checks:
  - no missing, unexpected or mismatched keys;
  - the tokenizer that AutoTokenizer loads encodes sample texts to the same
    ids as a tokenizer built here from the specification (make_sft_fixtures.py's
    build_tokenizer), decodes them back, and knows eos/pad <|endoftext|>;
  - log-probabilities of texts: transformers' log_softmax of the logits at
    each next token vs `rlvr score` on the same directory (max |diff| must
    be under 1e-4: float32 on both sides, summed in different orders).
Also for the default sizes (model.init_* defaults) with one step.

Rerun (developers; CI does not run this), after building rlvr:
    /work/venv-ref/bin/python tests/ref/check_tiny_load.py --rlvr build/rlvr
Venv: /work/venv-ref with pip install torch==2.15.0 transformers==5.24.0
tokenizers==0.23.3 safetensors==0.8.0 numpy. Writes
tests/ref/results/tiny_transformers_load.json and exits 1 if a check fails.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from make_sft_fixtures import TEXTS, build_tokenizer  # noqa: E402

RESULT = os.path.join(HERE, "results", "tiny_transformers_load.json")
SCORE_TEXTS = ["What is 12 + 7?\n12 + 7 = 19\n<answer>19</answer>", "<think> 3 * 4 = 12 </think> <answer> 12 </answer>",
               "caf\u00e9 \u2014 \U0001F600"]

SIZES = {
    "small": ["--set", "model.init_hidden=32", "--set", "model.init_intermediate=64", "--set", "model.init_heads=4",
              "--set", "model.init_kv_heads=2", "--steps", "2"],
    "default": ["--steps", "1"],
}


def check(rlvr, name, extra, tmp):
    run = os.path.join(tmp, name)
    cmd = [rlvr, "sft", "--init", "tiny", "--set", "task.template=plain", "--examples", "16", "--set",
           "sft.batch_size=8", "--run-dir", run] + extra
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    d = os.path.join(run, "sft", "model")
    model, info = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, output_loading_info=True)
    model.eval()
    hf_tok = AutoTokenizer.from_pretrained(d)
    ref_tok = build_tokenizer()
    tok_ok = all(hf_tok(t, add_special_tokens=True)["input_ids"] == ref_tok.encode(t).ids for t in TEXTS)
    dec_ok = all(hf_tok.decode(ref_tok.encode(t).ids) == ref_tok.decode(ref_tok.encode(t).ids, skip_special_tokens=False)
                 for t in TEXTS)
    special_ok = hf_tok.eos_token == "<|endoftext|>" and hf_tok.eos_token_id == 256 and hf_tok.pad_token_id == 256
    out = subprocess.run([rlvr, "score", "--model", d] + sum((["--text", t] for t in SCORE_TEXTS), []), check=True,
                         cwd=ROOT, capture_output=True, text=True).stdout
    worst = 0.0
    for line, text in zip(out.strip().split("\n"), SCORE_TEXTS):
        r = json.loads(line)
        ids = hf_tok(text)["input_ids"]
        assert r["token_ids"] == ids, (r["token_ids"], ids)
        with torch.no_grad():
            lp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
        want = [float(lp[t - 1, ids[t]]) for t in range(1, len(ids))]
        got = [x for x in r["logprobs"] if x is not None][-len(want):]
        worst = max(worst, max(abs(a - b) for a, b in zip(got, want)))
    keys_ok = not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    ok = keys_ok and tok_ok and dec_ok and special_ok and worst < 1e-4
    return {"size": name, "ok": ok, "keys_ok": keys_ok, "missing_keys": list(info["missing_keys"]),
            "unexpected_keys": list(info["unexpected_keys"]), "tokenizer_ids_equal": tok_ok, "decode_equal": dec_ok,
            "eos_pad_ok": special_ok, "max_abs_logprob_diff": worst, "num_params": sum(p.numel() for p in model.parameters()),
            "files": sorted(os.listdir(d))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rlvr", default=os.path.join(ROOT, "build", "rlvr"))
    args = ap.parse_args()
    hf_logging.set_verbosity_error()
    with tempfile.TemporaryDirectory() as tmp:
        cases = [check(os.path.abspath(args.rlvr), n, e, tmp) for n, e in SIZES.items()]
    res = {"what": "rlvr sft --init tiny output loaded by transformers; see tests/ref/check_tiny_load.py",
           "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                        "python": sys.version.split()[0]},
           "all_ok": all(c["ok"] for c in cases), "cases": cases}
    os.makedirs(os.path.dirname(RESULT), exist_ok=True)
    with open(RESULT, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))
    sys.exit(0 if res["all_ok"] else 1)


if __name__ == "__main__":
    main()
