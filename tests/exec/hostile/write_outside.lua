-- Hostile: tries to create files outside its scratch directory.
-- stdin: one path per line. Prints path=OK or path=<error>.
for path in io.read("a"):gmatch("%S+") do
  local f, err = io.open(path, "a")
  if f then
    f:write("escaped\n")
    f:close()
    print(path .. "=OK")
  else
    print(path .. "=" .. tostring(err):gsub("%s", "_"))
  end
end
