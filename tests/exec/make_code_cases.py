#!/usr/bin/env python3
"""Writes tests/verifiers/cases/code.jsonl: labeled cases for verifiers/code.lua.

Rerun (plain python3, standard library only):
    python3 tests/exec/make_code_cases.py > tests/verifiers/cases/code.jsonl

Every expect_score below is labeled by hand from what the program does (the
verifier is never run to produce them). Each line:
    {"note", "completion", "reference", "meta"?, "expect_score", "expect_status"}
expect_status: "ok", "wrong-format", or "verifier-error" (a malformed reference).
Programs that loop or flood use small timeouts so the suite stays quick.
"""
import json

cases = []


def md(code, tag="python", before="Here is my solution.\n\n", after="\nThis runs in O(n).\n"):
    return f"{before}```{tag}\n{code}```{after}"


def add(note, completion, reference, score, status="ok", meta=None):
    c = {"note": note, "completion": completion, "reference": reference,
         "expect_score": score, "expect_status": status}
    if meta is not None:
        c["meta"] = meta
    cases.append(c)


# ---------------------------------------------------------------- problems
SUM = {"language": "python", "tests": [
    {"stdin": "1 2\n", "stdout": "3\n"},
    {"stdin": "-5 5\n", "stdout": "0\n"},
    {"stdin": "1000000000000 1000000000000\n", "stdout": "2000000000000\n"}]}
SUM_FAST = dict(SUM, timeout_ms=250)
REV = {"language": "python", "tests": [
    {"stdin": "abc\n", "stdout": "cba\n"},
    {"stdin": "hello world\n", "stdout": "dlrow olleh\n"}]}
SQRT = {"language": "python", "tests": [
    {"stdin": "2\n", "stdout": "1.414214\n"},
    {"stdin": "9\n", "stdout": "3.000000\n"},
    {"stdin": "10\n", "stdout": "3.162278\n"}]}
FACT = {"language": "python", "tests": [
    {"stdin": "25\n", "stdout": "15511210043330985984000000\n"},
    {"stdin": "0\n", "stdout": "1\n"}]}
MULTI = {"language": "python", "tests": [
    {"stdin": "3\n1 2\n3 4\n5 6\n", "stdout": "2\n12\n30\n"},
    {"stdin": "1\n7 7\n", "stdout": "49\n"}]}
FN_ADD = {"language": "python", "fn_name": "add", "tests": [
    {"args": [1, 2], "expected": 3},
    {"args": [-4, 4], "expected": 0},
    {"args": [10**15, 1], "expected": 10**15 + 1},
    {"args": [2.5, 0.25], "expected": 2.75}]}
FN_ADD_FAST = dict(FN_ADD, timeout_ms=250, budget_ms=1500)
FN_SORT = {"language": "python", "fn_name": "sort_desc", "tests": [
    {"args": [[3, 1, 2]], "expected": [3, 2, 1]},
    {"args": [[]], "expected": []},
    {"args": [[5, 5, -1]], "expected": [5, 5, -1]}]}
FN_TWOSUM = {"language": "python", "fn_name": "Solution.twoSum", "tests": [
    {"args": [[2, 7, 11, 15], 9], "expected": [0, 1]},
    {"args": [[3, 2, 4], 6], "expected": [1, 2]}]}
FN_STATS = {"language": "python", "fn_name": "stats", "tests": [
    {"args": [[1, 2, 3, 4]], "expected": {"mean": 2.5, "max": 4, "name": "s"}},
    {"args": [[10]], "expected": {"mean": 10, "max": 10, "name": "s"}}]}
FN_DIV = {"language": "python", "fn_name": "div", "tests": [
    {"args": [1, 3], "expected": 0.3333333333},
    {"args": [2, 3], "expected": 0.6666666667}]}
FN_KW = {"language": "python", "fn_name": "greet", "tests": [
    {"args": ["Ann"], "kwargs": {"punct": "!"}, "expected": "Hello, Ann!"},
    {"args": ["Bo"], "expected": "Hello, Bo."}]}
