-- lowbytes.lua — a made-up verifier for the learner's process tests: the
-- score is the fraction of the completion's bytes that are below 128. A
-- random tiny model writes about half such bytes, different for each
-- sample, so every group has reward spread and GRPO has a signal to learn
-- from in a few steps (the real verifiers give such a model 0 everywhere).
local M = { name = "lowbytes", version = "1" }

function M.verify(completion, reference, meta)
  local n = #completion
  if n == 0 then return 0, { bytes = 0 } end
  local low = 0
  for i = 1, n do
    if completion:byte(i) < 128 then low = low + 1 end
  end
  return low / n, { bytes = n }
end

return M
