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

-- A gold answer's text as math.lua reads it (rlvr.math_gold_text); a blank
-- string is no label here, where math.lua would raise an error.
local function as_gold(v)
  local s = rlvr.math_gold_text(v)
  if s and s:match("^%s*$") then return nil end
  return s
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

function M.verify(completion, reference, meta)
  local golds = golds_of(reference)
  local opts = rlvr.math_options(reference, meta)
  if #golds == 0 then
    local answer, extraction = rlvr.math_extract(completion, opts)
    if answer == nil or answer:match("^%s*$") then
      return 0, { status = "wrong-format", labelled = false }
    end
    return 0, { status = "ok", labelled = false, extracted = answer, extraction = extraction }
  end
  local score, details = rlvr.math_verify_golds(completion, golds, opts)
  details.labelled = true
  return score, details
end

return M