FN_NONE = {"language": "python", "fn_name": "find", "tests": [
    {"args": [[1, 2, 3], 2], "expected": 1},
    {"args": [[1, 2, 3], 9], "expected": None}]}
FN_BOOL = {"language": "python", "fn_name": "is_even", "tests": [
    {"args": [2], "expected": True},
    {"args": [3], "expected": False}]}
LUA_SUM = {"language": "lua", "tests": SUM["tests"]}
LUA_FN = {"language": "lua", "fn_name": "add", "tests": [
    {"args": [1, 2], "expected": 3},
    {"args": [-4, 4], "expected": 0},
    {"args": [2.5, 0.25], "expected": 2.75}]}
LUA_FN_TABLE = {"language": "lua", "fn_name": "squares", "tests": [
    {"args": [3], "expected": [1, 4, 9]},
    {"args": [1], "expected": [1]}]}

SUM_OK = "a, b = map(int, input().split())\nprint(a + b)\n"
SUM_OK_SYS = "import sys\na, b = map(int, sys.stdin.read().split())\nsys.stdout.write(str(a + b))\n"
SUM_WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"
ADD_OK = "def add(a, b):\n    return a + b\n"

# ---------------------------------------------------------------- stdio, python, correct
add("sum: correct", md(SUM_OK), SUM, 1)
add("sum: correct, reads all stdin, no final newline", md(SUM_OK_SYS), SUM, 1)
add("sum: correct with a main guard", md("def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\nif __name__ == '__main__':\n    main()\n"), SUM, 1)
add("sum: trailing spaces and blank lines are ignored", md("a, b = map(int, input().split())\nprint(str(a + b) + '   ')\nprint()\nprint()\n"), SUM, 1)
add("sum: reads with open(0)", md("a, b = map(int, open(0).read().split())\nprint(a + b)\n"), SUM, 1)
add("sum: writes a scratch file then prints", md("a, b = map(int, input().split())\nopen('t.txt', 'w').write(str(a + b))\nprint(open('t.txt').read())\n"), SUM, 1)
add("sum: tag py", md(SUM_OK, tag="py"), SUM, 1)
add("sum: tag Python3 with attributes", md(SUM_OK, tag="Python3 {.numberLines}"), SUM, 1)
add("sum: untagged block is used when no python block exists", md(SUM_OK, tag=""), SUM, 1)
add("sum: tilde fence", "Solution:\n~~~python\n" + SUM_OK + "~~~\n", SUM, 1)
add("sum: CRLF line endings", md(SUM_OK).replace("\n", "\r\n"), SUM, 1)
add("sum: last python block wins (earlier one wrong)", md(SUM_WRONG) + "\nFixed:\n" + md(SUM_OK), SUM, 1)
add("sum: python block followed by an untagged output block", md(SUM_OK) + "\nOutput:\n```\n3\n```\n", SUM, 1)
add("sum: python block followed by a bash block", md(SUM_OK) + "\nRun it:\n```bash\npython3 main.py\n```\n", SUM, 1)
add("sum: prints debug output to stderr (ignored)", md("import sys\na, b = map(int, input().split())\nprint('debug', a, b, file=sys.stderr)\nprint(a + b)\n"), SUM, 1)
add("reverse: correct", md("print(input()[::-1])\n"), REV, 1)
add("sqrt: full precision is within 1e-6", md("import math\nprint(math.sqrt(int(input())))\n"), SQRT, 1)
add("sqrt: 6 decimals", md("import math\nprint('%.6f' % math.sqrt(int(input())))\n"), SQRT, 1)
add("sqrt: 2 decimals is outside the tolerance (only sqrt(9) = 3.00 passes)", md("import math\nprint('%.2f' % math.sqrt(int(input())))\n"), SQRT, 1 / 3)
add("sqrt: abs_tol 0.01 accepts 2 decimals", md("import math\nprint('%.2f' % math.sqrt(int(input())))\n"), dict(SQRT, abs_tol=0.01), 1)
add("sqrt: scientific notation is a number", md("import math\nprint('%e' % math.sqrt(int(input())))\n"), SQRT, 1)
add("factorial: exact big integer", md("import math\nprint(math.factorial(int(input())))\n"), FACT, 1)
add("factorial: float is not an exact integer (0! = 1.0 still equals 1)", md("import math\nprint(float(math.factorial(int(input()))))\n"), FACT, 0.5)
add("factorial: leading zeros compare as the same integer", md("import math\nprint('000' + str(math.factorial(int(input()))))\n"), FACT, 1)
add("multi: correct", md("t = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n    print(a * b)\n"), MULTI, 1)
add("multi: answers on one line (whitespace-insensitive)", md("t = int(input())\nprint(' '.join(str(a*b) for a, b in (map(int, input().split()) for _ in range(t))))\n"), MULTI, 1)
add("multi: integer printed as 2.0", md("t = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n    print(float(a * b))\n"), MULTI, 1)
add("multi: integer printed as 2.0000001 is wrong", md("t = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n    print(a * b + 1e-7)\n"), MULTI, 0)

