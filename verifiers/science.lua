-- science.lua — the science verifier: multiple-choice letters, and numeric
-- answers with units and a relative tolerance.
--
-- Reference:
--   "C" or {"answer": "C"} (also "(C)"): multiple choice. Optional
--     "choices": n (or a list of n options) limits the letters to A.. (default A-J).
--   {"answer": "9.8 m/s^2"} or {"value": 9.8, "unit": "m/s^2"} or "9.8 m/s^2":
--     numeric, compared after converting units (SI prefixes, common units).
--   Optional "type": "choice" | "numeric" when the guess from the answer is wrong,
--   and "rel_tol" (default 0.01). meta may set type, rel_tol, choices.
--
-- Multiple choice: the answer is read from the last <answer> tag, \boxed{},
-- or "Answer: X" / "the answer is (X)" (rlvr.math_extract does the finding),
-- or a completion that is only a letter. Every standalone option letter in
-- that answer counts: two different letters ("A or C", "A, B, C, D") score 0.
--
-- Numeric: "3.0 \times 10^{8} m/s", "1.2e-3 kg", "2.5\,\mathrm{km}", "45 %".
-- An answer without a unit is read in the gold's unit; an answer whose unit
-- has other dimensions than the gold's scores 0.
--
-- Score 1 or 0; details.status "wrong-format" when no answer can be found.

local M = { name = "science", version = "1" }

local DEFAULT_REL_TOL = 0.01

---------------------------------------------------------------------------
-- units: dimension vectors over (m, kg, s, A, K, mol, cd) and a scale to SI

local function dim(m, kg, s, a, k, mol, cd)
  return { m or 0, kg or 0, s or 0, a or 0, k or 0, mol or 0, cd or 0 }
end

local UNITS = {
  -- base and derived SI
  m = { 1, dim(1) }, g = { 1e-3, dim(0, 1) }, s = { 1, dim(0, 0, 1) }, A = { 1, dim(0, 0, 0, 1) },
  K = { 1, dim(0, 0, 0, 0, 1) }, mol = { 1, dim(0, 0, 0, 0, 0, 1) }, cd = { 1, dim(0, 0, 0, 0, 0, 0, 1) },
  Hz = { 1, dim(0, 0, -1) }, N = { 1, dim(1, 1, -2) }, Pa = { 1, dim(-1, 1, -2) },
  J = { 1, dim(2, 1, -2) }, W = { 1, dim(2, 1, -3) }, C = { 1, dim(0, 0, 1, 1) },
  V = { 1, dim(2, 1, -3, -1) }, F = { 1, dim(-2, -1, 4, 2) }, ohm = { 1, dim(2, 1, -3, -2) },
  S = { 1, dim(-2, -1, 3, 2) }, Wb = { 1, dim(2, 1, -2, -1) }, T = { 1, dim(0, 1, -2, -1) },
  H = { 1, dim(2, 1, -2, -2) }, Bq = { 1, dim(0, 0, -1) }, Gy = { 1, dim(2, 0, -2) },
  L = { 1e-3, dim(3) }, l = { 1e-3, dim(3) },
  -- common non-SI
  eV = { 1.602176634e-19, dim(2, 1, -2) }, cal = { 4.184, dim(2, 1, -2) },
  atm = { 101325, dim(-1, 1, -2) }, bar = { 1e5, dim(-1, 1, -2) }, Torr = { 101325 / 760, dim(-1, 1, -2) },
  torr = { 101325 / 760, dim(-1, 1, -2) }, mmHg = { 133.322387415, dim(-1, 1, -2) },
  psi = { 6894.757293168, dim(-1, 1, -2) },
  min = { 60, dim(0, 0, 1) }, h = { 3600, dim(0, 0, 1) }, hr = { 3600, dim(0, 0, 1) },
  day = { 86400, dim(0, 0, 1) }, yr = { 3.15576e7, dim(0, 0, 1) }, year = { 3.15576e7, dim(0, 0, 1) },
  Angstrom = { 1e-10, dim(1) }, angstrom = { 1e-10, dim(1) },
  ["in"] = { 0.0254, dim(1) }, ft = { 0.3048, dim(1) }, mi = { 1609.344, dim(1) }, yd = { 0.9144, dim(1) },
  lb = { 0.45359237, dim(0, 1) }, u = { 1.66053906660e-27, dim(0, 1) }, Da = { 1.66053906660e-27, dim(0, 1) },
  M = { 1e3, dim(-3, 0, 0, 0, 0, 1) }, -- molar, mol/L
  rad = { 1, dim() }, deg = { math.pi / 180, dim() }, ["%"] = { 0.01, dim() },
  degC = { 1, dim(0, 0, 0, 0, 1), offset = 273.15 }, degF = { 5 / 9, dim(0, 0, 0, 0, 1), offset = 459.67 },
}

