-- countdown.lua — the countdown verifier: the answer is an arithmetic
-- expression over the given numbers that evaluates exactly to the target.
--
-- Reference: {"numbers": [25, 4, 100, 76], "target": 24}, optionally
--   "use_all": true  (default) each number exactly once, as in TinyZero's task;
--              false each number at most once, as in the TV game.
-- meta may set use_all too (meta wins).
--
-- The answer is read from the last <answer>...</answer>, else the last
-- \boxed{}, else "answer: ..." (rlvr.math_extract). "expr = 24" is accepted
-- (every side that is an expression is checked, and every side must equal the
-- target). The expression may use + - * / (also × ÷ \times \div \cdot) and
-- brackets, nothing else; it is evaluated exactly (rationals), so 7/3*3 is 7
-- and division by zero is an error. A number used twice, or a number that was
-- not given (including one made by gluing digits, "25" from 2 and 5), scores 0.
-- Score 1 or 0; details.status "wrong-format" when no answer can be found.

local M = { name = "countdown", version = "1" }

local function int_list(v, what)
  if type(v) ~= "table" then error("countdown: reference." .. what .. " must be a list of integers", 0) end
  local out = {}
  for i, x in ipairs(v) do
    if math.type(x) ~= "integer" then
      local n = tonumber(x)
      if not n or n ~= math.floor(n) then error("countdown: reference." .. what .. "[" .. i .. "] is not an integer", 0) end
      x = math.tointeger(n)
    end
    out[#out + 1] = x
  end
  return out
end

function M.verify(completion, reference, meta)
  if type(reference) ~= "table" then
    error("countdown: the reference must be an object {numbers = [...], target = N}", 0)
  end
  local numbers = int_list(reference.numbers, "numbers")
  if #numbers == 0 then error("countdown: reference.numbers is empty", 0) end
  local target = reference.target
  if type(target) ~= "number" and type(target) ~= "string" then
    error("countdown: reference.target is missing", 0)
  end
  local use_all = reference.use_all
  if type(meta) == "table" and meta.use_all ~= nil then use_all = meta.use_all end
  if use_all == nil then use_all = true end

  local details = { target = tostring(target), use_all = use_all and true or false }
  local text, how = rlvr.math_extract(completion, { gsm8k = false })
  details.extraction = how
  if not text or text:match("^%s*$") then
    details.status = "wrong-format"
    return 0, details
  end
  details.extracted = #text > 200 and text:sub(1, 200) or text
  details.status = "ok"

  -- split "expr = target" into sides; the sides with operators are the expressions
  local sides = {}
  for part in (text .. "="):gmatch("([^=]*)=") do sides[#sides + 1] = part end
  local expr_side
  for _, part in ipairs(sides) do
    if part:match("^%s*$") then
      details.reason = "empty side of '='"
      return 0, details
    end
    local value, used = rlvr.arith_eval(part)
    if not value then
      details.reason = used -- the error message
      return 0, details
    end
    if rlvr.rat(value, "cmp", target) ~= 0 then
      details.reason = "evaluates to " .. value .. ", not " .. tostring(target)
      details.value = value
      return 0, details
    end
    -- the side with the most numbers is the expression whose numbers are checked
    if not expr_side or #used > #expr_side then expr_side = used end
  end

  -- the numbers used must come from the given ones
  local available = {}
  for _, n in ipairs(numbers) do available[n] = (available[n] or 0) + 1 end
  for _, n in ipairs(expr_side) do
    if not available[n] or available[n] == 0 then
      details.reason = "uses " .. n .. " more often than given (or not given)"
      return 0, details
    end
    available[n] = available[n] - 1
  end
  if use_all then
    for n, left in pairs(available) do
      if left > 0 then
        details.reason = "does not use " .. n
        return 0, details
      end
    end
  end
  details.value = tostring(target)
  return 1, details
end

return M