# ---------------------------------------------------------------- stdio, python, wrong or hostile
add("sum: wrong answer", md(SUM_WRONG), SUM, 0)
add("sum: hardcodes the first test's answer", md("print(3)\n"), SUM, 1 / 3)
add("multi: prints only the first answer: a prefix fails, the one-case test passes", md("t = int(input())\na, b = map(int, input().split())\nprint(a * b)\n"), MULTI, 0.5)
add("sum: prints an extra line", md("a, b = map(int, input().split())\nprint(a + b)\nprint('done')\n"), SUM, 0)
add("sum: prints the answer twice", md("a, b = map(int, input().split())\nprint(a + b)\nprint(a + b)\n"), SUM, 0)
add("sum: prints nothing", md("a, b = map(int, input().split())\n"), SUM, 0)
add("sum: prints to stderr only", md("import sys\na, b = map(int, input().split())\nprint(a + b, file=sys.stderr)\n"), SUM, 0)
add("sum: exit(0) before printing", md("import sys\nsys.exit(0)\na, b = map(int, input().split())\nprint(a + b)\n"), SUM, 0)
add("sum: correct output then exit code 1", md("import sys\na, b = map(int, input().split())\nprint(a + b)\nsys.exit(1)\n"), SUM, 0)
add("sum: correct output then an exception", md("a, b = map(int, input().split())\nprint(a + b)\nraise ValueError('late')\n"), SUM, 0)
add("sum: os._exit(0) drops buffered output", md("import os\na, b = map(int, input().split())\nprint(a + b)\nos._exit(0)\n"), SUM, 0)
add("sum: os._exit(0) after an explicit flush is fine", md("import os, sys\na, b = map(int, input().split())\nprint(a + b)\nsys.stdout.flush()\nos._exit(0)\n"), SUM, 1)
add("sum: syntax error", md("a, b = map(int input().split())\nprint(a + b)\n"), SUM, 0)
add("sum: infinite loop", md("while True:\n    pass\n"), SUM_FAST, 0)
add("sum: correct but sleeps past the timeout", md("import time\ntime.sleep(5)\n" + SUM_OK), SUM_FAST, 0)
add("sum: fork bomb", md("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"), SUM_FAST, 0)
add("sum: memory bomb", md("x = []\nwhile True:\n    x.append(b'x' * (1 << 24))\n"), dict(SUM_FAST, memory_mb=128), 0)
add("sum: output flood", md("while True:\n    print('3' * 10000)\n"), SUM_FAST, 0)
add("sum: prints 'Accepted' / 'All tests passed'", md("print('All tests passed')\nprint('Accepted')\n"), SUM, 0)
add("sum: reads the expected output from the case file", md("import json\nfor l in open('/work/main/tests/verifiers/cases/code.jsonl'):\n    print(l)\n"), SUM, 0)
add("sum: looks for test files around it", md("import os\nfor d in ['.', '..', '/', '/tmp', '/work']:\n    try:\n        for f in os.listdir(d):\n            if 'test' in f or 'expected' in f:\n                print(open(os.path.join(d, f)).read())\n    except Exception:\n        pass\n"), SUM, 0)
add("sum: reads the parent's environment", md("import os\nprint(open('/proc/%d/environ' % os.getppid()).read())\n"), SUM, 0)
add("sum: shells out to find the answers", md("import os\nos.system('cat /work/main/tests/verifiers/cases/*.jsonl /work/main/tests/exec/*.py')\n"), SUM, 0)
add("sum: tries the network", md("import socket\ns = socket.create_connection(('127.0.0.1', 80), timeout=1)\nprint(s.recv(100))\n"), SUM, 0)
add("sum: kills its parent", md("import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept Exception:\n    pass\nprint(3)\n"), SUM, 1 / 3)
add("sum: writes outside its scratch directory", md("for p in ['/tmp/../usr/x', '/usr/lib/x', '/work/x']:\n    try:\n        open(p, 'w').write('3')\n    except Exception:\n        pass\n"), SUM, 0)
add("sum: a correct program that also tries to escape still passes", md("import os\ntry:\n    os.setsid()\nexcept OSError:\n    pass\n" + SUM_OK), SUM, 1)

