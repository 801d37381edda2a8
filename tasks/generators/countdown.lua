-- countdown.lua — the Countdown numbers game (as in TinyZero): reach a
-- target with + - * / using each given number exactly once.
--
-- Solvable by construction: the numbers are combined in a random order with
-- random operators (subtraction only when the result stays >= 0, division
-- only when it is exact and by more than 1) and the result is the target.
-- The answer is that construction as one expression; the solution its
-- steps; the reference {numbers, target} is what the countdown verifier
-- checks an expression against. The prompt lists the numbers shuffled.
-- difficulty: digits (numbers are 1 .. 10^digits - 1), steps (operations;
-- steps + 1 numbers), max_target (default 10^digits: targets are
-- 1 .. max_target), ops (default "+-*/").

local function pow10(d)
  local p = 1
  for _ = 1, d do p = p * 10 end
  return p
end

local PREC = { ["+"] = 1, ["-"] = 1, ["*"] = 2, ["/"] = 2 }

-- Writes a op b with the parentheses the precedence needs.
local function join(a, op, b)
  local p = PREC[op]
  local left = a.prec < p and "(" .. a.text .. ")" or a.text
  local right = (b.prec < p or (b.prec == p and (op == "-" or op == "/"))) and "(" .. b.text .. ")" or b.text
  return left .. " " .. op .. " " .. right
end

local function try_build(rng, numbers, choices)
  local pool = {}
  for i, n in ipairs(numbers) do pool[i] = { value = n, text = tostring(n), prec = 3 } end
  local lines = {}
  while #pool > 1 do
    local i = rng:int(1, #pool)
    local j = rng:int(1, #pool - 1)
    if j >= i then j = j + 1 end
    local a, b = pool[i], pool[j]
    local valid = {}
    for _, op in ipairs(choices) do
      if op == "+" or op == "*" or (op == "-" and a.value >= b.value)
          or (op == "/" and b.value > 1 and a.value % b.value == 0) then
        valid[#valid + 1] = op
      end
    end
    if #valid == 0 then return nil end
    local op = rng:choice(valid)
    local r
    if op == "+" then r = a.value + b.value
    elseif op == "-" then r = a.value - b.value
    elseif op == "*" then r = a.value * b.value
    else r = a.value // b.value end
    lines[#lines + 1] = string.format("%d %s %d = %d", a.value, op, b.value, r)
    local c = { value = r, text = join(a, op, b), prec = PREC[op] }
    -- Remove the two operands (the higher index first) and add the result.
    table.remove(pool, math.max(i, j))
    table.remove(pool, math.min(i, j))
    pool[#pool + 1] = c
  end
  return pool[1], lines
end

local function generate(rng, difficulty)
  local digits, steps = difficulty.digits, difficulty.steps
  assert(math.type(digits) == "integer" and digits >= 1 and digits <= 6, "difficulty.digits must be 1..6")
  assert(math.type(steps) == "integer" and steps >= 1 and steps <= 8, "difficulty.steps must be 1..8")
  local max_target = difficulty.max_target or pow10(digits)
  assert(math.type(max_target) == "integer" and max_target >= 1, "difficulty.max_target must be a positive integer")
  local ops = difficulty.ops or "+-*/"
  assert(type(ops) == "string" and #ops >= 1 and not ops:find("[^+%-*/]"), "difficulty.ops must hold only + - * /")
  local choices = {}
  for c in ops:gmatch(".") do choices[#choices + 1] = c end
  local hi = pow10(digits) - 1
  for _ = 1, 10000 do
    local numbers = {}
    for i = 1, steps + 1 do numbers[i] = rng:int(1, hi) end
    local result, lines = try_build(rng, numbers, choices)
    if result and result.value >= 1 and result.value <= max_target then
      local shown = rng:shuffle({ table.unpack(numbers) })
      local listed = {}
      for i, n in ipairs(shown) do listed[i] = tostring(n) end
      return {
        prompt = string.format("Using the numbers [%s], create an equation that equals %d. "
          .. "You can use basic arithmetic operations (+, -, *, /) and each number exactly once",
          table.concat(listed, ", "), result.value),
        answer = result.text,
        solution = table.concat(lines, "\n"),
        reference = { numbers = shown, target = result.value },
      }
    end
  end
  error(string.format("no target in 1..%d found for digits=%d steps=%d ops=%s", max_target, digits, steps, ops))
end

return { name = "countdown", version = "1", verifier = "countdown", generate = generate }
