-- Hostile: Lua has no sockets; it shells out to python3 to connect.
local port = io.read("n")
os.execute("python3 -c \"import socket; socket.create_connection(('127.0.0.1', " .. port .. "), timeout=1).sendall(b'hi'); print('tcp=OK')\"")
print("done")
