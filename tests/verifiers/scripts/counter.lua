-- counter.lua — keeps a count across calls in its state; "fail" raises. The
-- host test checks that a failure gives the next call a fresh state.
local calls = 0
return {
  name = "counter", version = 1,
  verify = function(completion)
    calls = calls + 1
    if completion == "fail" then error("failing on purpose") end
    return 0, { calls = calls }
  end,
}