# ---------------------------------------------------------------- format
add("format: no code block", "The answer is to add a and b: print(a+b).", SUM, 0, "wrong-format")
add("format: empty completion", "", SUM, 0, "wrong-format")
add("format: only a lua block when python is asked", md("local a, b = io.read('n', 'n')\nprint(a + b)\n", tag="lua"), SUM, 0, "wrong-format")
add("format: only a cpp block", md("#include <cstdio>\nint main(){long a,b;scanf(\"%ld %ld\",&a,&b);printf(\"%ld\",a+b);}\n", tag="cpp"), SUM, 0, "wrong-format")
add("format: unclosed block (cut-off answer)", "```python\n" + SUM_OK, SUM, 0, "wrong-format")
add("format: empty python block", md("\n"), SUM, 0, "wrong-format")
add("format: inline code span is not a fence", "Use ```print(int(input())+1)``` here.", SUM, 0, "wrong-format")
add("format: four-space-indented fence is not a fence", "    ```python\n    print(3)\n    ```\n", SUM, 0, "wrong-format")
add("format: last python block is wrong (earlier one right)", md(SUM_OK) + "\nActually:\n" + md(SUM_WRONG), SUM, 0)
add("format: a bare fence line inside the code ends the block (CommonMark)", md("s = '''\n```\n'''\n" + SUM_OK), SUM, 0)
add("format: longer closing fence closes", "```python\n" + SUM_OK + "`````\n", SUM, 1)

# ---------------------------------------------------------------- stdio, lua
LUA_SUM_OK = "local a, b = io.read('n', 'n')\nprint(math.tointeger(a + b) or a + b)\n"
add("lua sum: correct", md(LUA_SUM_OK, tag="lua"), LUA_SUM, 1)
add("lua sum: wrong", md("local a, b = io.read('n', 'n')\nprint(a * b)\n", tag="lua"), LUA_SUM, 0)
add("lua sum: python block when lua is asked", md(SUM_OK), LUA_SUM, 0, "wrong-format")
add("lua sum: infinite loop", md("while true do end\n", tag="lua"), dict(LUA_SUM, timeout_ms=250), 0)
add("lua sum: os.exit(1) after the right output", md(LUA_SUM_OK + "os.exit(1)\n", tag="lua"), LUA_SUM, 0)
add("lua sum: language from meta", md(LUA_SUM_OK, tag="lua"), SUM, 1, meta={"language": "lua"})
add("lua sum: tries os.execute to read the cases", md("os.execute('cat /work/main/tests/verifiers/cases/code.jsonl')\n", tag="lua"), LUA_SUM, 0)

