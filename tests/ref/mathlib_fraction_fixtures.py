#!/usr/bin/env python3
"""Reference values for the exact big-integer / rational arithmetic of
verifiers/mathlib_num.c, computed with Python's int and fractions.Fraction.

Rerun (any Python >= 3.8, standard library only; the project uses the venv):
    /work/venv-ref/bin/python tests/ref/mathlib_fraction_fixtures.py
It rewrites tests/mathlib/fixtures/fraction_ops.txt (seeded, deterministic).

Line format, space separated, rationals written "p" or "p/q" in lowest terms:
    add A B R | sub A B R | mul A B R | div A B R      R = A op B
    pow A E R                                          R = A**E (E may be negative)
    cmp A B C                                          C in -1 0 1
    divmod A B Q R                                     C-style truncation (A, B integers)
    gcd A B G                                          G = gcd(|A|, |B|)
    fact N R                                           R = N!
    root A K R|none                                    exact K-th root of rational A, or none
    dec S R                                            exact value of the decimal literal S
    double A D                                         nearest double of A, repr()
"""
import math
import os
import random
import sys
from decimal import Decimal
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "mathlib", "fixtures", "fraction_ops.txt")


def fr(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def rand_int(rng: random.Random, max_digits: int) -> int:
    kind = rng.random()
    if kind < 0.15:
        v = rng.choice([0, 1, 2, 3, 7, 10, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 2**128 - 1])
    elif kind < 0.3:
        v = 2 ** rng.randrange(0, 300) + rng.choice([-1, 0, 1])
    else:
        v = rng.randrange(0, 10 ** rng.randrange(1, max_digits + 1))
    return -v if rng.random() < 0.4 else v


def rand_rat(rng: random.Random, max_digits: int) -> Fraction:
    d = 0
    while d == 0:
        d = rand_int(rng, max_digits)
    return Fraction(rand_int(rng, max_digits), d)


def int_root(a: int, k: int):
    """Exact integer k-th root of a >= 0, or None."""
    if a < 2:
        return a
    lo, hi = 0, 1 << ((a.bit_length() + k - 1) // k + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid**k <= a:
            lo = mid
        else:
            hi = mid - 1
    return lo if lo**k == a else None


def main() -> None:
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # 2006! has 5,760 digits
    rng = random.Random(20240611)
    lines = []
    for _ in range(160):
        for op in ("add", "sub", "mul", "div"):
            a, b = rand_rat(rng, 60), rand_rat(rng, 60)
            if op == "div" and b == 0:
                b = Fraction(1)
            r = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b if b else 0}[op]
            lines.append(f"{op} {fr(a)} {fr(b)} {fr(r)}")
    # larger operands: multi-limb division paths of Knuth D
    for _ in range(40):
        a, b = rand_rat(rng, 400), rand_rat(rng, 400)
        lines.append(f"add {fr(a)} {fr(b)} {fr(a + b)}")
        if b != 0:
            lines.append(f"div {fr(a)} {fr(b)} {fr(a / b)}")
    for _ in range(120):
        a = rand_rat(rng, 8)
        e = rng.randrange(-12, 30)
        if a == 0 and e < 0:
            e = -e
        lines.append(f"pow {fr(a)} {e} {fr(a ** e)}")
    for _ in range(150):
        a = rand_rat(rng, 40)
        b = a if rng.random() < 0.2 else (a + Fraction(1, 10**rng.randrange(1, 60)) if rng.random() < 0.3 else rand_rat(rng, 40))
        c = (a > b) - (a < b)
        lines.append(f"cmp {fr(a)} {fr(b)} {c}")
    for _ in range(150):
        a = rand_int(rng, 120)
        b = 0
        while b == 0:
            b = rand_int(rng, rng.choice([3, 19, 20, 40, 120]))
        q = abs(a) // abs(b)
        if (a < 0) != (b < 0):
            q = -q
        r = a - q * b
        lines.append(f"divmod {a} {b} {q} {r}")
    for _ in range(100):
        g = rand_int(rng, 30)
        a, b = rand_int(rng, 60) * g, rand_int(rng, 60) * g
        lines.append(f"gcd {a} {b} {math.gcd(a, b)}")
    for n in [0, 1, 2, 5, 20, 21, 25, 34, 35, 100, 170, 171, 500, 1000]:
        lines.append(f"fact {n} {math.factorial(n)}")
    for _ in range(80):
        k = rng.choice([2, 2, 2, 3, 3, 4, 5, 7])
        base = Fraction(rand_int(rng, 25), rng.randrange(1, 10**rng.randrange(1, 20)))
        a = base**k if rng.random() < 0.6 else base**k + Fraction(rng.choice([1, -1]), 10**rng.randrange(1, 30))
        if k % 2 == 0 and a < 0:
            a = -a
        num = int_root(abs(a.numerator), k)
        den = int_root(a.denominator, k)
        if num is None or den is None:
            res = "none"
        else:
            res = fr(Fraction(num if a >= 0 else -num, den))
        lines.append(f"root {fr(a)} {k} {res}")
    decs = ["0", "-0", "0.5", ".5", "5.", "-.25", "+3", "1.000", "00012.3400", "1e3", "1E-3", "2.5e+10",
            "-6.02214076e23", "1.602176634e-19", "123456789012345678901234567890.123456789",
            "0.1", "0.3333333333", "3.14159265358979323846264338327950288419716939937510", "1e-40", "9.99e300"]
    for _ in range(40):
        ip = str(rng.randrange(0, 10 ** rng.randrange(1, 30)))
        fp = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 25)))
        s = ("-" if rng.random() < 0.3 else "") + ip + ("." + fp if fp or rng.random() < 0.3 else "")
        if rng.random() < 0.3:
            s += "e" + str(rng.randrange(-40, 40))
        decs.append(s)
    for s in decs:
        lines.append(f"dec {s} {fr(Fraction(Decimal(s)))}")
    doubles = [Fraction(1, 3), Fraction(2, 3), Fraction(-7, 10), Fraction(10**30 + 1, 3), Fraction(1, 2**1074),
               Fraction(1, 2**1080), Fraction(2**1023 * 3, 2), Fraction(3**700, 2**1000), Fraction(1, 10**400),
               Fraction(2**2000 + 1, 2**1999)]
    for _ in range(60):
        doubles.append(rand_rat(rng, 40))
    for a in doubles:
        try:
            d = float(a)
        except OverflowError:
            d = math.inf if a > 0 else -math.inf
        lines.append(f"double {fr(a)} {d!r}")
    # The false positives of float graders: these must compare unequal exactly.
    f2004, f2006 = math.factorial(2004), math.factorial(2006)
    lines.append(f"cmp 1/{2**99} 1/{2**98} -1")
    lines.append(f"cmp 1/{f2004} 1/{f2006} 1")
    lines.append(f"div 1/{f2004} 1/{f2006} {fr(Fraction(f2006, f2004))}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases to {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
