-- coin.lua — toy verifier for the `rlvr select` tests, where a random tiny
-- model must give known pass rates: reference "always" scores 1, "never"
-- scores 0, anything else scores 1 when the completion has an odd number of
-- bytes (so k samples of a random model give a pass rate strictly between 0
-- and 1 for most prompts, but which one depends on the samples).
return {
  name = "coin",
  version = "1",
  verify = function(completion, reference, meta)
    local ref = type(reference) == "table" and tostring(reference.answer) or tostring(reference)
    if ref == "always" then return 1, { extracted = ref } end
    if ref == "never" then return 0, { extracted = ref } end
    return (#completion % 2 == 1) and 1 or 0, { extracted = tostring(#completion) }
  end,
}
