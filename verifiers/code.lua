-- code.lua — the code verifier: takes the last fenced code block of the
-- requested language from a completion, runs it in the sandboxed executor
-- (rlvr.exec, verifiers/exec.h) against the reference's tests, and scores
-- the fraction of tests passed (or 1/0 for all-or-nothing).
--
-- Reference (a JSON object; docs/executor.md has the full description):
--   stdin/stdout tests:
--     {"language": "python", "tests": [{"stdin": "1 2\n", "stdout": "3\n"}, ...]}
--   function-call tests (the answer defines the function; the verifier adds a
--   harness that calls it and prints each result as JSON):
--     {"language": "python", "fn_name": "add", "tests": [{"args": [1, 2], "expected": 3}, ...]}
--     fn_name may be "Class.method" (the class is instantiated without arguments).
--   APPS/TACO style is accepted too: {"inputs": [...], "outputs": [...], "fn_name"?}.
--   Optional: timeout_ms (per test, default 2000), memory_mb (default 512),
--   scoring ("fraction" | "all"), abs_tol and rel_tol (default 1e-6),
--   budget_ms (all tests together, default 8000).
-- meta may override scoring, budget_ms, timeout_ms and language.
--
-- Comparison always happens here, outside the candidate's process: the
-- expected values never enter the sandbox, so a program that forges the
-- harness's output still has to produce the right values.
--
-- Returns score, details; details.status is "wrong-format" when no code
-- block of the language is found. A sandbox that cannot be set up raises an
-- error (an infrastructure failure, never a score).

local M = { name = "code", version = "1" }

local DEFAULTS = {
  timeout_ms = 2000,
  memory_mb = 512,
  budget_ms = 8000,
  abs_tol = 1e-6,
  rel_tol = 1e-6,
  scoring = "fraction",
}
local MAX_DETAIL_TESTS = 20

local LANG_TAGS = {
  python = { python = true, py = true, python3 = true, py3 = true },
  lua = { lua = true },
}
local LANG_ALIASES = { python = "python", python3 = "python", py = "python", lua = "lua", ["lua5.4"] = "lua" }

-- JSON ---------------------------------------------------------------------

-- null inside decoded harness output; compares equal to nil.
local NULL = setmetatable({}, { __tostring = function() return "null" end })

