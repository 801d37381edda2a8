# Hostile: tries to reach a listening TCP port on 127.0.0.1 (stdin: the port)
# and an abstract unix socket (stdin: its name), and to send UDP.
import errno, socket, sys
port, name = sys.stdin.read().split()
def attempt(label, fn):
    try:
        fn()
        print(label + "=OK")
    except OSError as e:
        print(label + "=" + errno.errorcode.get(e.errno or 0, str(e)))
attempt("tcp", lambda: socket.create_connection(("127.0.0.1", int(port)), timeout=1).sendall(b"hello"))
attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", int(port))))
def unix():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0" + name)
attempt("unix", unix)