-- spelled-out names, plurals and symbols, mapped to the table above
local ALIASES = {
  meter = "m", meters = "m", metre = "m", metres = "m", second = "s", seconds = "s", sec = "s",
  gram = "g", grams = "g", kilogram = "kg", kilograms = "kg", newton = "N", newtons = "N",
  joule = "J", joules = "J", watt = "W", watts = "W", volt = "V", volts = "V", ampere = "A", amp = "A",
  amps = "A", kelvin = "K", pascal = "Pa", hertz = "Hz", coulomb = "C", coulombs = "C", tesla = "T",
  liter = "L", liters = "L", litre = "L", litres = "L", mole = "mol", moles = "mol", mols = "mol",
  minute = "min", minutes = "min", mins = "min", hour = "h", hours = "h", hrs = "h", days = "day",
  years = "yr", ["Ω"] = "ohm", ohms = "ohm", ["Å"] = "Angstrom", degree = "deg", degrees = "deg",
  percent = "%", inch = "in", inches = "in", foot = "ft", feet = "ft", mile = "mi", miles = "mi",
  calorie = "cal", calories = "cal", electronvolt = "eV", atmosphere = "atm", atmospheres = "atm",
}

local PREFIXES = {
  Y = 1e24, Z = 1e21, E = 1e18, P = 1e15, T = 1e12, G = 1e9, M = 1e6, k = 1e3, h = 1e2, da = 1e1,
  d = 1e-1, c = 1e-2, m = 1e-3, u = 1e-6, n = 1e-9, p = 1e-12, f = 1e-15, a = 1e-18, z = 1e-21, y = 1e-24,
}

-- One unit symbol with an optional prefix: "km" -> 1000, dims of m.
local function lookup_unit(sym)
  sym = ALIASES[sym] or sym
  local u = UNITS[sym]
  if u then return u[1], u[2], u.offset end
  for plen = 2, 1, -1 do
    local p, rest = sym:sub(1, plen), sym:sub(plen + 1)
    rest = ALIASES[rest] or rest
    if PREFIXES[p] and #rest > 0 and UNITS[rest] and not UNITS[rest].offset then
      return PREFIXES[p] * UNITS[rest][1], UNITS[rest][2]
    end
  end
  return nil
end

-- A unit expression: factors with powers, '*', '.', ' ' multiply, '/' divides
-- (everything after one '/' is in the denominator unless parenthesized).
-- Returns scale, dims, offset or nil.
local function parse_unit(text)
  local t = text
  t = t:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if t == "" then return 1, dim(), nil, true end
  local scale, dims, offset, nfactors = 1, dim(), nil, 0
  local sign = 1
  local pos, n = 1, #t
  while pos <= n do
    local c = t:sub(pos, pos)
    if c == " " or c == "*" or c == "." then
      pos = pos + 1
    elseif c == "/" then
      sign = -1
      pos = pos + 1
    elseif c == "(" or c == ")" then
      pos = pos + 1
    else
      local sym, epos = t:match("^([%a%%\194-\244][%a\128-\191]*)()", pos)
      if not sym then return nil end
      pos = epos
      local power = 1
      local p, ppos = t:match("^%^%(?([%+%-]?%d+)%)?()", pos)
      if p then
        power, pos = tonumber(p), ppos
      else
        local d, dpos = t:match("^([23])()", pos) -- m2, s2
        if d then power, pos = tonumber(d), dpos end
      end
      local f, fd, off = lookup_unit(sym)
      if not f then return nil end
      if off then
        if nfactors > 0 or power ~= 1 then return nil end -- °C only alone
        offset = off
      end
      power = power * sign
      scale = scale * f ^ power
      for i = 1, 7 do dims[i] = dims[i] + fd[i] * power end
      nfactors = nfactors + 1
    end
  end
  return scale, dims, offset, false
