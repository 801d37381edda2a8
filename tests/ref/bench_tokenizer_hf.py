#!/usr/bin/env python3
"""bench_tokenizer_hf.py — rlvr's tokenizer next to Hugging Face tokenizers on
the same corpus, same documents, same machine; and a parity check of the ids.

    tests/ref/fetch_tokenizers.sh
    /work/venv-ref/bin/python tests/ref/bench_tokenizer_hf.py BUILD_DIR [NAME ...]

BUILD_DIR holds bench/bench_tokenizer (cmake --build BUILD_DIR --target
bench_tokenizer). NAME: tokenizers under tests/ref/.cache/tokenizers/
(default qwen2.5 llama3.2). Venv: tokenizers==0.23.3.

The corpus (tests/ref/.cache/bench_corpus.txt, about 1 MB) is built from this
repository: docs and sources (English prose, C, Lua, Python) and the
multilingual texts of the tokenizer fixtures, cut into ~4 KB documents at line
breaks. HF is timed with Tokenizer.encode per document (one thread, like
rlvr) and with encode_batch (its thread pool), best of 3.
"""
import glob
import json
import os
import subprocess
import sys
import time

from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "tests", "ref", ".cache")
CHUNK = 4096


def make_corpus(path):
    parts = []
    for pattern in ("docs/*.md", "README.md", "*/*.c", "*/*.h", "model/templates/*.lua", "tests/ref/*.py"):
        for f in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(f, "rb") as fh:
                parts.append(fh.read())
    with open(os.path.join(ROOT, "tests", "fixtures", "tokenizers", "real.json")) as fh:
        texts = [t for t in json.load(fh)["texts"] if isinstance(t, str)]
    multi = "\n\n".join(texts).encode()
    data = b"\n\n".join(parts)
    while len(data) < 1_000_000:
        data += b"\n\n" + multi
    with open(path, "wb") as fh:
        fh.write(data)
    return data


def documents(data):
    out, i = [], 0
    while i < len(data):
        j = min(i + CHUNK, len(data))
        while j < len(data) and data[j] != 10:
            j += 1
        out.append(data[i:j].decode("utf-8"))
        i = j
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    names = sys.argv[2:] or ["qwen2.5", "llama3.2"]
    exe = os.path.join(build, "bench", "bench_tokenizer")
    corpus = os.path.join(CACHE, "bench_corpus.txt")
    data = make_corpus(corpus)
    docs = documents(data)
    for name in names:
        path = os.path.join(CACHE, "tokenizers", name, "tokenizer.json")
        tok = Tokenizer.from_file(path)
        best = best_batch = 1e30
        for _ in range(3):
            t0 = time.perf_counter()
            hf = [tok.encode(d, add_special_tokens=False).ids for d in docs]
            best = min(best, time.perf_counter() - t0)
            t0 = time.perf_counter()
            tok.encode_batch(docs, add_special_tokens=False)
            best_batch = min(best_batch, time.perf_counter() - t0)
        dump = os.path.join(CACHE, f"bench_ids_{name}.txt")
        res = subprocess.run([exe, path, corpus, "--dump", dump], capture_output=True, text=True, check=True)
        with open(dump) as fh:
            ours = [[int(x) for x in line.split()] for line in fh]
        same = sum(a == b for a, b in zip(ours, hf))
        rlvr_mbs = float([l for l in res.stdout.splitlines() if l.startswith("rlvr encode")][0].split()[2])
        print(f"== {name}: {len(data)} bytes, {len(docs)} documents")
        print(res.stdout.rstrip())
        print(f"HF encode (1 thread):     {len(data) / best / 1e6:.2f} MB/s")
        print(f"HF encode_batch (pool):   {len(data) / best_batch / 1e6:.2f} MB/s")
        print(f"rlvr / HF encode: {rlvr_mbs / (len(data) / best / 1e6):.1f}x")
        print(f"parity: {same} of {len(docs)} documents give identical ids")
        if same != len(docs):
            sys.exit(1)


if __name__ == "__main__":
    main()
