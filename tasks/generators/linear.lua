-- linear.lua — linear equations in one unknown, with worked steps.
--
-- steps = 1: "Solve for x: 3x + 7 = 19"; steps >= 2: x on both sides,
-- "Solve for x: 5x - 3 = 2x + 9". The solution moves the x terms left and
-- the constants right, then divides. Integer solutions by construction
-- (x is drawn first); with rational = true the coefficients are drawn
-- first and x is their quotient, written as a reduced fraction "p/q"
-- (an integer when q = 1).
-- difficulty: digits (coefficients, constants and x have at most this many
-- digits), steps (1 or 2+, as above), rational (default false).

local function pow10(d)
  local p = 1
  for _ = 1, d do p = p * 10 end
  return p
end

local function gcd(a, b)
  a, b = math.abs(a), math.abs(b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

-- A nonzero integer in [-hi, hi].
local function nonzero(rng, hi)
  local v = rng:int(1, hi)
  return rng:int(0, 1) == 0 and v or -v
end

-- "3x", "x", "-x", "-12x".
local function xterm(a)
  if a == 1 then return "x" elseif a == -1 then return "-x" end
  return tostring(a) .. "x"
end

-- "3x + 7", "x - 2", "-4x" (b = 0 is left out).
local function side(a, b)
  local s = xterm(a)
  if b > 0 then s = s .. " + " .. b elseif b < 0 then s = s .. " - " .. -b end
  return s
end

-- The fraction n/d reduced, as text: "4", "-3/2".
local function fraction(n, d)
  if d < 0 then n, d = -n, -d end
  local g = gcd(n, d)
  n, d = n // g, d // g
  if d == 1 then return tostring(n) end
  return n .. "/" .. d
end

local function generate(rng, difficulty)
  local digits, steps = difficulty.digits, difficulty.steps
  assert(math.type(digits) == "integer" and digits >= 1 and digits <= 6, "difficulty.digits must be 1..6")
  assert(math.type(steps) == "integer" and steps >= 1, "difficulty.steps must be >= 1")
  local rational = difficulty.rational == true
  local hi = pow10(digits) - 1
  local a, b, c, d, x
  repeat
    a = nonzero(rng, hi)
    c = steps >= 2 and nonzero(rng, hi) or 0
  until a ~= c
  b = rng:int(-hi, hi)
  if rational then
    d = rng:int(-hi, hi)
  else
    x = rng:int(-hi, hi)
    d = (a - c) * x + b
  end
  local left, right = side(a, b), c ~= 0 and side(c, d) or tostring(d)
  local lines = { left .. " = " .. right }
  local k, rhs = a - c, d - b
  if c ~= 0 then
    local moved = xterm(a) .. (c > 0 and " - " .. xterm(c) or " + " .. xterm(-c))
    local consts = tostring(d)
    if b > 0 then consts = consts .. " - " .. b elseif b < 0 then consts = consts .. " + " .. -b end
    lines[#lines + 1] = moved .. " = " .. consts
  elseif b ~= 0 then
    lines[#lines + 1] = xterm(a) .. " = " .. d .. (b > 0 and " - " .. b or " + " .. -b)
  end
  if c ~= 0 or b ~= 0 then lines[#lines + 1] = xterm(k) .. " = " .. rhs end
  local answer = fraction(rhs, k)
  if k ~= 1 then lines[#lines + 1] = "x = " .. rhs .. " / " .. k .. " = " .. answer end
  return {
    prompt = "Solve for x: " .. left .. " = " .. right,
    answer = answer,
    solution = table.concat(lines, "\n"),
  }
end

return { name = "linear", version = "1", verifier = "math", generate = generate }
