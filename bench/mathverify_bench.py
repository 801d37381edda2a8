#!/usr/bin/env python3
"""Side-by-side speed of Math-Verify and rlvr's math verifier on the same pairs.

Rerun (from the source root, after building bench_verify_math):
    /work/venv-ref/bin/pip install 'math-verify[antlr4_13_2]==0.9.0'
    /work/venv-ref/bin/python bench/mathverify_bench.py --bench build/bench/bench_verify_math

It generates N distinct typical short pairs (seeded: fractions, decimals,
integers, radicals, percents; "\\boxed{\\frac{1}{2}}" against "0.5" and the
like; distinct so that Math-Verify's parse cache does not flatter it), times
Math-Verify's parse + verify on each in this process (one core), then runs
bench_verify_math on the same pairs (one core) and prints both rates, their
ratio and the machine. Both sides count CPU seconds of one thread (Python's
process_time, the C bench's CLOCK_THREAD_CPUTIME_ID), so the figures are per
core even on a busy machine. Both sides must agree on the mean score to within the
known disagreements (printed, not asserted). Python 3.11, math-verify 0.9.0,
latex2sympy2_extended 1.11.0, antlr4-python3-runtime 4.13.2, sympy 1.14.0.
"""
import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from fractions import Fraction


def typical_pairs(n: int, seed: int):
    rng = random.Random(seed)
    pairs = []
    while len(pairs) < n:
        kind = rng.randrange(8)
        p, q = rng.randrange(1, 200), rng.randrange(2, 60)
        f = Fraction(p, q)
        if kind == 0:  # fraction vs decimal (when it terminates) or fraction
            dec = f"{float(f):.10g}" if (10**12 * f).denominator == 1 else f"\\frac{{{f.numerator}}}{{{f.denominator}}}"
            ans, gold = f"\\frac{{{p}}}{{{q}}}", dec
        elif kind == 1:
            ans, gold = str(rng.randrange(-1000, 10000)), None
            gold = ans if rng.random() < 0.8 else str(int(ans) + 1)
        elif kind == 2:
            d = rng.randrange(1, 10**4) / 100
            ans, gold = f"{d:.2f}", f"\\frac{{{int(round(d * 100))}}}{{100}}"
        elif kind == 3:
            a, b = rng.randrange(2, 9), rng.choice([2, 3, 5, 6, 7])
            ans, gold = f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}"
        elif kind == 4:
            ans, gold = f"\\dfrac{{{p}}}{{{q}}}", f"\\frac{{{p * 2}}}{{{q * 2}}}"
        elif kind == 5:
            x = rng.randrange(1, 100)
            ans, gold = f"{x}\\%", str(x)
        elif kind == 6:
            x = rng.randrange(1000, 10**6)
            ans, gold = f"{x:,}", str(x)
        else:
            ans, gold = f"-\\frac{{{p}}}{{{q}}}", f"\\frac{{-{p}}}{{{q}}}"
        comp = rng.choice(["So the answer is $\\boxed{%s}$.", "Therefore, $\\boxed{%s}$", "Final answer: \\boxed{%s}"]) % ans
        pairs.append({"completion": comp, "reference": gold})
    return pairs


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu} ({os.cpu_count()} logical CPUs), {platform.system()} {platform.release()}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/bench_verify_math", help="path to bench_verify_math")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    from math_verify import parse, verify  # imported here: --help works without it
    import math_verify

    pairs = typical_pairs(args.n, args.seed)
    # warm up imports and lazy regex compilation on unrelated strings
    verify(parse("$12345$"), parse("\\boxed{12345}"))
    t0 = time.process_time()  # CPU time: per core, whatever else runs on the machine
    mv_scores = []
    for p in pairs:
        gold = parse("$" + p["reference"] + "$")
        pred = parse(p["completion"])
        mv_scores.append(1 if verify(gold, pred) else 0)
    mv_time = time.process_time() - t0
    mv_rate = len(pairs) / mv_time

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
        path = f.name
    try:
        out = subprocess.run([args.bench, "--pairs", path, "--seconds", str(args.seconds), "--json"],
                             capture_output=True, text=True, check=True)
    finally:
        os.unlink(path)
    r = json.loads(out.stdout.strip().splitlines()[-1])

    print(f"machine: {machine()}")
    print(f"pairs: {len(pairs)} distinct typical short answers (seed {args.seed})")
    print(f"Math-Verify {getattr(math_verify, '__version__', '0.9.0')} parse+verify: {mv_rate:10.0f} /s "
          f"({1e6 / mv_rate:.0f} us each), mean score {sum(mv_scores) / len(mv_scores):.4f}")
    print(f"rlvr core (C):                   {r['core_per_s']:10.0f} /s  ratio {r['core_per_s'] / mv_rate:6.0f}x")
    print(f"rlvr host (math.lua in sandbox): {r['host_per_s']:10.0f} /s  ratio {r['host_per_s'] / mv_rate:6.0f}x"
          f", mean score {r['mean_score_host']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
