#!/usr/bin/env python3
"""make_tokenizer_fixtures.py — reference encodings and chat renderings from
Hugging Face tokenizers / transformers, for the C tests in tests/tokenizer/.

Rerun (developers; CI only reads the committed fixtures):
    tests/ref/fetch_tokenizers.sh                       # the real tokenizer.json files
    /work/venv-ref/bin/python tests/ref/make_tokenizer_fixtures.py
The venv: python 3.11 with tokenizers==0.23.3, transformers==5.24.0,
jinja2==3.1.6 (pip install tokenizers==0.23.3 transformers==5.24.0 jinja2==3.1.6).

Writes (all committed, each well under 1 MB):
  tests/fixtures/tokenizers/real.json     ids and decodings of a corpus under the
                                          real Qwen2.5, Qwen3, Llama 3 and Llama 3.2
                                          files (referenced by path, size and sha256;
                                          the files themselves are never committed)
  tests/fixtures/tokenizers/trained.json  tiny byte-level BPE tokenizers trained here
                                          with tokenizers' BpeTrainer, plus variants
                                          that exercise each pipeline option; each is
                                          inline, with its cases
  tests/fixtures/tokenizers/tiny/tokenizer.json  the plain trained one (vocab 400, every
                                          byte in it) as a file of its own
  tests/fixtures/tokenizers/chat.json     conversations rendered by transformers'
                                          apply_chat_template(tokenize=False) with the
                                          real Qwen2.5 and Qwen3 templates, Llama 3's
                                          template and a plain ChatML template

The texts are listed once per file ("texts"); each tokenizer's "cases" follow
them in order. A string holding a NUL is written as {"hex": "<UTF-8 hex>"},
since C JSON readers end strings at NUL.
"""
import hashlib
import json
import os
import random
import sys
import unicodedata

import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "tests", "ref", ".cache", "tokenizers")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers")

REAL = {
    "qwen2.5": "tests/ref/.cache/tokenizers/qwen2.5/tokenizer.json",
    "qwen3": "tests/ref/.cache/tokenizers/qwen3/tokenizer.json",
    "llama3": "tests/ref/.cache/tokenizers/llama3/tokenizer.json",
    "llama3.2": "tests/ref/.cache/tokenizers/llama3.2/tokenizer.json",
}

# ---------------------------------------------------------------- the corpus

CORPUS = [
    "",
    "Hello world",
    "The quick brown fox jumps over the lazy dog. It's 3:45pm; isn't it? I'll go, we've gone, "
    "they're here, she'd known, I'm sure. DON'T SHOUT, THEY'LL HEAR.",
    "안녕하세요, 세계! 오늘 날씨가 정말 좋네요. 한국어 토크나이저 테스트입니다.",
    "你好，世界！今天天气很好。我们来测试一下中文分词器的效果，看看它能否正确处理标点符号。",
    "こんにちは、世界！東京は日本の首都です。カタカナとひらがなと漢字が混ざった文章。",
    "def fib(n):\n\tif n < 2:\n\t\treturn n\n    return fib(n - 1) + fib(n - 2)\n\n"
    "for i in range(10):\n    print(f\"{i}: {fib(i)}\")\n",
    "int main(void) {\n  printf(\"%d\\n\", 42);\n  return 0;\n}\n",
    "    indented four\n        eight\n\t\ttabs\n  \t mixed \t \n",
    "1234567890 3.14159 1,000,000 0.000001 -42 +7 1e10 2025-01-31 12345678901234567890",
    "3141592653589793238462643383279502884197169399375105820974944592",
    "7 77 777 7777 77777 777777 7777777",
    "I ❤️ 🐍 and 👨‍👩‍👧‍👦 and 🏳️‍🌈 and 👍🏽! 😀😁🤖",
    "a  b   c    d\t\t e \n\n\n f     \n   g",
    "   leading and trailing   ",
    " ",
    "          x",
    " " * 100,
    "\n",
    "\n\n\n\n",
    "\t",
    "line one\r\nline two\r\n\r\nline four\r\n",
    "\r\r\n\n\r",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "text<|endoftext|>more text<|endoftext|>",
    "<|begin_of_text|>Hello<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<think>\nreasoning here\n</think>\n\nthe answer is 42",
    "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
    "<|im_start",
    "<|im_start|<|im_end|>>",
    "<<|im_end|>>",
    " <|im_end|> ",
    "<|end_of_text|><|end_of_text|>",
    "<|reserved_special_token_5|>x",
    "Mixed 中文 and English 한국어 text 123 日本語",
    "'", "'s", "IT'S", "it'ſ", "a'LL", "don't", "'''", "...", "!!!???", "$$$", "<>", "''s",
    "http://example.com/path?q=1&r=2#frag user@example.com",
    "C:\\Windows\\System32\\drivers",
    "\u00a0nbsp\u00a0 and\u3000ideographic space",
    "zero\u200bwidth\u200djoiner\u200c",
    "\u0085nel \u180e mongolian \u2028 \u2029",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "é vs e\u0301 and Å vs A\u030a and \u1100\u1161\u11a8 jamo",
    "\u0301starts with a combining mark",
    "ﬁ ligature, ㎏, ½, ², Ⅻ, ①",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙",
    "Ω ohm \u2126 Kelvin \u212a ǅ titlecase",
    "مرحبا بالعالم שלום עולם",
    "สวัสดีครับ नमस्ते दुनिया",
    "\ufeffBOM at start",
    "\ue000 private use \U0010fffd",
    "a\x00b\x01c\x7f",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ab" * 30,
    "=" * 40 + "\n" + "-" * 40,
    "The cat sat. A cat-like catalog; concatenate cat",
]

