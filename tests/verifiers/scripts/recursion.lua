-- recursion.lua — deep recursion: Lua stack overflow, and C stack overflow
-- through gsub calling back into Lua calling gsub.
local function deep(n) return 1 + deep(n + 1) end
local function cdeep(s) return (s:gsub(".", cdeep)) end
return {
  name = "recursion", version = 1,
  verify = function(completion)
    if completion == "c" then return cdeep("xx"), {} end
    return deep(1), {}
  end,
}
