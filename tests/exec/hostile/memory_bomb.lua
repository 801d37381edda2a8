-- Hostile: allocates memory until something stops it.
local t = {}
local i = 0
while true do
  i = i + 1
  t[i] = string.rep("x", 16 << 20) .. i
end