# Scripts to draw random text from: only code points assigned in Unicode 14,
# the version of Debian 12's PCRE2 (Python 3.11's unicodedata is Unicode 14
# too). Oniguruma, inside tokenizers, knows newer letters; see docs/tokenizer.md.
BLOCKS = [
    (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0xA0, 0x17F), (0x300, 0x36F), (0x370, 0x3FF),
    (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F),
    (0x1100, 0x11FF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x21FF),
    (0x2460, 0x24FF), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF),
    (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF), (0x1D400, 0x1D7FF),
]


def random_texts(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 60)):
            if rng.random() < 0.15:
                chars.append(rng.choice([" ", "  ", "\n", "\t", "'s", "'LL", "123", "\r\n"]))
                continue
            lo, hi = rng.choice(BLOCKS)
            while True:
                c = rng.randint(lo, hi)
                if unicodedata.category(chr(c)) not in ("Cn", "Cs"):
                    break
            chars.append(chr(c))
        out.append("".join(chars))
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def hexs(s):
    return s.encode("utf-8").hex()


def jstr(s):
    """A string as JSON: itself, or {"hex": UTF-8 hex} when it holds a NUL
    (C JSON readers end strings there)."""
    return {"hex": hexs(s)} if "\x00" in s else s


def case(tok, text):
    """ids without and with the post-processor's special tokens, and the
    decodings of the latter; fields equal to the previous one are left out
    (ids_special = ids, decoded = text, decoded_skip = decoded)."""
    ids = tok.encode(text, add_special_tokens=False).ids
    ids_sp = tok.encode(text, add_special_tokens=True).ids
    dec = tok.decode(ids_sp, skip_special_tokens=False)
    dec_skip = tok.decode(ids_sp, skip_special_tokens=True)
    c = {"ids": ids}
    if ids_sp != ids:
        c["ids_special"] = ids_sp
    if dec != text:
        c["decoded"] = jstr(dec)
    if dec_skip != dec:
        c["decoded_skip"] = jstr(dec_skip)
    return c


def decode_cases(tok, texts):
    """Single ids (partial UTF-8 sequences), reversed id lists and ids past
    the vocabulary, each decoded with and without skipping specials."""
    lists = []
    for t in texts:
        ids = tok.encode(t, add_special_tokens=False).ids
        lists += [[i] for i in ids[:8]]
        lists.append(list(reversed(ids)))
    vs = tok.get_vocab_size()
    lists.append([vs, vs + 7, 2**31 - 1, 0, 1])
    out = []
    for ids in lists:
        for skip in (False, True):
            out.append({"ids": ids, "skip_special": skip, "text": jstr(tok.decode(ids, skip_special_tokens=skip))})
    return out


