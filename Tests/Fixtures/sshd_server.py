#!/usr/bin/env python3
"""A real OpenSSH server on 127.0.0.1 for tests, for the current user only, keyed to files in DIR:
DIR/host_key (made here) and DIR/authorized_keys (the caller's).

The listening socket is bound to port 0 here and its port printed only once it accepts connections, so
no other process can take the port between choosing and binding it; each connection is handed to
`sshd -i` (inetd mode), which speaks SSH on it. Runs until killed. Needs Debian's openssh-server.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys

folder = sys.argv[1]
sshd = shutil.which("sshd") or "/usr/sbin/sshd"
if not os.access(sshd, os.X_OK):
    sys.exit("sshd not installed (apt-get install openssh-server)")
if not os.path.exists(f"{folder}/host_key"):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{folder}/host_key"], check=True)
if os.getuid() == 0:
    os.makedirs("/run/sshd", exist_ok=True)
user = pwd.getpwuid(os.getuid()).pw_name
with open(f"{folder}/sshd_config", "w") as config:
    config.write(
        f"HostKey {folder}/host_key\nAuthorizedKeysFile {folder}/authorized_keys\nUsePAM no\nStrictModes no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"AllowUsers {user}\nSetEnv PATH={os.environ.get('PATH', '/usr/bin:/bin')}\n"
    )

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps each connection's sshd
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    subprocess.Popen(
        [sshd, "-i", "-e", "-f", f"{folder}/sshd_config"],
        stdin=connection.fileno(), stdout=connection.fileno(), stderr=sys.stderr, close_fds=True,
    )
    connection.close()
