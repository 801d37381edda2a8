#!/usr/bin/env python3
"""Do checkpoints written by rlvr load in Hugging Face transformers as the same
model? For every fixture directory of tests/fixtures/checkpoints/ (written by
transformers, see make_checkpoint_fixtures.py), rlvr loads it and saves it
again (tests/checkpoint/ckpt_resave: rlvr_model_load + rlvr_model_save) as
  f32      one model.safetensors, float32
  sharded  float32 in shards of at most 20000 bytes with an index
  bf16     one model.safetensors, bfloat16
and transformers' AutoModelForCausalLM loads both directories in float32. The
check: no missing, unexpected or mismatched keys; every parameter identical
(for bf16: identical to the original rounded to bfloat16 by torch); and the
logits of a fixed batch identical (max |diff| must be exactly 0).

Rerun (developers; CI does not run this), after building ckpt_resave:
    cmake --build build --target ckpt_resave
    /work/venv-ref/bin/python tests/ref/check_transformers_load.py --resave build/tests/checkpoint/ckpt_resave
Venv: /work/venv-ref with pip install torch==2.15.0 transformers==5.24.0
safetensors==0.8.0 numpy. Writes tests/ref/results/checkpoint_transformers_load.json
and exits 1 if any case fails.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import AutoModelForCausalLM
from transformers.utils import logging as hf_logging

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
RESULT = os.path.join(HERE, "results", "checkpoint_transformers_load.json")

MODES = {
    "f32": [],
    "sharded": ["--max-shard-bytes", "20000"],
    "bf16": ["--bf16"],
}


def load(d):
    model, info = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, output_loading_info=True)
    return model.eval(), info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resave", default=os.path.join(ROOT, "build", "tests", "checkpoint", "ckpt_resave"))
    args = ap.parse_args()
    hf_logging.set_verbosity_error()
    reference = json.load(open(os.path.join(FIXTURES, "reference.json")))
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(0, 128, (2, 11), generator=g)
    mask = torch.ones_like(ids)
    mask[1, :3] = 0  # left padding on the second row
    cases = []
    ok_all = True
    with tempfile.TemporaryDirectory(prefix="rlvr_hf_load_") as tmp:
        for name, ref in sorted(reference.items()):
            src = os.path.join(ROOT, ref["dir"])
            orig, _ = load(src)
            for mode, opts in MODES.items():
                dst = os.path.join(tmp, f"{name}_{mode}")
                r = subprocess.run([args.resave, src, dst] + opts, capture_output=True, text=True)
                case = {"fixture": name, "mode": mode}
                if r.returncode != 0:
                    case.update(ok=False, error=r.stderr.strip())
                    cases.append(case)
                    ok_all = False
                    continue
                ours, info = load(dst)
                want = orig
                if mode == "bf16":  # what torch's rounding to bf16 gives
                    want = type(orig)(orig.config).eval()
                    want.load_state_dict({k: v.to(torch.bfloat16).float() for k, v in orig.state_dict().items()})
                sd_w, sd_o = want.state_dict(), ours.state_dict()
                params_same = sd_w.keys() == sd_o.keys() and all(torch.equal(sd_w[k], sd_o[k]) for k in sd_w)
                with torch.no_grad():
                    lw = want(input_ids=ids, attention_mask=mask).logits
                    lo = ours(input_ids=ids, attention_mask=mask).logits
                diff = (lw - lo).abs().max().item()
                keys_clean = not (info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"])
                ok = params_same and diff == 0.0 and keys_clean
                ok_all &= ok
                case.update(ok=ok, max_abs_logit_diff=diff, params_identical=params_same,
                            missing_keys=sorted(info["missing_keys"]), unexpected_keys=sorted(info["unexpected_keys"]),
                            mismatched_keys=[str(k) for k in info["mismatched_keys"]],
                            files=sorted(os.listdir(dst)))
                cases.append(case)
                print(f"{'ok  ' if ok else 'FAIL'} {name:22s} {mode:8s} max |logit diff| {diff:.3g} "
                      f"params identical {params_same} keys clean {keys_clean}", file=sys.stderr)
    result = {
        "what": "rlvr_model_save output loaded by transformers AutoModelForCausalLM vs the original; see "
                "tests/ref/check_transformers_load.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": sys.version.split()[0]},
        "input": {"batch": list(ids.shape), "left_padding_row1": 3},
        "all_ok": ok_all,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(RESULT), exist_ok=True)
    with open(RESULT, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"{'all ok' if ok_all else 'FAILURES'}: {len(cases)} cases -> {os.path.relpath(RESULT, ROOT)}", file=sys.stderr)
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