# ---------------------------------------------------------------- chat templates

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# Meta-Llama-3-8B-Instruct's chat_template (its tokenizer_config.json).
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "4"},
     {"role": "user", "content": "And 3+3?"}],
    [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}],
    [{"role": "user", "content": "  padded content with spaces \n"},
     {"role": "assistant", "content": "\n\tanswer\u3000"}],
    [{"role": "user", "content": "안녕? 你好 🙂 <b>bold</b>"}],
    [{"role": "user", "content": "q"}, {"role": "assistant", "content": "calling"},
     {"role": "tool", "content": "result1"}, {"role": "tool", "content": "result2"},
     {"role": "user", "content": "thanks"}],
    [{"role": "user", "content": "Solve x+1=2."},
     {"role": "assistant", "content": "<think>\nx is 1\n</think>\n\nx = 1"},
     {"role": "user", "content": "Sure?"},
     {"role": "assistant", "content": "<think>\nyes\n</think>\n\nYes."}],
    [{"role": "user", "content": "Solve x+1=2."},
     {"role": "assistant", "content": "x = 1"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": ""}],
    [{"role": "user", "content": "<tool_response>\nr\n</tool_response>"}, {"role": "assistant", "content": "ok"}],
]


def chat_fixture():
    cfg = {}
    for name in ("qwen2.5", "qwen3"):
        with open(os.path.join(CACHE, name, "tokenizer_config.json")) as f:
            cfg[name] = json.load(f)["chat_template"]
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_file=os.path.join(ROOT, REAL["llama3.2"]), bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    templates = {
        "chatml": CHATML,
        "qwen2.5": cfg["qwen2.5"],
        "qwen3": cfg["qwen3"],
        "llama3": LLAMA3,
    }
    cases = []
    for tname, tmpl in templates.items():
        for conv in CONVERSATIONS:
            for gen in (False, True):
                text = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen, chat_template=tmpl)
                cases.append({"template": tname, "messages": conv, "add_generation_prompt": gen, "text": text})
    return {"templates": {"chatml": "plain ChatML (jinja written in this script)",
                          "qwen2.5": "real: tests/ref/.cache/tokenizers/qwen2.5/tokenizer_config.json",
                          "qwen3": "real: tests/ref/.cache/tokenizers/qwen3/tokenizer_config.json",
                          "llama3": "Meta-Llama-3-8B-Instruct's template, as written in this script"},
            "bos_token": "<|begin_of_text|>", "cases": cases}


# ---------------------------------------------------------------- trained tokenizers

TRAIN_TEXT = [
    "The quick brown fox jumps over the lazy dog. The cat sat on the mat with another cat.",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "Numbers like 12, 345 and 6789 appear; 3.14159 is pi and 2.71828 is e.",
    "안녕하세요 세계, 你好世界, こんにちは世界! Café déjà vu, naïve façade.",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n",
    "    indented\n\ttabbed\r\nwindows line\n\n  spaces   everywhere  ",
]


def train(vocab_size, specials, full_alphabet, unk=None):
    model = models.BPE(unk_token=unk) if unk else models.BPE()
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    kw = {"initial_alphabet": pre_tokenizers.ByteLevel.alphabet()} if full_alphabet else {}
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False, **kw)
    tok.train_from_iterator(TRAIN_TEXT * 20, trainer)
    return tok


QWEN_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def variant(base_json, edit):
    j = json.loads(base_json)
    edit(j)
    t = Tokenizer.from_str(json.dumps(j))
    return t