# ---------------------------------------------------------------- function calls, python
add("fn add: correct", md(ADD_OK), FN_ADD, 1)
add("fn add: correct with type hints and a docstring", md("def add(a: float, b: float) -> float:\n    \"\"\"Sum.\"\"\"\n    return a + b\n"), FN_ADD, 1)
add("fn add: wrong", md("def add(a, b):\n    return a - b\n"), FN_ADD, 0)
add("fn add: integer-only answer fails the float test", md("def add(a, b):\n    return int(a + b)\n"), FN_ADD, 0.75)
add("fn add: missing function", md("def plus(a, b):\n    return a + b\n"), FN_ADD, 0)
add("fn add: name bound to a non-function", md("add = 3\n"), FN_ADD, 0)
add("fn add: prints results instead of returning", md("def add(a, b):\n    print(a + b)\n"), FN_ADD, 0)
add("fn add: prints noise at top level and in the function", md("print('loading')\ndef add(a, b):\n    print('adding', a, b)\n    return a + b\nprint(add(1, 2))\n"), FN_ADD, 1)
add("fn add: top-level code reads stdin", md("n = int(input())\ndef add(a, b):\n    return a + b\n"), FN_ADD, 0)
add("fn add: main guard does not run", md(ADD_OK + "if __name__ == '__main__':\n    print(add(int(input()), 1))\n"), FN_ADD, 1)
add("fn add: sys.exit at top level", md("import sys\ndef add(a, b):\n    return a + b\nsys.exit(0)\n"), FN_ADD, 0)
add("fn add: os._exit at top level", md("import os\ndef add(a, b):\n    return a + b\nos._exit(0)\n"), FN_ADD, 0)
add("fn add: raises on one test", md("def add(a, b):\n    if a < 0:\n        raise ValueError('neg')\n    return a + b\n"), FN_ADD, 0.75)
add("fn add: sys.exit inside the function", md("import sys\ndef add(a, b):\n    sys.exit(0)\n"), FN_ADD, 0)
add("fn add: infinite loop in the function", md("def add(a, b):\n    while True:\n        pass\n"), FN_ADD_FAST, 0)
add("fn add: returns True for everything", md("def add(a, b):\n    return True\n"), FN_ADD, 0)
add("fn add: returns a string", md("def add(a, b):\n    return str(a + b)\n"), FN_ADD, 0)
add("fn add: returns an object that equals everything", md("class Any:\n    def __eq__(self, o):\n        return True\ndef add(a, b):\n    return Any()\n"), FN_ADD, 0)
add("fn add: returns float('nan')", md("def add(a, b):\n    return float('nan')\n"), FN_ADD, 0)
add("fn add: overrides json.dumps to print the right-looking value", md("import json\njson.dumps = lambda *a, **k: '3'\ndef add(a, b):\n    return 0\n"), FN_ADD, 0.25)
add("fn add: patches the JSON encoder class", md("import json\njson.JSONEncoder.encode = lambda self, o: '3'\ndef add(a, b):\n    return 0\n"), FN_ADD, 0.25)
add("fn add: overrides print and builtins", md("import builtins\nbuiltins.print = lambda *a, **k: None\nbuiltins.repr = lambda o: '3'\ndef add(a, b):\n    return 0\n"), FN_ADD, 0.25)
add("fn add: forges result lines on stdout without the nonce", md("import os\nfor i in range(4):\n    os.write(1, b'%d ok 3\\n' % i)\n    os.write(3, b'X %d ok 3\\n' % i)\ndef add(a, b):\n    return 0\n"), FN_ADD, 0.25)
add("fn add: reads the nonce from its caller and forges every line, then exits",
    md("import sys, os, re\nf = sys._getframe(1)\nwhile f and 'nonce' not in f.f_locals:\n    f = f.f_back\nn = f.f_locals['nonce'] if f else 'x'\nfor fd in (1, f.f_locals['out'] if f else 3):\n    for i in range(4):\n        try:\n            os.write(fd, ('%s %d ok 3\\n' % (n, i)).encode())\n        except OSError:\n            pass\nos._exit(0)\n"),
    FN_ADD, 0.25)
