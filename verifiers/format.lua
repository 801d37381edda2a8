-- format.lua — the format verifier (DeepSeek-R1 style): the completion is
-- exactly one <think>...</think> followed by exactly one non-empty
-- <answer>...</answer>, with only whitespace around and between them.
--
-- Options (reference object or meta; meta wins):
--   think_tags   {"<think>", "</think>"}   answer_tags {"<answer>", "</answer>"}
--   require_think  true (default); false: the think block may be absent
--   allow_outside  false (default); true: text before <think> and after
--                  </answer> is tolerated (between the blocks only whitespace)
-- Repeated tags, nested tags (a tag inside the other block, or a tag that
-- opens twice), tags out of order and an answer that is empty or only
-- whitespace all score 0. Score 1 or 0; details.reason says what failed.
-- The format verifier never reports wrong-format: its score is the format.

local M = { name = "format", version = "1" }

local function count(s, tag)
  local n, pos = 0, 1
  while true do
    local i = s:find(tag, pos, true)
    if not i then return n end
    n = n + 1
    pos = i + #tag
  end
end

local function tags(v, default, what)
  if v == nil then return default[1], default[2] end
  if type(v) ~= "table" or type(v[1]) ~= "string" or type(v[2]) ~= "string" or v[1] == "" or v[2] == "" then
    error("format: " .. what .. " must be two non-empty strings", 0)
  end
  return v[1], v[2]
end

function M.verify(completion, reference, meta)
  local opt = {}
  for i = 1, 2 do -- reference first, then meta (which wins); either may be nil
    local src = i == 1 and reference or meta
    if type(src) == "table" then
      for _, k in ipairs({ "think_tags", "answer_tags", "require_think", "allow_outside" }) do
        if src[k] ~= nil then opt[k] = src[k] end
      end
    end
  end
  local t_open, t_close = tags(opt.think_tags, { "<think>", "</think>" }, "think_tags")
  local a_open, a_close = tags(opt.answer_tags, { "<answer>", "</answer>" }, "answer_tags")
  local require_think = opt.require_think ~= false
  local allow_outside = opt.allow_outside == true
  local d = { status = "ok" }
  local function fail(reason)
    d.reason = reason
    return 0, d
  end

  local nto, ntc, nao, nac = count(completion, t_open), count(completion, t_close),
      count(completion, a_open), count(completion, a_close)
  d.think_tags, d.answer_tags = nto + ntc, nao + nac
  if nao ~= 1 or nac ~= 1 then return fail("need exactly one " .. a_open .. " and one " .. a_close) end
  if nto > 1 or ntc > 1 then return fail("repeated " .. t_open .. " or " .. t_close) end
  if nto ~= ntc then return fail("unbalanced " .. t_open .. " / " .. t_close) end
  if require_think and nto == 0 then return fail("missing " .. t_open .. "...") end

  local ao = completion:find(a_open, 1, true)
  local ac = completion:find(a_close, 1, true)
  if ac < ao then return fail(a_close .. " before " .. a_open) end
  local answer = completion:sub(ao + #a_open, ac - 1)
  local before, after = completion:sub(1, ao - 1), completion:sub(ac + #a_close)

  if nto == 1 then
    local to = completion:find(t_open, 1, true)
    local tc = completion:find(t_close, 1, true)
    if tc < to then return fail(t_close .. " before " .. t_open) end
    if tc > ao then return fail("the think block is not closed before " .. a_open) end
    local lead = completion:sub(1, to - 1)
    local between = completion:sub(tc + #t_close, ao - 1)
    if not between:match("^%s*$") then return fail("text between " .. t_close .. " and " .. a_open) end
    if not allow_outside and not lead:match("^%s*$") then return fail("text before " .. t_open) end
  elseif not allow_outside and not before:match("^%s*$") then
    return fail("text before " .. a_open)
  end
  if not allow_outside and not after:match("^%s*$") then return fail("text after " .. a_close) end
  if answer:match("^%s*$") then return fail("empty answer") end
  return 1, d
end

return M