def trained_fixture():
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    base = train(400, specials, True)
    small = train(300, specials, False)
    unk = train(300, ["<unk>"] + specials, False, unk="<unk>")
    base_json = base.to_str()

    variants = {}
    variants["bytelevel"] = base
    variants["small_alphabet"] = small  # bytes never seen in training are dropped
    variants["unk"] = unk

    def fuse(j):
        j["model"]["fuse_unk"] = True
    variants["unk_fused"] = variant(unk.to_str(), fuse)

    def prefix(j):
        j["pre_tokenizer"]["add_prefix_space"] = True
    variants["prefix_space"] = variant(base_json, prefix)

    def string_merges(j):
        j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    variants["string_merges"] = variant(base_json, string_merges)

    def ignore_merges(j):
        j["model"]["ignore_merges"] = True
    variants["ignore_merges"] = variant(base_json, ignore_merges)

    def qwen_like(j):
        j["normalizer"] = {"type": "NFC"}
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
    qwen = variant(base_json, qwen_like)
    # Added tokens with every flag, added through the library so that it
    # assigns the ids and writes them back.
    qwen.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False, special=True)])
    qwen.add_tokens([AddedToken("cat", single_word=True, normalized=True),
                     AddedToken("é", normalized=True),
                     AddedToken("[SEP]", rstrip=True, normalized=False),
                     AddedToken("<L>", lstrip=True, normalized=False),
                     AddedToken("ÅB", normalized=True, lstrip=True, rstrip=True),
                     AddedToken(" spaced ", normalized=False)])
    variants["qwen_like_added"] = qwen

    def llama_template(j):
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN_PATTERN.replace(r"\p{N}|", r"\p{N}{1,3}|")},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        ids = {t["content"]: t["id"] for t in j["added_tokens"]}
        j["post_processor"] = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "<|im_end|>", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {
                 "<|endoftext|>": {"id": "<|endoftext|>", "ids": [ids["<|endoftext|>"]], "tokens": ["<|endoftext|>"]},
                 "<|im_end|>": {"id": "<|im_end|>", "ids": [ids["<|im_end|>"]], "tokens": ["<|im_end|>"]}}}]}
    variants["template_bos_eos"] = variant(base_json, llama_template)

    for beh in ("Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"):
        for invert in (False, True):
            def split_beh(j, beh=beh, invert=invert):
                j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": r"\s+|\p{N}"}, "behavior": beh, "invert": invert},
                    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
            variants[f"split_{beh}{'_invert' if invert else ''}"] = variant(base_json, split_beh)

    def split_string(j):
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": "a."}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": "(?i:the)"}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}]}
    variants["split_string_then_regex"] = variant(base_json, split_string)

    for form in ("NFD", "NFKC", "NFKD"):
        def norm(j, form=form):
            j["normalizer"] = {"type": "Sequence", "normalizers": [{"type": form}]}
        variants[f"normalizer_{form}"] = variant(base_json, norm)

    def no_decoder(j):
        j["decoder"] = None
    variants["no_decoder"] = variant(base_json, no_decoder)

    texts = [t for t in CORPUS if len(t) < 100] + random_texts(10, seed=7) + [
        "cat concatenate cat. cats (cat) scat", "e\u0301 é E\u0301", "x<mask>y  <mask>  z", "[SEP]   after",
        "before   <L>", "AB A\u030aB  ÅB  x", "a spaced b  spaced  c", "a.b.a.c the THE tHe", "1 22 333",
        "<|endoftext|><|im_start|>", "\x00\x01\x02\xff\u0100"]
    out = {}
    for name, tok in variants.items():
        out[name] = {"tokenizer": json.loads(tok.to_str()), "cases": [case(tok, t) for t in texts],
                     "decode": decode_cases(tok, ["Hello 世界 🙂", "<|im_start|>x<|im_end|>"])}
    return [jstr(t) for t in texts], out


# ---------------------------------------------------------------- main

def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
            "script": "tests/ref/make_tokenizer_fixtures.py"}
    for rel in REAL.values():
        if not os.path.exists(os.path.join(ROOT, rel)):
            sys.exit(f"{rel} missing: run tests/ref/fetch_tokenizers.sh first")

    chat = chat_fixture()
    chat["meta"] = meta
    chat_texts = sorted({c["text"] for c in chat["cases"]})

    texts = CORPUS + random_texts(40, seed=1234) + chat_texts
    real = {"meta": meta, "texts": [jstr(t) for t in texts], "tokenizers": {}}
    for name, rel in REAL.items():
        path = os.path.join(ROOT, rel)
        tok = Tokenizer.from_file(path)
        special = {"bos_id": None, "eos_id": None, "pad_id": None}
        if os.path.exists(os.path.join(os.path.dirname(path), "tokenizer_config.json")):
            auto = transformers.AutoTokenizer.from_pretrained(os.path.dirname(path))
            special = {"bos_id": auto.bos_token_id, "eos_id": auto.eos_token_id, "pad_id": auto.pad_token_id}
        real["tokenizers"][name] = {
            "path": rel, "size": os.path.getsize(path), "sha256": sha256(path),
            "vocab_size": tok.get_vocab_size(), **special,
            "cases": [case(tok, t) for t in texts],
            "decode": decode_cases(tok, ["你好，世界 🙂 한국어", "<|im_start|>x<|eot_id|>"]),
        }
    ttexts, variants = trained_fixture()
    # The plain trained tokenizer also as a file of its own (tests, fuzz seeds).
    os.makedirs(os.path.join(OUT, "tiny"), exist_ok=True)
    with open(os.path.join(OUT, "tiny", "tokenizer.json"), "w") as f:
        json.dump(variants["bytelevel"]["tokenizer"], f, ensure_ascii=False, indent=1)
        f.write("\n")
    trained = {"meta": meta, "texts": ttexts, "variants": variants}

    for name, obj in (("real.json", real), ("trained.json", trained), ("chat.json", chat)):
        path = os.path.join(OUT, name)
        with open(path, "w") as f:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