add("fn add: correct, but forged duplicate lines fail every test", md("import sys, os, atexit\nf = sys._getframe(1)\nn = f.f_locals.get('nonce', 'x')\nout = f.f_locals.get('out', 3)\natexit.register(lambda: [os.write(out, ('%s %d ok 3\\n' % (n, i)).encode()) for i in range(4)])\ndef add(a, b):\n    return a + b\n"), FN_ADD, 0)
add("fn add: reads the expected values from the case file", md("import json\ndef add(a, b):\n    for l in open('/work/main/tests/verifiers/cases/code.jsonl'):\n        pass\n    return 0\n"), FN_ADD, 0)
add("fn add: lambda binding", md("add = lambda a, b: a + b\n"), FN_ADD, 1)
add("fn sort: correct", md("def sort_desc(xs):\n    return sorted(xs, reverse=True)\n"), FN_SORT, 1)
add("fn sort: returns a tuple (JSON array)", md("def sort_desc(xs):\n    return tuple(sorted(xs, reverse=True))\n"), FN_SORT, 1)
add("fn sort: sorts ascending", md("def sort_desc(xs):\n    return sorted(xs)\n"), FN_SORT, 1 / 3)
add("fn sort: returns a set (not JSON)", md("def sort_desc(xs):\n    return set(xs)\n"), FN_SORT, 0)
add("fn sort: sorts in place and returns None", md("def sort_desc(xs):\n    xs.sort(reverse=True)\n"), FN_SORT, 0)
add("fn twoSum: LeetCode class with typing names not imported", md("class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n                return [seen[target - x], i]\n            seen[x] = i\n"), FN_TWOSUM, 1)
add("fn twoSum: wrong order", md("class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n                return [i, seen[target - x]]\n            seen[x] = i\n"), FN_TWOSUM, 0)
add("fn twoSum: class missing", md("def twoSum(nums, target):\n    return [0, 1]\n"), FN_TWOSUM, 0)
add("fn stats: dict result", md("def stats(xs):\n    return {'mean': sum(xs) / len(xs), 'max': max(xs), 'name': 's'}\n"), FN_STATS, 1)
add("fn stats: extra key", md("def stats(xs):\n    return {'mean': sum(xs) / len(xs), 'max': max(xs), 'name': 's', 'n': len(xs)}\n"), FN_STATS, 0)
add("fn stats: missing key", md("def stats(xs):\n    return {'mean': sum(xs) / len(xs), 'max': max(xs)}\n"), FN_STATS, 0)
add("fn div: float within tolerance", md("def div(a, b):\n    return a / b\n"), FN_DIV, 1)
add("fn div: rounded to 2 places", md("def div(a, b):\n    return round(a / b, 2)\n"), FN_DIV, 0)
add("fn greet: kwargs", md("def greet(name, punct='.'):\n    return 'Hello, ' + name + punct\n"), FN_KW, 1)
add("fn greet: ignores kwargs", md("def greet(name, **kw):\n    return 'Hello, ' + name + '.'\n"), FN_KW, 0.5)
add("fn find: None is null", md("def find(xs, x):\n    return xs.index(x) if x in xs else None\n"), FN_NONE, 1)
add("fn find: -1 is not null", md("def find(xs, x):\n    return xs.index(x) if x in xs else -1\n"), FN_NONE, 0.5)
add("fn is_even: booleans", md("def is_even(n):\n    return n % 2 == 0\n"), FN_BOOL, 1)
add("fn is_even: 1/0 are not booleans", md("def is_even(n):\n    return 1 if n % 2 == 0 else 0\n"), FN_BOOL, 0)
add("fn add: APPS-style inputs/outputs", md(ADD_OK), {"fn_name": "add", "inputs": [[1, 2], [3, 4]], "outputs": [3, 7]}, 1)
add("stdio: APPS-style inputs/outputs", md(SUM_OK), {"inputs": ["1 2\n", "5 6\n"], "outputs": ["3\n", "11\n"]}, 1)
add("stdio: reference given as a JSON string", md(SUM_OK), json.dumps(SUM), 1)

