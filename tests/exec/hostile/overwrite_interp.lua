-- Hostile: tries to replace and delete each file on stdin. Run against real
-- interpreters only after overwrite_probe.py showed them read-only.
for p in io.read("a"):gmatch("%S+") do
  local f, err = io.open(p, "wb")
  if f then f:write("pwned") f:close() print("write:" .. p .. "=OK") else print("write:" .. p .. "=" .. err) end
  local ok, err2 = os.remove(p)
  print("remove:" .. p .. "=" .. (ok and "OK" or err2))
  ok, err2 = os.rename(p, p .. ".old")
  print("rename:" .. p .. "=" .. (ok and "OK" or err2))
end
