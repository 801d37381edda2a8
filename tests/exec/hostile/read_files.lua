-- Hostile: tries to read files of the host (stdin: one path per line).
for path in io.read("a"):gmatch("%S+") do
  local f, err = io.open(path, "rb")
  if f then
    print(path, "READ", f:read(4096))
    f:close()
  else
    print(path, "DENIED", err)
  end
end