# ---------------------------------------------------------------- function calls, lua
LUA_ADD = "function add(a, b)\n  return a + b\nend\n"
add("lua fn add: correct", md(LUA_ADD, tag="lua"), LUA_FN, 1)
add("lua fn add: module style", md("local M = {}\nfunction M.add(a, b) return a + b end\nreturn M\n", tag="lua"), LUA_FN, 1)
add("lua fn add: local function is not visible", md("local function add(a, b) return a + b end\n", tag="lua"), LUA_FN, 0)
add("lua fn add: wrong", md("function add(a, b) return a * b end\n", tag="lua"), LUA_FN, 0)
add("lua fn add: integer division breaks the float test", md("function add(a, b) return (a + b) // 1 end\n", tag="lua"), LUA_FN, 2 / 3)
add("lua fn add: errors on negatives", md("function add(a, b) assert(a >= 0) return a + b end\n", tag="lua"), LUA_FN, 2 / 3)
add("lua fn add: prints noise", md("print('hi')\nio.write('noise\\n')\nfunction add(a, b) print(a, b) return a + b end\n", tag="lua"), LUA_FN, 1)
add("lua fn add: os.exit at load", md("function add(a, b) return a + b end\nos.exit(0)\n", tag="lua"), LUA_FN, 0)
add("lua fn add: infinite loop", md("function add(a, b) while true do end end\n", tag="lua"), dict(LUA_FN, timeout_ms=250, budget_ms=1500), 0)
add("lua fn add: syntax error", md("function add(a, b) return a + end\n", tag="lua"), LUA_FN, 0)
add("lua fn add: forges lines on the real stdout", md("io.stdout:write('0 ok 3\\n1 ok 0\\n2 ok 2.75\\n')\nfunction add(a, b) return 0 end\n", tag="lua"), LUA_FN, 1 / 3)
add("lua fn squares: array result", md("function squares(n)\n  local t = {}\n  for i = 1, n do t[i] = i * i end\n  return t\nend\n", tag="lua"), LUA_FN_TABLE, 1)
add("lua fn squares: off by one", md("function squares(n)\n  local t = {}\n  for i = 1, n - 1 do t[i] = i * i end\n  return t\nend\n", tag="lua"), LUA_FN_TABLE, 0)

# ---------------------------------------------------------------- scoring
add("scoring all: partial is 0", md("print(3)\n"), dict(SUM, scoring="all"), 0)
add("scoring all: full is 1", md(SUM_OK), dict(SUM, scoring="all"), 1)
add("scoring all from meta (0.75 as a fraction)", md("def add(a, b):\n    return int(a + b)\n"), FN_ADD, 0, meta={"scoring": "all"})
add("scoring fraction from meta overrides the reference", md("print(3)\n"), dict(SUM, scoring="all"), 1 / 3, meta={"scoring": "fraction"})
add("budget: only the first test fits the budget", md("import time\ntime.sleep(0.3)\n" + SUM_OK), dict(SUM, budget_ms=600, timeout_ms=2000), 1 / 3)

# ---------------------------------------------------------------- malformed references
add("reference: no tests", md(SUM_OK), {"language": "python"}, 0, "verifier-error")
add("reference: empty tests", md(SUM_OK), {"tests": []}, 0, "verifier-error")
add("reference: unknown language", md(SUM_OK), dict(SUM, language="cobol"), 0, "verifier-error")
add("reference: stdout not a string", md(SUM_OK), {"tests": [{"stdin": "1 2", "stdout": 3}]}, 0, "verifier-error")
add("reference: bad fn_name", md(SUM_OK), {"fn_name": "os.system('x')", "tests": [{"args": [], "expected": 0}]}, 0, "verifier-error")
add("reference: not an object", md(SUM_OK), [1, 2, 3], 0, "verifier-error")
add("reference: bad scoring", md(SUM_OK), dict(SUM, scoring="best"), 0, "verifier-error")

for c in cases:
    print(json.dumps(c, ensure_ascii=False))
