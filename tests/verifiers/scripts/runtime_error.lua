-- runtime_error.lua — verify raises an error (string, table, or via a nil index).
return {
  name = "runtime_error", version = 1,
  verify = function(completion)
    if completion == "table" then error({ code = 7 }) end
    if completion == "nil-index" then local t = nil; return t.x end
    error("boom: " .. completion)
  end,
}
