-- exact.lua — toy verifier for the host's tests: 1 when the completion,
-- trimmed, equals the reference (a string, or reference.answer), else 0;
-- an empty completion is wrong-format.
local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

return {
  name = "exact",
  version = "1.0",
  verify = function(completion, reference, meta)
    local want = type(reference) == "table" and reference.answer or reference
    local got = trim(completion)
    if got == "" then return 0, { status = "wrong-format", reason = "empty" } end
    local ok = got == trim(tostring(want))
    return ok and 1 or 0, { got = got, want = want }
  end,
}
