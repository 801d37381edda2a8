-- consensus.lua — the per-sample half of the consensus verifier (test-time
-- RL, TTRL: Zuo et al. 2025): it reads the final answer of one completion the
-- way the math verifier does and, where the item has a reference, scores it
-- against that reference exactly as math.lua would. The group half runs in
-- the rollout worker (rollout/consensus.h): the G answers of a group vote,
-- grouped by the math verifier's equivalence, the majority answer becomes the
-- pseudo-label, and each sample's reward is 1 when its answer is equivalent
-- to it, 0 otherwise. So the score returned here is the sample's correctness
-- against the real label (logged, never trained on by the worker), and 0 when
-- there is none.
--
-- Reference: as math.lua (a string, a number, or an object with answer /
-- answers / gold / solution), or nothing: nil, an empty or blank string, or
-- an object without any of those fields means "no label".
-- Options (reference object or meta, meta wins): as math.lua.
--
-- details:
--   extracted    the answer the sample votes with (absent: no answer)
--   extraction   which rule found it
--   labelled     true when a reference answer was given
--   status       "wrong-format" when no answer could be read
-- plus, when labelled, math.lua's details (gold, method, ...).

local M = { name = "consensus", version = "1" }

local OPTION_KEYS = {
  "last_number", "answer_tags", "boxed", "gsm8k", "answer_is", "rel_tol", "min_sig_digits",
}

local function as_gold(v)
  if type(v) == "string" then
    if v:match("^%s*$") then return nil end
    return v
  end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil end
    for digits = 15, 17 do
      local s = string.format("%." .. digits .. "g", v)
      if tonumber(s) == v then return s end
    end
    return string.format("%.17g", v)
  end
  return nil
end

-- The list of gold answers, or an empty list when the item has no label.
local function golds_of(reference)
  local g = as_gold(reference)
  if g then return { g } end
  if type(reference) ~= "table" then return {} end
  if type(reference.answers) == "table" then
    local list = {}
    for _, v in ipairs(reference.answers) do
      local s = as_gold(v)
      if s then list[#list + 1] = s end
    end
    return list
  end
  for _, key in ipairs({ "answer", "gold", "solution" }) do
    local s = as_gold(reference[key])
    if s then return { s } end
  end
  return {}
end

local function options(reference, meta)
  local o = {}
  for i = 1, 2 do
    local src = i == 1 and reference or meta
    if type(src) == "table" then
      for _, k in ipairs(OPTION_KEYS) do
        if src[k] ~= nil then o[k] = src[k] end
      end
    end
  end
  return o
end

function M.verify(completion, reference, meta)
  local golds = golds_of(reference)
  local opts = options(reference, meta)
  if #golds == 0 then
    local answer, extraction = rlvr.math_extract(completion, opts)
    if answer == nil or answer:match("^%s*$") then
      return 0, { status = "wrong-format", labelled = false }
    end
    return 0, { status = "ok", labelled = false, extracted = answer, extraction = extraction }
  end
  local best_score, best_status, best_details
  for _, gold in ipairs(golds) do
    local score, status, details = rlvr.math_verify(completion, gold, opts)
    if not best_details or score > best_score then
      best_score, best_status, best_details = score, status, details
    end
    if score >= 1 or status ~= "ok" then break end
  end
  best_details.status = best_status
  best_details.labelled = true
  return best_score, best_details
end

return M