end

local function same_dims(a, b)
  for i = 1, 7 do
    if a[i] ~= b[i] then return false end
  end
  return true
end

---------------------------------------------------------------------------
-- quantities: "3.0 \times 10^{8} m/s" -> 3e8, "m/s"

local function unlatex(s)
  s = s:gsub("%$", "")
  s = s:gsub("\\left", ""):gsub("\\right", "")
  s = s:gsub("\\[,;:! ]", " "):gsub("~", " "):gsub("\\quad", " ")
  s = s:gsub("\\times", "*"):gsub("\\cdot", "*"):gsub("\195\151", "*"):gsub("\194\183", "*")
  s = s:gsub("\226\136\146", "-") -- unicode minus
  s = s:gsub("\\mu%s*", "u"):gsub("\206\188%s*", "u"):gsub("\194\181%s*", "u") -- micro: \mu m is um
  s = s:gsub("\\Omega", "ohm"):gsub("\\AA", "Angstrom")
  s = s:gsub("\\degree", "\194\176")
  s = s:gsub("%^{?\\circ}?%s*C", " degC"):gsub("\194\176%s*C", " degC")
  s = s:gsub("%^{?\\circ}?%s*F", " degF"):gsub("\194\176%s*F", " degF")
  s = s:gsub("%^{?\\circ}?", " deg"):gsub("\194\176", " deg")
  s = s:gsub("\\%%", "%%")
  for _ = 1, 3 do -- \text{...}, \mathrm{...} and friends keep their content
    s = s:gsub("\\(%a+)%s*(%b{})", function(cmd, body)
      if cmd == "frac" or cmd == "dfrac" or cmd == "tfrac" or cmd == "sqrt" then return nil end
      return " " .. body:sub(2, -2) .. " "
    end)
  end
  s = s:gsub("\\[dt]?frac%s*(%b{})%s*(%b{})", function(a, b) return "(" .. a:sub(2, -2) .. ")/(" .. b:sub(2, -2) .. ")" end)
  s = s:gsub("[{}]", "")
  return s
end

-- Splits "2.5e3 km/h" into the number text and the unit text.
local function split_quantity(s)
  s = unlatex(s):gsub("^%s+", ""):gsub("%s+$", ""):gsub("%.$", "")
  -- number: sign, digits with , groups, decimals, e-exponent, then "* 10^k" or "x 10^k"
  local num, rest = s:match("^([%+%-]?%s*[%d%.,]+[eE][%+%-]?%d+)(.*)$")
  if not num then num, rest = s:match("^([%+%-]?%s*[%d%.,]*%d)(.*)$") end
  if not num then
    -- an expression ("(3)/(4) m", "\\sqrt2 m"): the shortest unit tail after a value
    local v = rlvr.math_value(s)
    if v then return v, "" end
    for i = 2, #s do
      local ch = s:sub(i, i)
      if ch:match("[%a%%\194-\244]") and not s:sub(i - 1, i - 1):match("[%a\\\128-\191]") then
        local head, tail = s:sub(1, i - 1), s:sub(i)
        if parse_unit(tail) then
          v = rlvr.math_value(head)
          if v then return v, tail end
        end
      end
    end
    return nil
  end
  local exp10 = 0
  local e, after = rest:match("^%s*[%*xX]%s*10%s*%^%s*%(?([%+%-]?%d+)%)?(.*)$")
  if e then
    exp10, rest = tonumber(e), after
  end
  -- a fraction "3/4 m" or an expression: try the math parser on the number part
  local frac, after2 = rest:match("^(%s*/%s*%d+)(.*)$")
  if frac then
    num, rest = num .. frac, after2
  end
  -- the math parser reads "1,000" as a thousand and "1,2" as a list (not a number)
  local v = rlvr.math_value(num)
  if not v then return nil end
  return v * 10.0 ^ exp10, rest
end

