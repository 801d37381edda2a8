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
    elseif completion == "rep-empty" then
      -- string.rep's C loop would run 2^62 times to build "".
      local s = string.rep("", 1 << 62) .. ("").rep("", 1 << 62, "")
      return 0, { len = #s }
    elseif completion == "len-insert" or completion == "len-remove" then
      -- __len makes table.insert/remove shift 2^50 elements in C.
      local t = setmetatable({}, { __len = function() return 1 << 50 end })
      if completion == "len-insert" then table.insert(t, 1, "x") else table.remove(t, 1) end
      return 1
    elseif completion == "close" then
      -- A to-be-closed variable whose __close loops after the budget ran out.
      local t <close> = setmetatable({}, { __close = forever })
      forever()
    end
    forever()
  end,
}
