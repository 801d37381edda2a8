-- bad_returns.lua — verify returns values the host must reject; the
-- completion picks which.
local nan = 0 / 0
local cases = {
  two = function() return 2 end,
  negative = function() return -0.5 end,
  nan = function() return nan end,
  inf = function() return math.huge end,
  string = function() return "1" end,
  boolean = function() return true end,
  none = function() end,
  details_string = function() return 1, "fine" end,
  status_bogus = function() return 1, { status = "excellent" } end,
  status_number = function() return 1, { status = 1 } end,
  wrong_format = function() return 0, { status = "wrong-format" } end,
  ok_status = function() return 0.5, { status = "ok" } end,
  integer_one = function() return 1 end,
  huge_details = function()
    local t = {}
    for i = 1, 100 do t[i] = ("z"):rep(4000) end
    return 1, t
  end,
  cyclic = function()
    local t = {}
    t.self = t
    return 1, t
  end,
  odd_keys = function()
    return 1, { [1] = "a", [2] = "b", x = { 1, 2, 3 }, [2.5] = true, [true] = "skipped", f = print or tostring }
  end,
}
return {
  name = "bad_returns", version = 2,
  verify = function(completion) return cases[completion]() end,
}