local function read_quantity(s)
  if type(s) == "number" then return s, 1, dim(), nil, true end
  local v, unit = split_quantity(s)
  if not v then return nil end
  local scale, dims, offset, none = parse_unit(unit)
  if not scale then return v, nil, nil, nil, false, unit end
  return v, scale, dims, offset, none, unit
end

local function to_si(v, scale, offset)
  if offset then return (v + offset) * scale end
  return v * scale
end

---------------------------------------------------------------------------
-- multiple choice

local function max_letter(reference, meta)
  local n
  for i = 1, 2 do -- reference first, then meta (which wins); either may be nil
    local src = i == 1 and reference or meta
    if type(src) == "table" and src.choices ~= nil then
      if type(src.choices) == "table" then n = #src.choices else n = tonumber(src.choices) end
    end
  end
  if n and n >= 2 and n <= 26 then return string.char(64 + math.floor(n)) end
  return "J"
end

local function as_letter(s)
  if type(s) ~= "string" then return nil end
  local l = s:match("^%s*%(?%s*(%a)%s*%)?%.?%s*$")
  return l and l:upper()
end

-- Every option letter standing alone in the answer text: "(C)", "C.", "C)", "**C**",
-- "\text{C}", " C " (not inside a word). "A" and "I" followed by a lowercase
-- word other than "and"/"or" are taken as English words ("A large", "I think").
local function letters_in(text, last)
  local t = unlatex(text):gsub("%*", " ")
  local seen, order = {}, {}
  local whole = t:match("^%s*%(?%s*(%a)%s*%)?[%.:]?%s*$")
  if whole then -- a lone letter, in either case: "c", "(C)"
    whole = whole:upper()
    if whole <= last then return { whole } end
    return {}
  end
  local pos = 1
  while true do
    local s, l, e = t:match("()([A-Z])()", pos)
    if not s then break end
    pos = e
    local before = s > 1 and t:sub(s - 1, s - 1) or ""
    local after = t:sub(e, e)
    local standalone = not before:match("[%w]") and not after:match("[%w]")
    if standalone and l <= last then
      local word = (l == "A" or l == "I") and after == " " and t:match("^ +(%l+)", e)
      if not word or word == "and" or word == "or" or whole then
        if not seen[l] then
          seen[l] = true
          order[#order + 1] = l
        end
      end
    end
  end
  return order
end

local function verify_choice(completion, gold, reference, meta)
  local last = max_letter(reference, meta)
  local details = { type = "choice", gold = gold }
  local text, how = rlvr.math_extract(completion, { gsm8k = false })
  if not text then
    if as_letter(completion) then text, how = completion, "whole" end
  end
  if not text and #completion <= 65536 then
    -- "the correct answer would be (C)": the last "answer" followed on its line
    -- by "(X)". Forward finds only (a ".*" pattern backtracks quadratically).
    local last, init = nil, 1
    while true do
      local i, j = completion:find("[Aa]nswer", init)
      if not i then break end
      last, init = j + 1, j + 1
    end
    if last then
      local line = completion:sub(last, last + 200):match("^[^\n]*")
      local t = line:match("(%([A-Z]%))")
      if t then text, how = t, "answer_mention" end
    end
  end
  details.extraction = how
  if not text or text:match("^%s*$") then
    details.status = "wrong-format"
    return 0, details
  end
  details.extracted = #text > 200 and text:sub(1, 200) or text
  local letters = letters_in(text, last)
  details.letters = table.concat(letters, ",")
  if #letters == 0 then
    details.status = "wrong-format"
    return 0, details
  end
  if #letters > 1 then
    details.reason = "several different options given"
    details.status = "ok"
    return 0, details
  end
  details.status = "ok"
  return letters[1] == gold and 1 or 0, details
end

---------------------------------------------------------------------------
-- numeric

local function verify_numeric(completion, gv, gscale, gdims, goffset, gnone, gunit, rel_tol)
  local details = { type = "numeric", rel_tol = rel_tol }
  local text, how = rlvr.math_extract(completion, { gsm8k = true })
  details.extraction = how
  if not text or text:match("^%s*$") then
    details.status = "wrong-format"
    return 0, details
  end
  details.extracted = #text > 200 and text:sub(1, 200) or text
  local v, scale, dims, offset, none, unit = read_quantity(text)
  details.status = "ok"
  if not v then
    details.reason = "no number in the answer"
    return 0, details
  end
  details.value = v
  local want, got
  if not scale then
    -- an unknown unit: only its exact spelling as the gold's will do
    if gunit and unit and unit:gsub("%s", "") == gunit:gsub("%s", "") then
      want, got = gv, v
    else
      details.reason = "unknown unit '" .. tostring(unit) .. "'"
      return 0, details
    end
  elseif not gscale then
    -- the gold's unit is not in the table: only the same spelling will do
    if unit and gunit and unit:gsub("%s", "") == gunit:gsub("%s", "") then
      want, got = gv, v
    else
      details.reason = "the gold's unit is unknown and the answer's differs"
      return 0, details
    end
  elseif none and not gnone and same_dims(gdims, dim()) and gscale ~= 1 then
    -- a pure number against a percent: 0.45 and 45 both stand for 45 %
    want = to_si(gv, gscale, goffset)
    if math.abs(v - want) <= rel_tol * math.abs(want) then
      got = v
    else
      got = to_si(v, gscale, goffset)
    end
  elseif none or gnone then
    -- no unit on one side: read the number in the other side's unit
    if none and not gnone then
      want, got = gv, v
    elseif gnone and not none then
      if not same_dims(dims, dim()) then
        want, got = gv, v -- "5 m" for a gold of 5 without unit: the number counts
      else
        want, got = gv, to_si(v, scale, offset)
      end
    else
      want, got = gv, v
    end
  else
    if not same_dims(dims, gdims) then
      details.reason = "the unit does not match the gold's dimensions"
      return 0, details
    end
    want, got = to_si(gv, gscale, goffset), to_si(v, scale, offset)
  end
  details.gold_si, details.answer_si = want, got
  local diff = math.abs(got - want)
  local ok = diff <= rel_tol * math.abs(want) or (want == 0 and diff <= 1e-12)
  return ok and 1 or 0, details
end

---------------------------------------------------------------------------

function M.verify(completion, reference, meta)
  local gold, kind, rel_tol, gunit_field, gvalue
  if type(reference) == "string" or type(reference) == "number" then
    gold = reference
  elseif type(reference) == "table" then
    gold = reference.answer
    if gold == nil then gold = reference.value end
    gunit_field = reference.unit
    kind = reference.type
    rel_tol = reference.rel_tol
    if reference.value ~= nil then gvalue = reference.value end
  else
    error("science: the reference must be a string, a number or an object with 'answer' or 'value'", 0)
  end
  if type(meta) == "table" then
    kind = meta.type or kind
    rel_tol = meta.rel_tol or rel_tol
  end
  if gold == nil then error("science: the reference has no 'answer' (or 'value') field", 0) end
  rel_tol = tonumber(rel_tol) or DEFAULT_REL_TOL
  if rel_tol < 0 or rel_tol > 1 then error("science: rel_tol must be in [0, 1]", 0) end

  local letter = as_letter(gold)
  if kind == "choice" or (kind == nil and letter) then
    if not letter then error("science: a multiple-choice reference must be one letter", 0) end
    return verify_choice(completion, letter, reference, meta)
  end

  -- numeric gold
  local gv, gscale, gdims, goffset, gnone, gunit
  if type(gvalue) == "number" then
    gv = gvalue
    gscale, gdims, goffset, gnone = parse_unit(gunit_field and unlatex(gunit_field) or "")
    gunit = gunit_field
    if not gscale then gscale, gdims, gnone = nil, nil, false end
  else
    local text = type(gold) == "number" and tostring(gold) or gold
    if gunit_field then text = text .. " " .. gunit_field end
    gv, gscale, gdims, goffset, gnone, gunit = read_quantity(text)
    if not gv then error("science: cannot read the gold value '" .. tostring(gold) .. "'", 0) end
  end
  if not gscale and not gunit then error("science: unknown unit in the gold answer", 0) end
  return verify_numeric(completion, gv, gscale, gdims, goffset, gnone, gunit, rel_tol)
end

return M
