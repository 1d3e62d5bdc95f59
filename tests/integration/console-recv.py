#!/usr/bin/env python3
"""console-recv.py SOCKET OUTFILE [STOP] [INPUT]

The receiving end of an OCI --console-socket: listens on the unix socket
SOCKET, accepts one connection, receives a pty master fd by SCM_RIGHTS,
writes "fd received" info to OUTFILE.meta, then copies everything read
from the master to OUTFILE (carriage returns removed) until the slave side
is closed (EIO), STOP appears in the output, or 30 s have passed.
If INPUT is given, it is written to the master once the fd arrives.
"""
import array, os, select, socket, sys, time

sock_path, out_path = sys.argv[1], sys.argv[2]
stop = sys.argv[3].encode() if len(sys.argv) > 3 and sys.argv[3] else None
inp = sys.argv[4].encode() if len(sys.argv) > 4 else None

try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path + ".tmp")
srv.listen(1)
os.rename(sock_path + ".tmp", sock_path)  # appears only when listening
srv.settimeout(60)
conn, _ = srv.accept()
fds = array.array("i")
msg, ancdata, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
for level, typ, data in ancdata:
    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
with open(out_path + ".meta", "w") as m:
    m.write("fds=%d name=%r\n" % (len(fds), msg))
    if fds:
        m.write("link=%s\n" % os.readlink("/proc/self/fd/%d" % fds[0]))
if not fds:
    sys.exit(2)
master = fds[0]
for extra in fds[1:]:
    os.close(extra)
if inp:
    os.write(master, inp)
buf = b""
deadline = time.time() + 30
with open(out_path, "wb", buffering=0) as out:
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every slave descriptor is closed
            break
        if not data:
            break
        data = data.replace(b"\r", b"")
        out.write(data)
        buf += data
        if stop and stop in buf:
            break
