-- escape.lua — reports what of the outside world it can reach; the host's
-- test expects none of it. Each probe is wrapped so that one failure does not
-- hide the others.
local probes = {}
local function probe(name, f)
  local ok, v = pcall(f)
  probes[name] = ok and type(v) or "error"
end
probe("io", function() return io end)
probe("os", function() return os end)
probe("debug", function() return debug end)
probe("package", function() return package end)
probe("coroutine", function() return coroutine end)
probe("load", function() return load end)
probe("loadstring", function() return loadstring end)
probe("dofile", function() return dofile end)
probe("loadfile", function() return loadfile end)
probe("require", function() return require end)
probe("collectgarbage", function() return collectgarbage end)
probe("print", function() return print end)
probe("string.dump", function() return string.dump end)
probe("randomseed", function() return math.randomseed end)
probe("strmeta", function() return getmetatable("") end)
probe("strmeta.__index", function() return getmetatable("").__index end)
probe("dump via method", function() return ("").dump end)
probe("_G.io", function() return _G.io end)
probe("rawget _G load", function() return rawget(_G, "load") end)
probe("gc metatable", function() return setmetatable({}, { __gc = function() end }) end)
probe("setmetatable string", function() return setmetatable("", {}) end)
probe("table.move huge", function() return table.move({}, 1, 1 << 40, 2) end)

return {
  name = "escape", version = 1,
  verify = function(completion)
    if completion == "poison" then
      -- Changing the environment's string table must not change string methods.
      string.upper = function() return "poisoned" end
      return 0, { method = ("abc"):upper() }
    end
    return 0, { probes = probes }
  end,
}
