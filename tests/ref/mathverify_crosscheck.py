#!/usr/bin/env python3
"""Cross-check of rlvr's math verifier (verifiers/math.lua) against Math-Verify.

Rerun (from the source root, after building rlvr):
    /work/venv-ref/bin/pip install 'math-verify[antlr4_13_2]==0.9.0'
    /work/venv-ref/bin/python tests/ref/mathverify_crosscheck.py --rlvr build/rlvr
Versions used for the committed results: Python 3.11.7, math-verify 0.9.0,
latex2sympy2_extended 1.11.0, antlr4-python3-runtime 4.13.2, sympy 1.14.0.

It generates answer pairs (seeded, about 2,500) in categories: equal and
unequal rationals, decimals, LaTeX fraction forms, big numbers, expressions,
intervals, sets, tuples, plus-minus, units, text, equations, number formats,
matrices and radicals/trig. Each pair carries the truth as constructed (the
generator knows whether the two sides are equal; None where a convention
decides). Both verifiers see the same completion "The answer is
$\\boxed{ANSWER}$." and the gold answer: Math-Verify as
verify(parse("$GOLD$"), parse(completion)), rlvr through `rlvr verify
--verifier math`. Results go to tests/ref/results/mathverify_crosscheck.json
(every pair's verdicts) and .md (agreement by category and EVERY
disagreement, with who matches the constructed truth); docs/verifiers_math.md
explains each class of disagreement.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def frac_tex(f: Fraction, cmd: str = "\\frac") -> str:
    if f.denominator == 1:
        return str(f.numerator)
    sign = "-" if f < 0 else ""
    return f"{sign}{cmd}{{{abs(f.numerator)}}}{{{f.denominator}}}"


def terminating(f: Fraction) -> bool:
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def dec(f: Fraction) -> str:
    """Exact decimal of a terminating fraction."""
    s = "-" if f < 0 else ""
    f = abs(f)
    i, r = divmod(f.numerator, f.denominator)
    digits = ""
    while r:
        r *= 10
        q, r = divmod(r, f.denominator)
        digits += str(q)
    return s + str(i) + ("." + digits if digits else "")


class Gen:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.pairs = []

    def add(self, cat, gold, ans, truth, note=""):
        self.pairs.append({"category": cat, "gold": gold, "answer": ans, "truth": truth, "note": note})

    def rat(self, lo=-60, hi=60, qmax=40):
        r = self.rng
        while True:
            f = Fraction(r.randrange(lo, hi), r.randrange(1, qmax))
            if f != 0:
                return f

    # --- categories ---
    def rational_equal(self, n):
        r = self.rng
        for _ in range(n):
            f = self.rat()
            forms = [frac_tex(f), frac_tex(f, "\\dfrac"), frac_tex(f, "\\tfrac"),
                     f"{f.numerator}/{f.denominator}" if f.denominator != 1 else str(f.numerator)]
            k = r.randrange(2, 6)
            if f.denominator != 1:
                forms.append(("-" if f < 0 else "") + f"\\frac{{{abs(f.numerator) * k}}}{{{f.denominator * k}}}")
            if terminating(f):
                forms.append(dec(f))
            if abs(f) > 1 and f.denominator != 1:
                w, rem = divmod(abs(f.numerator), f.denominator)
                forms.append(("-" if f < 0 else "") + f"{w}\\frac{{{rem}}}{{{f.denominator}}}")
            g, a = r.sample(forms, 2) if len(forms) > 1 else (forms[0], forms[0])
            self.add("rational_equal", g, a, 1)

    def rational_unequal(self, n):
        r = self.rng
        for _ in range(n):
            f = self.rat()
            kind = r.randrange(4)
            if kind == 0:
                h = f + Fraction(r.choice([1, -1]), f.denominator)
            elif kind == 1:
                h = Fraction(f.numerator, f.denominator + r.choice([1, 2]))
            elif kind == 2:
                h = 1 / f
            else:
                h = -f
            if h == f:
                continue
            self.add("rational_unequal", frac_tex(f), frac_tex(h) if r.random() < 0.7 or not terminating(h) else dec(h), 0)

    def decimals(self, n):
        r = self.rng
        for _ in range(n):
            kind = r.randrange(6)
            if kind == 0:  # trailing zeros
                d = Fraction(r.randrange(1, 10000), 100)
                self.add("decimal", dec(d), dec(d) + "0" * r.randrange(1, 3) if "." in dec(d) else dec(d) + ".0", 1)
            elif kind == 1:  # leading dot
                d = Fraction(r.randrange(1, 99), 100)
                self.add("decimal", dec(d), dec(d)[1:], 1, "leading-dot decimal")
            elif kind == 2:  # decimal vs fraction
                q = r.choice([2, 4, 5, 8, 10, 16, 20, 25, 40])
                f = Fraction(r.randrange(1, 3 * q), q)
                self.add("decimal", frac_tex(f), dec(f), 1)
            elif kind == 3:  # rounded too coarsely: different numbers
                d = Fraction(r.randrange(1001, 9999), 1000)
                if d.denominator == 1 or len(dec(d).split(".")[-1]) < 3:
                    continue
                rounded = Fraction(round(d * 100), 100)
                if rounded == d:
                    continue
                self.add("decimal", dec(d), dec(rounded), 0, "rounded to two places")
            elif kind == 4:  # six-digit approximation of a repeating fraction (accepted by convention)
                q = r.choice([3, 7, 9, 11, 13])
                f = Fraction(r.randrange(1, q), q)
                s = f"{float(f):.6f}"
                self.add("decimal_approx", frac_tex(f), s, None, "6-decimal approximation of a repeating fraction: accepted by both by convention")
            else:  # two-digit approximation: wrong
                q = r.choice([3, 7, 9, 11])
                f = Fraction(r.randrange(1, q), q)
                self.add("decimal_approx", frac_tex(f), f"{float(f):.2f}", 0, "two-decimal approximation")

    def bignum(self, n):
        r = self.rng
        for _ in range(n):
            kind = r.randrange(6)
            if kind == 0:
                a = r.randrange(60, 400)
                self.add("bignum", f"\\frac{{1}}{{2^{{{a}}}}}", f"\\frac{{1}}{{2^{{{a + r.choice([1, -1])}}}}}", 0, "1/2^a vs 1/2^(a±1)")
            elif kind == 1:
                a = r.randrange(60, 400)
                self.add("bignum", f"\\frac{{1}}{{2^{{{a}}}}}", f"2^{{-{a}}}", 1)
            elif kind == 2:
                m = r.randrange(500, 2500)
                self.add("bignum", f"\\frac{{1}}{{{m}!}}", f"\\frac{{1}}{{{m + 2}!}}", 0, "1/m! vs 1/(m+2)!")
            elif kind == 3:
                a = r.randrange(40, 200)
                self.add("bignum", f"2^{{{a}}}", str(2**a), 1, "power written out")
            elif kind == 4:
                a = r.randrange(40, 200)
                self.add("bignum", f"2^{{{a}}}", str(2**a + r.choice([1, -1, 2])), 0, "power written out, off by a little")
            else:
                k = r.randrange(20, 60)
                self.add("bignum", f"10^{{{k}}}", "1" + "0" * k, 1)

    def expressions(self, n):
        r = self.rng
        for _ in range(n):
            a, b = r.randrange(-9, 10), r.randrange(-9, 10)
            kind = r.randrange(8)
            def poly(c2, c1, c0):
                s = f"{c2}x^2" if c2 != 1 else "x^2"
                s += f"{c1:+d}x" if c1 else ""
                s += f"{c0:+d}" if c0 else ""
                return s
            if kind == 0:
                self.add("expression", f"(x{a:+d})(x{b:+d})", poly(1, a + b, a * b), 1, "factored vs expanded")
            elif kind == 1:
                self.add("expression", f"(x{a:+d})(x{b:+d})", poly(1, a + b, a * b + r.choice([1, -1])), 0, "wrong constant")
            elif kind == 2:
                if a == 0:
                    continue
                self.add("expression", f"\\frac{{x^2-{a * a}}}{{x{-a:+d}}}", f"x{a:+d}", 1, "cancellable fraction")
            elif kind == 3:
                k = r.randrange(2, 9)
                self.add("expression", f"\\frac{{{k}x}}{{2}}", f"\\frac{{{k}}}{{2}}x", 1)
            elif kind == 4:
                self.add("expression", "\\sin^2 x+\\cos^2 x", "1", 1, "identity")
            elif kind == 5:
                k = r.randrange(2, 6)
                self.add("expression", f"x^{k}", f"x^{k + 1}", 0)
            elif kind == 6:
                self.add("expression", f"e^{{{abs(a) + 1}x}}", f"(e^x)^{{{abs(a) + 1}}}", 1)
            else:
                self.add("expression", "2x+y", "2y+x", 0, "variables swapped")

    def intervals(self, n):
        r = self.rng
        for _ in range(n):
            a = r.randrange(-20, 20)
            b = a + r.randrange(1, 20)
            lb, rb = r.choice("[("), r.choice("])")
            g = f"{lb}{a}, {b}{rb}"
            kind = r.randrange(5)
            if kind == 0:
                self.add("interval", g, g.replace(" ", ""), 1)
            elif kind == 1:
                flip = ("(" if lb == "[" else "[") + f"{a}, {b}" + rb
                self.add("interval", g, flip, 0, "left bracket flipped")
            elif kind == 2:
                self.add("interval", f"({a}, \\infty)", f"x > {a}", 1, "inequality answer")
            elif kind == 3:
                self.add("interval", f"[{a}, \\infty)", f"x > {a}", 0, "strict inequality for a closed end")
            else:
                self.add("interval", f"(-\\infty, {a}) \\cup ({b}, \\infty)", f"({b}, \\infty) \\cup (-\\infty, {a})", 1, "union reordered")

    def sets(self, n):
        r = self.rng
        for _ in range(n):
            k = r.randrange(2, 5)
            xs = r.sample(range(-20, 30), k)
            g = "\\{" + ", ".join(map(str, xs)) + "\\}"
            kind = r.randrange(4)
            ys = xs[:]
            r.shuffle(ys)
            if kind == 0:
                self.add("set", g, "\\{" + ", ".join(map(str, ys)) + "\\}", 1, "permuted")
            elif kind == 1:
                self.add("set", g, "\\{" + ", ".join(map(str, ys[:-1])) + "\\}", 0, "missing element")
            elif kind == 2:
                self.add("set", g, "\\{" + ", ".join(map(str, ys + [max(xs) + 1])) + "\\}", 0, "extra element")
            else:
                self.add("set", ", ".join(map(str, xs)), ", ".join(map(str, ys)), 1, "bare list permuted")

    def tuples(self, n):
        r = self.rng
        for _ in range(n):
            k = r.choice([2, 2, 3])
            xs = [r.randrange(-9, 10) for _ in range(k)]
            g = "(" + ", ".join(map(str, xs)) + ")"
            if r.random() < 0.5:
                self.add("tuple", g, g.replace(" ", ""), 1)
            else:
                ys = xs[::-1]
                if ys == xs:
                    continue
                self.add("tuple", g, "(" + ", ".join(map(str, ys)) + ")", 0, "reversed")

    def pm(self, n):
        r = self.rng
        for _ in range(n):
            a = r.randrange(1, 3000)
            kind = r.randrange(5)
            if kind == 0:
                self.add("pm", str(a), f"\\pm {a}", 0, "±a for a")
            elif kind == 1:
                self.add("pm", f"\\pm {a}", f"{a}, -{a}", 1)
            elif kind == 2:
                self.add("pm", f"\\pm {a}", f"\\pm {a}", 1)
            elif kind == 3:
                self.add("pm", f"\\pm {a}", str(a), 0, "a for ±a")
            else:
                c = r.choice([2, 3, 5, 7])
                self.add("pm", f"{a} \\pm \\sqrt{{{c}}}", f"{a}+\\sqrt{{{c}}}, {a}-\\sqrt{{{c}}}", 1)

    def units(self, n):
        r = self.rng
        for _ in range(n):
            x = r.randrange(1, 500)
            kind = r.randrange(7)
            if kind == 0:
                self.add("units", str(x), f"{x} \\text{{ cm}}", 1)
            elif kind == 1:
                self.add("units", str(x), f"{x}\\%", None, "percent sign on the answer: a unit by convention")
            elif kind == 2:
                self.add("units", str(x), f"{x}^\\circ", 1)
            elif kind == 3:
                self.add("units", str(x), f"\\${x}", 1)
            elif kind == 4:
                self.add("units", str(x), f"{x} \\text{{ square units}}", 1)
            elif kind == 5:
                self.add("units", str(x), f"{x + 1} \\text{{ cm}}", 0)
            else:
                self.add("units", f"{x}\\%", str(Fraction(x, 100)) if Fraction(x, 100).denominator != 1 else str(x // 100), None, "percent gold, fraction answer: equal by convention")

    def text(self, n):
        r = self.rng
        days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
        for _ in range(n):
            kind = r.randrange(4)
            if kind == 0:
                d = r.choice(days)
                self.add("text", f"\\text{{{d}}}", d, 1)
            elif kind == 1:
                d, e = r.sample(days, 2)
                self.add("text", f"\\text{{{d}}}", e, 0)
            elif kind == 2:
                l = r.choice("ABCDE")
                self.add("text", f"\\text{{({l})}}", l, 1)
            else:
                l, m = r.sample("ABCDE", 2)
                self.add("text", f"\\text{{({l})}}", m, 0)

    def equations(self, n):
        r = self.rng
        for _ in range(n):
            a = r.randrange(-20, 21)
            kind = r.randrange(6)
            if kind == 0:
                self.add("equation", f"x = {a}", str(a), 1)
            elif kind == 1:
                self.add("equation", str(a), f"x = {a}", 1)
            elif kind == 2:
                self.add("equation", f"x = {a}", f"y = {a}", 0, "different variable")
            elif kind == 3:
                m, c = r.randrange(1, 6), r.randrange(-9, 10)
                self.add("equation", f"y = {m}x{c:+d}", f"{m}x{c:+d}", 1)
            elif kind == 4:
                self.add("equation", f"x = {a}", f"x^2{-2 * a:+d}x{a * a:+d} = 0", 0, "restated equation")
            else:
                b = r.randrange(1, 9)
                self.add("equation", str(a), f"x + {b} = {a + b}", 0, "unsolved equation")

    def formats(self, n):
        r = self.rng
        for _ in range(n):
            kind = r.randrange(5)
            if kind == 0:
                x = r.randrange(1000, 10**7)
                self.add("format", str(x), f"{x:,}", 1, "thousands separators")
            elif kind == 1:
                a, b = r.randrange(1, 10), r.randrange(1, 10)
                self.add("format", f"{a}{b}", f"{a},{b}", 0, "a list is not a two-digit number")
            elif kind == 2:
                m = r.randrange(1, 9)
                self.add("format", str(Fraction(m * 1000 + 500, 1000) * 1000), f"{m}.5 \\times 10^{{3}}", 1, "scientific notation")
            elif kind == 3:
                e = r.randrange(2, 6)
                self.add("format", dec(Fraction(12, 10**(e + 1))), f"1.2e-{e}", 1, "e-notation")
            else:
                w, q = r.randrange(1, 9), r.choice([2, 3, 4, 5])
                p = r.randrange(1, q)
                self.add("format", frac_tex(Fraction(w * q + p, q)), f"{w}\\frac{{{p}}}{{{q}}}", 1, "mixed number")

    def matrices(self, n):
        r = self.rng
        for _ in range(n):
            m = [[r.randrange(-5, 6) for _ in range(2)] for _ in range(2)]
            t = lambda mm, env: f"\\begin{{{env}}}" + " \\\\ ".join(" & ".join(map(str, row)) for row in mm) + f"\\end{{{env}}}"
            kind = r.randrange(3)
            if kind == 0:
                self.add("matrix", t(m, "pmatrix"), t(m, "bmatrix"), 1)
            elif kind == 1:
                mt = [list(x) for x in zip(*m)]
                if mt == m:
                    continue
                self.add("matrix", t(m, "pmatrix"), t(mt, "pmatrix"), 0, "transposed")
            else:
                v = [r.randrange(-5, 6) for _ in range(3)]
                self.add("matrix", "\\begin{pmatrix}" + " \\\\ ".join(map(str, v)) + "\\end{pmatrix}", "(" + ", ".join(map(str, v)) + ")", 1, "column vector as tuple")

    def radicals(self, n):
        r = self.rng
        for _ in range(n):
            kind = r.randrange(7)
            a, b = r.randrange(2, 9), r.choice([2, 3, 5, 6, 7])
            if kind == 0:
                self.add("radical", f"\\sqrt{{{a * a * b}}}", f"{a}\\sqrt{{{b}}}", 1)
            elif kind == 1:
                self.add("radical", f"\\sqrt{{{a * a * b}}}", f"{a + 1}\\sqrt{{{b}}}", 0)
            elif kind == 2:
                self.add("radical", f"\\frac{{\\sqrt{{{b}}}}}{{{b}}}", f"\\frac{{1}}{{\\sqrt{{{b}}}}}", 1, "rationalized")
            elif kind == 3:
                self.add("radical", "\\frac{1}{2}", "\\sin\\frac{\\pi}{6}", 1)
            elif kind == 4:
                self.add("radical", str(a), f"\\log_2 {2 ** a}", 1)
            elif kind == 5:
                self.add("radical", "\\pi", r.choice(["3.14", "\\frac{22}{7}", "3.1416"]), 0, "rough pi")
            else:
                self.add("radical", f"{a}", f"e^{{\\ln {a}}}", 1)

    def latex_variants(self, n):
        r = self.rng
        for _ in range(n):
            f = self.rat(1, 40, 12)
            t = frac_tex(f)
            kind = r.randrange(6)
            if kind == 0:
                self.add("latex_variant", t, f"\\left( {t} \\right)", 1, "\\left( \\right)")
            elif kind == 1:
                self.add("latex_variant", t, f"\\displaystyle {t}", 1, "\\displaystyle")
            elif kind == 2:
                self.add("latex_variant", t, f"\\, {t} \\;", 1, "spacing commands")
            elif kind == 3:
                x = r.randrange(1000, 99999)
                self.add("latex_variant", str(x), f"{x // 1000}{{,}}{x % 1000:03d}", 1, "{,} thousands")
            elif kind == 4:
                self.add("latex_variant", t, f"\\mathbf{{{t}}}", 1, "\\mathbf around a number")
            else:
                k = r.randrange(2, 9)
                self.add("latex_variant", f"{k}\\pi", f"{k} \\cdot \\pi", 1, "\\cdot")

    def identities(self, n):
        r = self.rng
        items = [
            ("\\ln(ab)", "\\ln a+\\ln b", None),  # true for a, b > 0 only: a convention ("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}", 1),
            ("\\cos 2x", "1-2\\sin^2 x", 1), ("\\tan x", "\\frac{\\sin x}{\\cos x}", 1),
            ("\\sqrt{x^2}", "x", 0), ("|x|", "x", 0), ("\\frac{1}{x}+\\frac{1}{y}", "\\frac{x+y}{xy}", 1),
            ("\\frac{1}{x}+\\frac{1}{y}", "\\frac{1}{x+y}", 0), ("(a+b)^3", "a^3+3a^2b+3ab^2+b^3", 1),
            ("(a+b)^3", "a^3+b^3", 0), ("\\sin(x+y)", "\\sin x\\cos y+\\cos x\\sin y", 1),
            ("\\sin(x+y)", "\\sin x+\\sin y", 0), ("e^{2\\ln x}", "x^2", 1), ("2^{x+1}", "2\\cdot 2^x", 1),
            ("\\binom{n}{2}", "\\frac{n(n-1)}{2}", 1), ("\\frac{x^3-1}{x-1}", "x^2+x+1", 1),
        ]
        for i in range(n):
            g, a, t = items[i % len(items)]
            self.add("identity", g, a, t, "" if t is not None else "holds on the real domain of the logs, not over the complex numbers")


def run_mathverify(pairs):
    from math_verify import parse, verify
    out = []
    t0 = time.process_time()
    for p in pairs:
        try:
            g = parse("$" + p["gold"] + "$")
            a = parse("The answer is $\\boxed{" + p["answer"] + "}$.")
            out.append(1 if verify(g, a) else 0)
        except Exception:  # Math-Verify raising is a "not equal" for a grader
            out.append(0)
    return out, time.process_time() - t0


def run_rlvr(pairs, rlvr):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for p in pairs:
            f.write(json.dumps({"completion": "The answer is $\\boxed{" + p["answer"] + "}$.", "reference": p["gold"]}) + "\n")
        path = f.name
    try:
        res = subprocess.run([rlvr, "verify", "--verifier", "math", "--input", path, "--inline"],
                             capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    lines = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]
    if len(lines) != len(pairs):
        sys.exit(f"rlvr verify returned {len(lines)} lines for {len(pairs)} pairs:\n{res.stderr}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rlvr", default=os.environ.get("RLVR_BIN", "build/rlvr"))
    ap.add_argument("--seed", type=int, default=20250101)
    args = ap.parse_args()
    g = Gen(args.seed)
    g.rational_equal(300); g.rational_unequal(250); g.decimals(250); g.bignum(120); g.expressions(300)
    g.intervals(200); g.sets(150); g.tuples(120); g.pm(120); g.units(150); g.text(80); g.equations(180)
    g.formats(120); g.matrices(60); g.radicals(120); g.latex_variants(120); g.identities(64)
    pairs = g.pairs
    mv, mv_cpu = run_mathverify(pairs)
    rl = run_rlvr(pairs, args.rlvr)
    rows, by_cat = [], {}
    agree = 0
    for p, m, r in zip(pairs, mv, rl):
        rs = 1 if r["score"] >= 1 else 0
        row = dict(p, mathverify=m, rlvr=rs, rlvr_status=r["status"], rlvr_method=r.get("details", {}).get("method"))
        rows.append(row)
        c = by_cat.setdefault(p["category"], {"pairs": 0, "agree": 0, "mv_right": 0, "rlvr_right": 0, "known": 0})
        c["pairs"] += 1
        c["agree"] += m == rs
        agree += m == rs
        if p["truth"] is not None:
            c["known"] += 1
            c["mv_right"] += m == p["truth"]
            c["rlvr_right"] += rs == p["truth"]
    dis = [x for x in rows if x["mathverify"] != x["rlvr"]]
    import importlib.metadata as md
    versions = {k: md.version(k) for k in ("math-verify", "latex2sympy2_extended", "antlr4-python3-runtime", "sympy")}
    summary = {
        "seed": args.seed, "pairs": len(pairs), "agree": agree, "agreement": agree / len(pairs),
        "versions": versions, "python": sys.version.split()[0], "mathverify_cpu_s": round(mv_cpu, 1),
        "by_category": by_cat,
        "truth_known": sum(1 for p in pairs if p["truth"] is not None),
        "mathverify_matches_truth": sum(1 for x in rows if x["truth"] is not None and x["mathverify"] == x["truth"]),
        "rlvr_matches_truth": sum(1 for x in rows if x["truth"] is not None and x["rlvr"] == x["truth"]),
        "disagreements": dis,
    }
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "mathverify_crosscheck.json"), "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(RESULTS, "mathverify_crosscheck.md"), "w") as f:
        f.write("# rlvr math verifier vs Math-Verify\n\n")
        f.write("Generated by `tests/ref/mathverify_crosscheck.py` (seed %d); explained in docs/verifiers_math.md.\n\n" % args.seed)
        f.write(f"- pairs: {len(pairs)}; agreement: {agree} ({100 * agree / len(pairs):.2f}%)\n")
        f.write(f"- pairs with a constructed truth: {summary['truth_known']}; Math-Verify matches it on "
                f"{summary['mathverify_matches_truth']}, rlvr on {summary['rlvr_matches_truth']}\n")
        f.write(f"- versions: {versions}, Python {summary['python']}\n\n")
        f.write("| category | pairs | agree | truth known | Math-Verify right | rlvr right |\n|---|---|---|---|---|---|\n")
        for k, c in by_cat.items():
            f.write(f"| {k} | {c['pairs']} | {c['agree']} | {c['known']} | {c['mv_right']} | {c['rlvr_right']} |\n")
        f.write(f"\n## Every disagreement ({len(dis)})\n\n")
        f.write("truth: 1/0 as constructed, - where a convention decides. MV: Math-Verify.\n\n")
        f.write("| category | gold | answer | truth | MV | rlvr | rlvr method | note |\n|---|---|---|---|---|---|---|---|\n")
        esc = lambda s: str(s).replace("|", "\\|")
        for x in dis:
            t = "-" if x["truth"] is None else x["truth"]
            f.write(f"| {x['category']} | `{esc(x['gold'])}` | `{esc(x['answer'])}` | {t} | {x['mathverify']} | {x['rlvr']} | "
                    f"{x['rlvr_method']} | {esc(x['note'])} |\n")
    print(f"{len(pairs)} pairs, agreement {100 * agree / len(pairs):.2f}%, {len(dis)} disagreements; "
          f"truth known {summary['truth_known']}: Math-Verify right {summary['mathverify_matches_truth']}, "
          f"rlvr right {summary['rlvr_matches_truth']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
