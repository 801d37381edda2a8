-- arith.lua — multi-step integer arithmetic with worked steps.
--
-- "What is 47 + 18 - 23?"; the solution does one operation per line
-- ("47 + 18 = 65", "65 - 23 = 42"), products first when ops includes "*",
-- then sums left to right; the answer is the integer result.
-- difficulty: digits (each operand has at most this many digits), steps
-- (operations per problem), ops (the operators to draw from; default "+-",
-- may hold "+", "-" and "*").

local function pow10(d)
  local p = 1
  for _ = 1, d do p = p * 10 end
  return p
end

local function generate(rng, difficulty)
  local digits, steps = difficulty.digits, difficulty.steps
  local ops = difficulty.ops or "+-"
  assert(math.type(digits) == "integer" and digits >= 1 and digits <= 9, "difficulty.digits must be 1..9")
  assert(math.type(steps) == "integer" and steps >= 1, "difficulty.steps must be >= 1")
  assert(type(ops) == "string" and #ops >= 1 and not ops:find("[^+%-*]"), "difficulty.ops must hold only + - *")
  local choices = {}
  for c in ops:gmatch(".") do choices[#choices + 1] = c end
  local hi = pow10(digits) - 1
  local nums, opl = { rng:int(0, hi) }, {}
  for i = 1, steps do
    opl[i] = rng:choice(choices)
    nums[i + 1] = rng:int(0, hi)
  end
  local parts = { tostring(nums[1]) }
  for i = 1, steps do
    parts[#parts + 1] = opl[i]
    parts[#parts + 1] = tostring(nums[i + 1])
  end
  local expression = table.concat(parts, " ")
  -- Worked steps: products left to right, then sums and differences.
  local lines = {}
  local v, o = { table.unpack(nums) }, { table.unpack(opl) }
  local i = 1
  while i <= #o do
    if o[i] == "*" then
      local r = v[i] * v[i + 1]
      lines[#lines + 1] = string.format("%d * %d = %d", v[i], v[i + 1], r)
      v[i] = r
      table.remove(v, i + 1)
      table.remove(o, i)
    else
      i = i + 1
    end
  end
  local acc = v[1]
  for k = 1, #o do
    local r = o[k] == "+" and acc + v[k + 1] or acc - v[k + 1]
    lines[#lines + 1] = string.format("%d %s %d = %d", acc, o[k], v[k + 1], r)
    acc = r
  end
  return {
    prompt = "What is " .. expression .. "?",
    answer = acc,
    solution = table.concat(lines, "\n"),
  }
end

return { name = "arith", version = "1", verifier = "math", generate = generate }
