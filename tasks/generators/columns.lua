-- columns.lua — addition worked column by column, with carries: the
-- default run's task (docs/default_run.md), sized for a tiny model trained
-- from scratch on a CPU.
--
-- "47 + 38"; the solution adds one column per line from the units up,
-- writing the carry that comes in ("7+8=15", "4+3+1=8"), and the answer is
-- the last line's sum followed by the units digits of the lines before it
-- (85). With running=true each line also carries the digits of the result
-- found so far ("7+8=15, 5", "4+3+1=8, 85"), so that each line copies from
-- the line before it and the answer is the last line's digits: with three
-- or more digits a tiny model got the columns right and then assembled the
-- answer wrongly from lines far back (docs/default_run.md). Every problem
-- needs the same small set of one-digit facts, so a
-- small model can learn the procedure from 1,000 examples, yet a wrong digit
-- anywhere spoils the answer: greedy decoding is brittle where sampling
-- often finds the right path, which is the signal GRPO feeds on.
-- difficulty: running (default false; true adds the digits found so far to
-- each line, as above),
-- digits (every number has exactly this many digits, 1..9),
-- steps (additions: steps + 1 numbers per problem, 1..4), direct (0..1,
-- default 0: the fraction of items whose solution is empty, so that their
-- worked example states the answer without the columns; drawn after the
-- numbers, so the problems are the same whatever its value), lead (default
-- "": a line put before the columns of every worked example, e.g. lead=Wait,
-- so that a model warm-started on them has learned that "Wait" is followed
-- by the column work: what s1's budget forcing appends when thinking ends
-- too early; docs/eval.md, "Budget forcing on the column task").

local function column_lines(nums, digits, running)
  local lines, carry, sofar = {}, 0, ""
  local total = 0
  for _, n in ipairs(nums) do total = total + n end
  for col = 1, digits do
    local parts, sum = {}, 0
    for i, n in ipairs(nums) do
      local d = (n // (10 ^ (col - 1) // 1)) % 10
      parts[i] = tostring(math.tointeger(d))
      sum = sum + d
    end
    local lhs = table.concat(parts, "+")
    if carry > 0 then lhs = lhs .. "+" .. carry end
    sum = math.tointeger(sum + carry)
    sofar = (col == digits and tostring(sum) or tostring(sum % 10)) .. sofar
    lines[#lines + 1] = lhs .. "=" .. sum .. (running and ", " .. sofar or "")
    carry = sum // 10
  end
  return lines, math.tointeger(total)
end

local function generate(rng, difficulty)
  local digits, steps = difficulty.digits, difficulty.steps
  assert(math.type(digits) == "integer" and digits >= 1 and digits <= 9, "difficulty.digits must be 1..9")
  assert(math.type(steps) == "integer" and steps >= 1 and steps <= 4, "difficulty.steps must be 1..4")
  local lo = digits == 1 and 0 or math.tointeger(10 ^ (digits - 1))
  local hi = math.tointeger(10 ^ digits) - 1
  local nums, shown = {}, {}
  for i = 1, steps + 1 do
    nums[i] = rng:int(lo, hi)
    shown[i] = tostring(nums[i])
  end
  local direct = difficulty.direct or 0
  assert(type(direct) == "number" and direct >= 0 and direct <= 1, "difficulty.direct must be a number in [0, 1]")
  local running = difficulty.running
  if running == nil then running = false end
  assert(type(running) == "boolean", "difficulty.running must be true or false")
  local lines, total = column_lines(nums, digits, running)
  local skip = direct > 0 and rng:float() < direct
  local lead = difficulty.lead or ""
  assert(type(lead) == "string" and not lead:find("\n"), "difficulty.lead must be a string without newlines")
  if lead ~= "" then table.insert(lines, 1, lead) end
  return {
    prompt = table.concat(shown, " + "),
    answer = total,
    solution = skip and "" or table.concat(lines, "\n"),
  }
end

return { name = "columns", version = "1", verifier = "math", generate = generate }
