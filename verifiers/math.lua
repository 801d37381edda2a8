-- math.lua — the math verifier: extracts the final answer from a completion
-- and decides whether it equals the gold answer. The work happens in C
-- (verifiers/mathlib_*.c, exposed as rlvr.math_verify; docs/verifiers_math.md
-- has the rules); this script reads the reference and the options.
--
-- Reference: a string (the gold answer, or a worked solution whose last
-- \boxed{} or "#### n" is the answer), a number, or an object with
--   answer   string or number: the gold answer (also accepted: "gold", "solution")
--   answers  list of acceptable gold answers (any one matching scores 1)
-- Options, from the reference object or from meta (meta wins):
--   last_number     true: fall back to the last number in the completion (default false)
--   answer_tags     {"<answer>", "</answer>"} or false to ignore tags
--   boxed, gsm8k, answer_is   false to turn an extraction rule off
--   rel_tol         tolerance for values that are not exact (default 1e-9)
--   min_sig_digits  significant digits a decimal needs to stand for an exact
--                   value such as 1/3 or \sqrt2 (default 6; 0: never)
--
-- Score 1 or 0. details.status is "wrong-format" when no answer could be
-- extracted (or it is empty, as in \boxed{}). A reference without an answer
-- raises an error: the host reports it as verifier-error, never a score.

local M = { name = "math", version = "1" }

-- rlvr.math_gold_text (verifiers/mathlib_lua.c) turns a string or a number
-- into the gold text, shared with consensus.lua: a number becomes the
-- shortest decimal that reads back as it (JSON 0.1 is the answer 0.1).
local as_gold = rlvr.math_gold_text

local function golds_of(reference)
  local g = as_gold(reference)
  if g then return { g } end
  if type(reference) ~= "table" then
    error("math: the reference must be a string, a number or an object with an 'answer' field", 0)
  end
  if type(reference.answers) == "table" then
    local list = {}
    for i, v in ipairs(reference.answers) do
      local s = as_gold(v)
      if not s then error("math: reference.answers[" .. i .. "] is not a string or a number", 0) end
      list[#list + 1] = s
    end
    if #list == 0 then error("math: reference.answers is empty", 0) end
    return list
  end
  for _, key in ipairs({ "answer", "gold", "solution" }) do
    local s = as_gold(reference[key])
    if s then return { s } end
  end
  error("math: the reference has no 'answer' (nor 'answers', 'gold', 'solution') field", 0)
end

-- The options come from the reference object, then meta (which wins):
-- rlvr.math_options. Each gold is tried in turn (the best score kept, a
-- blank gold an error): rlvr.math_verify_golds.
function M.verify(completion, reference, meta)
  return rlvr.math_verify_golds(completion, golds_of(reference), rlvr.math_options(reference, meta))
end

return M
