-- loop.lua — runaway loops, plain and hidden behind pcall and xpcall.
local function forever() while true do end end
return {
  name = "loop", version = 1,
  verify = function(completion)
    if completion == "pcall" then
      for _ = 1, 100 do pcall(forever) end
      return 1, { escaped = true }
    elseif completion == "pcall-tail" then
      return pcall(forever)
    elseif completion == "xpcall" then
      -- The handler loops too: Lua runs handlers with hooks off.
      local ok = xpcall(forever, forever)
      return 1, { escaped = ok }
    elseif completion == "error-loop" then
      while true do pcall(error, "x") end
    elseif completion == "gsub" then
      -- Lua code called from C (gsub's replacement function) is counted too.
      ("x"):gsub("x", forever)
      return 1
    elseif completion == "close" then
      -- A to-be-closed variable whose __close loops after the budget ran out.
      local t <close> = setmetatable({}, { __close = forever })
      forever()
    end
    forever()
  end,
}
