-- Hostile: floods stdout.
local block = string.rep("x", 65536)
while true do io.write(block) end