local function json_decode(s, max_depth)
  local pos = 1
  local byte, sub, find = string.byte, string.sub, string.find
  local function fail(msg) error({ json = msg .. " at byte " .. pos }, 0) end
  local function ws()
    pos = find(s, "[^ \t\r\n]", pos) or #s + 1
  end
  local value
  local escapes = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t" }
  local function str()
    pos = pos + 1
    local parts, n = {}, 0
    while true do
      local a = find(s, '["\\]', pos)
      if not a then fail("unterminated string") end
      n = n + 1
      parts[n] = sub(s, pos, a - 1)
      if byte(s, a) == 34 then
        pos = a + 1
        return table.concat(parts)
      end
      local e = byte(s, a + 1)
      if e == 117 then
        local hex = sub(s, a + 2, a + 5)
        if not hex:match("^%x%x%x%x$") then fail("bad \\u escape") end
        local cp = tonumber(hex, 16)
        pos = a + 6
        if cp >= 0xD800 and cp <= 0xDBFF and sub(s, pos, pos + 1) == "\\u" then
          local lo = tonumber(sub(s, pos + 2, pos + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            pos = pos + 6
          end
        end
        n = n + 1
        parts[n] = utf8.char(cp)
      elseif escapes[e] then
        n = n + 1
        parts[n] = escapes[e]
        pos = a + 2
      else
        fail("bad escape")
      end
    end
  end
  local function num()
    local a, b = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if not a then
      for lit, v in pairs({ NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }) do
        if sub(s, pos, pos + #lit - 1) == lit then
          pos = pos + #lit
          return v
        end
      end
      fail("unexpected character")
    end
    local text = sub(s, a, b)
    pos = b + 1
    if text:match("^-?%d+$") then
      local i = math.tointeger(tonumber(text))
      if i and #text < 19 then return i end
    end
    local v = tonumber(text)
    if not v then fail("bad number") end
    return v + 0.0
  end
  function value(depth)
    if depth > max_depth then fail("nested too deep") end
    ws()
    local c = byte(s, pos)
    if c == 123 then -- {
      pos = pos + 1
      local t = {}
      ws()
      if byte(s, pos) == 125 then
        pos = pos + 1
        return t
      end
      while true do
        ws()
        if byte(s, pos) ~= 34 then fail("expected a key") end
        local k = str()
        ws()
        if byte(s, pos) ~= 58 then fail("expected ':'") end
        pos = pos + 1
        t[k] = value(depth + 1)
        ws()
        local d = byte(s, pos)
        pos = pos + 1
        if d == 125 then return t end
        if d ~= 44 then fail("expected ',' or '}'") end
      end
    elseif c == 91 then -- [
      pos = pos + 1
      local t, n = {}, 0
      ws()
      if byte(s, pos) == 93 then
        pos = pos + 1
        return t
      end
      while true do
        n = n + 1
        t[n] = value(depth + 1)
        ws()
        local d = byte(s, pos)
        pos = pos + 1
        if d == 93 then return t end
        if d ~= 44 then fail("expected ',' or ']'") end
      end
    elseif c == 34 then
      return str()
    elseif sub(s, pos, pos + 3) == "true" then
      pos = pos + 4
      return true
    elseif sub(s, pos, pos + 4) == "false" then
      pos = pos + 5
      return false
    elseif sub(s, pos, pos + 3) == "null" then
      pos = pos + 4
      return NULL
    else
      return num()
    end
  end
  local ok, v = pcall(function()
    local v = value(0)
    ws()
    if pos <= #s then fail("trailing text") end
    return v
  end)
  if ok then return v end
  if type(v) == "table" and v.json then return nil, v.json end
  error(v, 0)
end

-- The largest positive integer key of t, and whether t has other keys.
local function array_extent(t)
  local n, other = 0, false
  for k in pairs(t) do
    if math.type(k) == "integer" and k > 0 then
      if k > n then n = k end
    else
      other = true
    end
  end
  return n, other
end

local function json_encode(v, out, depth)
  depth = depth or 0
  if depth > 64 then error("code: reference value nested too deep", 0) end
  local t = type(v)
  if v == nil or v == NULL then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v ~= v then
      out[#out + 1] = "NaN"
    elseif v == math.huge then
      out[#out + 1] = "Infinity"
    elseif v == -math.huge then
      out[#out + 1] = "-Infinity"
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "string" then
    out[#out + 1] = '"' .. v:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
    end) .. '"'
  elseif t == "table" then
    local n, other = array_extent(v)
    if not other then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        json_encode(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        json_encode(k, out, depth + 1)
        out[#out + 1] = ":"
        local val = v[k]
        if val == nil then val = v[math.tointeger(tonumber(k)) or k] end
        json_encode(val, out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    error("code: cannot encode a " .. t .. " as JSON", 0)
  end
  return out
end

local function to_json(v) return table.concat(json_encode(v, {})) end

-- A Lua literal for a JSON-like value (for the Lua harness).
local function lua_literal(v, out, depth)
  depth = depth or 0
  if depth > 64 then error("code: reference value nested too deep", 0) end
  local t = type(v)
  if v == nil or v == NULL then
    out[#out + 1] = "nil"
  elseif t == "boolean" or t == "number" or t == "string" then
    out[#out + 1] = string.format("%q", v)
  elseif t == "table" then
    local n, other = array_extent(v)
    out[#out + 1] = "{"
    for i = 1, n do
      lua_literal(v[i], out, depth + 1)
      out[#out + 1] = ","
    end
    if other then
      for k, val in pairs(v) do
        if not (math.type(k) == "integer" and k > 0) then
          out[#out + 1] = "["
          lua_literal(k, out, depth + 1)
          out[#out + 1] = "]="
          lua_literal(val, out, depth + 1)
          out[#out + 1] = ","
        end
      end
    end
    out[#out + 1] = "}"
  else
    error("code: cannot pass a " .. t .. " to a Lua function", 0)
  end
  return out
end

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", string.byte(c)) end))
end

-- Code extraction -------------------------------------------------------------

-- All complete fenced blocks (``` or ~~~, up to 3 spaces of indent, closed
-- by a fence of the same character at least as long), in order, as
-- {tag = lower-cased first word of the info string, body = text}.
local function fenced_blocks(text)
  local blocks = {}
  local pos, len = 1, #text
  local open = nil -- {char, count, tag, lines}
  while pos <= len do
    local e = string.find(text, "\n", pos, true)
    local line = string.sub(text, pos, (e or len + 1) - 1)
    pos = (e or len) + 1
    if string.sub(line, -1) == "\r" then line = string.sub(line, 1, -2) end
    local indent, fence, info = string.match(line, "^( ? ? ?)(```+)(.*)$")
    if not fence then indent, fence, info = string.match(line, "^( ? ? ?)(~~~+)(.*)$") end
    if open then
      if fence and string.sub(fence, 1, 1) == open.char and #fence >= open.count and info:match("^%s*$") then
        blocks[#blocks + 1] = { tag = open.tag, body = table.concat(open.lines, "\n") }
        open = nil
      else
        open.lines[#open.lines + 1] = line
      end
    elseif fence and not (string.sub(fence, 1, 1) == "`" and string.find(info, "`", 1, true)) then
      local tag = string.lower(string.match(info, "^%s*([^%s{]*)") or "")
      open = { char = string.sub(fence, 1, 1), count = #fence, tag = tag, lines = {} }
    end
  end
  return blocks -- an unclosed block at the end (a cut-off answer) does not count
end

-- The last block tagged with the language; failing that, the last untagged
-- block. A block tagged with another language never counts.
local function extract_code(text, lang)
  local blocks = fenced_blocks(text)
  local tags = LANG_TAGS[lang]
  for i = #blocks, 1, -1 do
    if tags[blocks[i].tag] then return blocks[i].body, blocks[i].tag end
  end
  for i = #blocks, 1, -1 do
    if blocks[i].tag == "" then return blocks[i].body, "" end
  end
  return nil
end

-- Comparison ------------------------------------------------------------------

local function is_int_literal(s) return string.match(s, "^[+-]?%d+$") ~= nil end

local function is_decimal_literal(s)
  local m = string.match(s, "^(.-)[eE][+-]?%d+$") or s
  return string.match(m, "^[+-]?%d+%.?%d*$") ~= nil or string.match(m, "^[+-]?%.%d+$") ~= nil
end

-- "-007" -> "-", "7"; zero has no sign.
local function int_parts(s)
  local sign, digits = string.match(s, "^([+-]?)(%d+)$")
  digits = string.match(digits, "^0*(%d-)$")
  if digits == "" then return "", "0" end
  return sign == "-" and "-" or "", digits
end

local function float_close(a, b, tol)
  if a ~= a or b ~= b then return false end
  if a == b then return true end
  if a == math.huge or a == -math.huge or b == math.huge or b == -math.huge then return false end
  local d = math.abs(a - b)
  return d <= tol.abs or d <= tol.rel * math.abs(b)
end

-- One output token against one expected token.
local function token_eq(got, want, tol)
  if got == want then return true end
  if is_int_literal(want) then
    -- An integer answer: exact, so that big integers are compared digit by
    -- digit; "3.0" and "3.00" count as 3, "3.0000001" does not.
    local g = string.match(got, "^([+-]?%d+)%.0*$") or got
    if not is_int_literal(g) then return false end
    local s1, d1 = int_parts(g)
    local s2, d2 = int_parts(want)
    return s1 == s2 and d1 == d2
  end
  if is_decimal_literal(want) and is_decimal_literal(got) then
    return float_close(tonumber(got), tonumber(want), tol)
  end
  return false
end

-- Whole outputs, token by token (whitespace of any kind separates tokens,
-- so trailing spaces and a missing final newline do not matter). The counts
-- must match: a prefix of the expected output earns nothing, nor does extra
-- output. Returns ok, and a short note on the first difference.
local function output_eq(got, want, tol)
  local ng, nw = string.gmatch(got, "%S+"), string.gmatch(want, "%S+")
  local i = 0
  while true do
    local g, w = ng(), nw()
    i = i + 1
    if g == nil and w == nil then return true end
    if g == nil then return false, "output ends at token " .. i end
    if w == nil then return false, "extra output from token " .. i end
    if not token_eq(g, w, tol) then
      return false, string.format("token %d: got %q, expected %q", i, string.sub(g, 1, 40), string.sub(w, 1, 40))
    end
  end
end

-- A returned value against an expected one (both JSON-like Lua values).
local function value_eq(got, want, tol, depth)
  if got == NULL then got = nil end
  if want == NULL then want = nil end
  if depth > 64 then return false end
  local tg, tw = type(got), type(want)
  if tg == "number" and tw == "number" then
    if math.type(want) == "integer" then return got == want end
    return float_close(got, want, tol)
  end
  if tg ~= tw then return false end
  if tg ~= "table" then return got == want end
  for k, v in pairs(want) do
    if not value_eq(got[k], v, tol, depth + 1) then return false end
  end
  for k, v in pairs(got) do
    if want[k] == nil and v ~= NULL then return false end
  end
  return true
end

-- Harnesses -----------------------------------------------------------------

local PY_HARNESS = [==[
def _rlvr_harness():
    import os, sys, json
    nonce = "@NONCE@"
    out = os.dup(1)
    os.dup2(2, 1)  # the candidate's prints go to stderr; results go to `out`
    write, dumps, loads = os.write, json.dumps, json.loads
    def emit(line):
        data = (nonce + " " + line + "\n").encode("utf-8", "replace")
        while data:
            data = data[write(out, data):]
    src = bytes.fromhex("@SOURCE@").decode("utf-8", "replace")
    cases = loads(bytes.fromhex("@CASES@").decode("utf-8"))
    fn_name = "@FN@"
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        # LeetCode-style answers use List, Optional, ... without importing them.
        exec("from typing import *", ns)
        exec(compile(src, "solution.py", "exec"), ns)
    except BaseException as e:
        emit("load-error " + dumps(type(e).__name__ + ": " + str(e)[:300]))
        return
    try:
        parts = fn_name.split(".")
        if len(parts) == 2:
            f = getattr(ns[parts[0]](), parts[1])
        else:
            f = ns[fn_name]
        if not callable(f):
            raise TypeError("not callable")
    except BaseException as e:
        emit("missing-fn " + dumps(type(e).__name__))
        return
    for i, c in enumerate(cases):
        try:
            r = f(*c[0], **c[1])
            s = dumps(r)
        except BaseException as e:
            emit("%d err %s" % (i, dumps(type(e).__name__ + ": " + str(e)[:200])))
        else:
            emit("%d ok %s" % (i, s))
_rlvr_harness()
]==]

local LUA_HARNESS = [==[
local nonce = @NONCE@
local src = @SOURCE@
local fn_name = @FN@
local cases = @CASES@
local out, stderr = io.stdout, io.stderr
local fmt, concat, mtype = string.format, table.concat, math.type
local function enc(v, buf, depth)
  local t = type(v)
  if depth > 100 then error("nested too deep") end
  if v == nil then buf[#buf + 1] = "null"
  elseif t == "boolean" then buf[#buf + 1] = tostring(v)
  elseif t == "number" then
    if mtype(v) == "integer" then buf[#buf + 1] = fmt("%d", v)
    elseif v ~= v then buf[#buf + 1] = "NaN"
    elseif v == math.huge then buf[#buf + 1] = "Infinity"
    elseif v == -math.huge then buf[#buf + 1] = "-Infinity"
    else buf[#buf + 1] = fmt("%.17g", v) end
  elseif t == "string" then
    buf[#buf + 1] = '"' .. v:gsub('[%c"\\]', function(c) return fmt("\\u%04x", c:byte()) end) .. '"'
  elseif t == "table" then
    local n, count = #v, 0
    for _ in pairs(v) do count = count + 1 end
    if count == n then
      buf[#buf + 1] = "["
      for i = 1, n do if i > 1 then buf[#buf + 1] = "," end enc(v[i], buf, depth + 1) end
      buf[#buf + 1] = "]"
    else
      buf[#buf + 1] = "{"
      local first = true
      for k, x in pairs(v) do
        if not first then buf[#buf + 1] = "," end
        first = false
        enc(tostring(k), buf, depth + 1); buf[#buf + 1] = ":"; enc(x, buf, depth + 1)
      end
      buf[#buf + 1] = "}"
    end
  else error("cannot encode a " .. t) end
  return buf
end
local function emit(line) out:write(nonce, " ", line, "\n"); out:flush() end
local function json(v) return concat(enc(v, {}, 0)) end
-- The candidate's output goes to stderr; results go to the real stdout.
local env = setmetatable({}, { __index = _G })
env._G = env
env.print = function(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  stderr:write(concat(t, "\t"), "\n")
end
env.io = setmetatable({ write = function(...) return stderr:write(...) end, stdout = stderr,
  output = function() return stderr end }, { __index = io })
local chunk, err = load(src, "=solution.lua", "t", env)
if not chunk then emit("load-error " .. json(tostring(err))) return end
local ok, mod = pcall(chunk)
if not ok then emit("load-error " .. json(tostring(mod))) return end
local f = (type(mod) == "table" and mod[fn_name]) or rawget(env, fn_name)
if type(f) ~= "function" then emit("missing-fn " .. json(type(f))) return end
for i, c in ipairs(cases) do
  local ok2, r = pcall(f, table.unpack(c, 1, c.n))
  if ok2 then
    local ok3, s = pcall(json, r)
    if ok3 then emit((i - 1) .. " ok " .. s) else emit((i - 1) .. " err " .. json(tostring(s))) end
  else
    emit((i - 1) .. " err " .. json(tostring(r)))
  end
end
]==]

local function fill(template, subs)
  return (template:gsub("@(%u+)@", function(k) return subs[k] end))
end

-- A fresh nonce per call: it only frames the harness's lines (a candidate
-- can read it; forging lines does not help without the expected values).
local function nonce()
  local t = {}
  for i = 1, 4 do t[i] = string.format("%08x", math.random(0, 0x7fffffff)) end
  return "RLVR" .. table.concat(t)
end

local function present(v) return v ~= nil and v ~= NULL end

local function python_harness(code, fn_name, tests, nc)
  -- cases: [[args, kwargs], ...]; kwargs is written by hand so that an
  -- empty one is an object, not an array.
  local parts = { "[" }
  for i, t in ipairs(tests) do
    if i > 1 then parts[#parts + 1] = "," end
    local args = present(t.args) and t.args or {}
    local kwargs = (present(t.kwargs) and next(t.kwargs)) and to_json(t.kwargs) or "{}"
    parts[#parts + 1] = "[" .. to_json(args) .. "," .. kwargs .. "]"
  end
  parts[#parts + 1] = "]"
  return fill(PY_HARNESS, {
    NONCE = nc,
    SOURCE = hex(code),
    CASES = hex(table.concat(parts)),
    FN = (fn_name:gsub("[^%w_%.]", "")),
  })
end

local function lua_harness(code, fn_name, tests, nc)
  local parts = { "{" }
  for _, t in ipairs(tests) do
    local args = present(t.args) and t.args or {}
    local n = array_extent(args)
    local lit = lua_literal(args, {})
    lit[#lit] = "n=" .. n .. "}" -- replace the closing brace: {a, b, n = 2}
    parts[#parts + 1] = table.concat(lit)
    parts[#parts + 1] = ","
  end
  parts[#parts + 1] = "}"
  return fill(LUA_HARNESS, {
    NONCE = string.format("%q", nc),
    SOURCE = string.format("%q", code),
    CASES = table.concat(parts),
    FN = string.format("%q", fn_name),
  })
end

-- Reference -----------------------------------------------------------------

local function as_number(v, what, lo, hi)
  if v == nil or v == NULL then return nil end
  if type(v) ~= "number" or v ~= v or v < lo or v > hi then
    error(string.format("code: %s must be a number in [%g, %g]", what, lo, hi), 0)
  end
  return v
end

local function pick(name, ref, meta)
  if type(meta) == "table" and meta[name] ~= nil and meta[name] ~= NULL then return meta[name] end
  if ref[name] ~= nil and ref[name] ~= NULL then return ref[name] end
  return nil
end

-- Normalises the reference to {lang, mode = "stdio"|"function", fn_name,
-- tests, options}; raises an error naming the field on bad input.
local function read_reference(reference, meta)
  local ref = reference
  if type(ref) == "string" then
    local v, err = json_decode(ref, 64)
    if v == nil then error("code: reference is not JSON: " .. err, 0) end
    ref = v
  end
  if type(ref) ~= "table" then error("code: reference must be a JSON object", 0) end
  local lang = pick("language", ref, meta) or "python"
  if type(lang) ~= "string" or not LANG_ALIASES[string.lower(lang)] then
    error("code: reference.language must be python or lua", 0)
  end
  lang = LANG_ALIASES[string.lower(lang)]
  local fn_name = ref.fn_name
  if fn_name == NULL then fn_name = nil end
  if fn_name ~= nil and (type(fn_name) ~= "string" or not fn_name:match("^[%a_][%w_]*%.?[%a_]?[%w_]*$")) then
    error("code: reference.fn_name must be an identifier (or Class.method)", 0)
  end
  local tests = ref.tests
  if tests == nil and ref.inputs ~= nil then
    if type(ref.inputs) ~= "table" or type(ref.outputs) ~= "table" then
      error("code: reference.inputs and reference.outputs must be arrays", 0)
    end
    tests = {}
    for i = 1, array_extent(ref.inputs) do
      if fn_name then
        tests[i] = { args = ref.inputs[i], expected = ref.outputs[i] }
      else
        tests[i] = { stdin = ref.inputs[i], stdout = ref.outputs[i] }
      end
    end
  end
  if type(tests) ~= "table" then error("code: reference.tests must be an array", 0) end
  local n = array_extent(tests)
  if n == 0 then error("code: reference.tests is empty", 0) end
  for i = 1, n do
    local t = tests[i]
    if type(t) ~= "table" then error("code: reference.tests[" .. i .. "] must be an object", 0) end
    if fn_name then
      if t.args ~= nil and t.args ~= NULL and type(t.args) ~= "table" then
        error("code: reference.tests[" .. i .. "].args must be an array", 0)
      end
      if t.kwargs ~= nil and t.kwargs ~= NULL and (type(t.kwargs) ~= "table" or lang ~= "python") then
        error("code: reference.tests[" .. i .. "].kwargs must be an object (python only)", 0)
      end
    else
      if t.stdin ~= nil and t.stdin ~= NULL and type(t.stdin) ~= "string" then
        error("code: reference.tests[" .. i .. "].stdin must be a string", 0)
      end
      if type(t.stdout) ~= "string" then error("code: reference.tests[" .. i .. "].stdout must be a string", 0) end
    end
  end
  local scoring = pick("scoring", ref, meta) or DEFAULTS.scoring
  if scoring ~= "fraction" and scoring ~= "all" then error("code: scoring must be fraction or all", 0) end
  local opt = {
    timeout_ms = as_number(pick("timeout_ms", ref, meta), "timeout_ms", 1, 600000) or DEFAULTS.timeout_ms,
    memory_mb = as_number(pick("memory_mb", ref, meta), "memory_mb", 16, 65536) or DEFAULTS.memory_mb,
    budget_ms = as_number(pick("budget_ms", ref, meta), "budget_ms", 1, 3600000) or DEFAULTS.budget_ms,
    tol = {
      abs = as_number(pick("abs_tol", ref, meta), "abs_tol", 0, 1e300) or DEFAULTS.abs_tol,
      rel = as_number(pick("rel_tol", ref, meta), "rel_tol", 0, 1e300) or DEFAULTS.rel_tol,
    },
    scoring = scoring,
  }
  return { lang = lang, fn_name = fn_name, tests = tests, n = n, opt = opt }
end

-- Running -------------------------------------------------------------------

local function exec_or_raise(lang, src, stdin, limits)
  local r = rlvr.exec(lang, src, stdin, limits)
  if r.status == "sandbox-error" then error("code: executor sandbox-error: " .. tostring(r.message), 0) end
  return r
end

local function run_stdio(code, ref, details)
  local opt, results, spent = ref.opt, {}, 0
  for i = 1, ref.n do
    local t = ref.tests[i]
    local left = opt.budget_ms - spent
    local res
    if left < 10 or (opt.scoring == "all" and details.failed > 0) then
      res = { passed = false, status = left < 10 and "budget" or "skipped" }
    else
      local want = t.stdout
      local cap = math.min(8 << 20, 2 * #want + 65536)
      local r = exec_or_raise(ref.lang, code, (t.stdin ~= NULL and t.stdin) or "", {
        timeout_ms = math.floor(math.min(opt.timeout_ms, left)),
        memory_mb = math.floor(opt.memory_mb),
        output_bytes = cap,
      })
      spent = spent + r.wall_ms
      details.isolation = r.isolation
      res = { status = r.status, wall_ms = math.floor(r.wall_ms + 0.5) }
      if r.status == "ok" then
        local ok, why = output_eq(r.stdout, want, opt.tol)
        res.passed = ok
        res.why = why
      else
        res.passed = false
        if r.status == "error" then res.why = string.sub(r.stderr, -300) end
      end
    end
    results[i] = res
    if res.passed then details.passed = details.passed + 1 else details.failed = details.failed + 1 end
  end
  details.wall_ms = math.floor(spent + 0.5)
  return results
end

local function run_function(code, ref, details)
  local opt, n = ref.opt, ref.n
  local nc = nonce()
  local src
  if ref.lang == "python" then
    src = python_harness(code, ref.fn_name, ref.tests, nc)
  else
    src = lua_harness(code, ref.fn_name, ref.tests, nc)
  end
  local r = exec_or_raise(ref.lang, src, "", {
    timeout_ms = math.floor(math.min(opt.budget_ms, opt.timeout_ms * n + 1000)),
    memory_mb = math.floor(opt.memory_mb),
    output_bytes = 4 << 20,
  })
  details.isolation = r.isolation
  details.wall_ms = math.floor(r.wall_ms + 0.5)
  details.run_status = r.status
  -- Lines "<nonce> <i> ok <json>" or "<nonce> <i> err <json>"; anything
  -- else is ignored. A test index seen twice fails (forged lines).
  local seen, results = {}, {}
  local prefix = nc .. " "
  for line in string.gmatch(r.stdout, "[^\n]+") do
    if string.sub(line, 1, #prefix) == prefix then
      local rest = string.sub(line, #prefix + 1)
      local idx, kind, payload = string.match(rest, "^(%d+) (%a+) (.*)$")
      if idx then
        local i = math.tointeger(tonumber(idx)) + 1
        if i >= 1 and i <= n then
          seen[i] = (seen[i] or 0) + 1
          results[i] = { kind = kind, payload = payload }
        end
      else
        local what, msg = string.match(rest, "^(%S+) ?(.*)$")
        details.harness = what
        details.why = string.sub(msg or "", 1, 300)
      end
    end
  end
  local out = {}
  for i = 1, n do
    local res = { passed = false }
    local got = results[i]
    if seen[i] and seen[i] > 1 then
      res.status = "duplicate"
    elseif not got then
      res.status = r.status == "ok" and "missing" or r.status
    elseif got.kind ~= "ok" then
      res.status = "exception"
      res.why = string.sub(got.payload, 1, 200)
    else
      local v, err = json_decode(got.payload, 64)
      if v == nil and err then
        res.status = "bad-json"
      else
        res.status = "ok"
        local want = ref.tests[i].expected
        res.passed = value_eq(v, want, opt.tol, 0)
        if not res.passed then
          res.why = "got " .. string.sub(got.payload, 1, 80)
        end
      end
    end
    out[i] = res
    if res.passed then details.passed = details.passed + 1 else details.failed = details.failed + 1 end
  end
  return out
end

function M.verify(completion, reference, meta)
  local ref = read_reference(reference, meta)
  local details = {
    status = "ok",
    language = ref.lang,
    mode = ref.fn_name and "function" or "stdio",
    total = ref.n,
    passed = 0,
    failed = 0,
  }
  if type(completion) ~= "string" then completion = "" end
  local code, tag = extract_code(completion, ref.lang)
  if not code or not string.find(code, "%S") then
    details.status = "wrong-format"
    details.why = "no ```" .. ref.lang .. " code block"
    return 0, details
  end
  details.block_tag = tag
  local results
  if ref.fn_name then
    results = run_function(code, ref, details)
  else
    results = run_stdio(code, ref, details)
  end
  local shown = {}
  for i = 1, math.min(ref.n, MAX_DETAIL_TESTS) do shown[i] = results[i] end
  details.tests = shown
  details.failed = nil
  local score
  if ref.opt.scoring == "all" then
    score = details.passed == ref.n and 1 or 0
  else
    score = details.passed / ref.n
  end
  return score, details
end

return M
