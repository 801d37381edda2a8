-- memory.lua — memory bombs, plain and caught.
return {
  name = "memory", version = 1,
  verify = function(completion)
    if completion == "rep" then
      local s = string.rep("x", 1 << 30)
      return 1, { len = #s }
    elseif completion == "table" then
      -- Doubles the array each round (the copy runs in C, so the budget
      -- that stops it is memory, not instructions).
      local t = { 1 }
      while true do table.move(t, 1, #t, #t + 1) end
    elseif completion == "strings" then
      local t = {}
      for i = 1, 1 << 30 do t[i] = ("y"):rep(1000) .. i end
      return 1
    elseif completion == "caught" then
      local ok = pcall(string.rep, "x", 1 << 30)
      return 1, { caught = not ok }
    elseif completion == "concat" then
      local s = "x"
      while true do s = s .. s end
    end
    return 0
  end,
}
