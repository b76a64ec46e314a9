#!/usr/bin/env bash
# Runs a real OpenSSH server on 127.0.0.1 for tests, for the current user only, keyed to files in DIR:
# DIR/host_key (made here), DIR/authorized_keys (the caller's). Prints its port, then runs in the
# foreground until killed. Needs Debian's openssh-server.
set -euo pipefail
dir=$1
sshd=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd" ] || { echo "sshd not installed (apt-get install openssh-server)" >&2; exit 1; }
[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd; fi
cat > "$dir/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $(id -un)
SetEnv PATH=$PATH
CONFIG
echo "$port"
exec "$sshd" -D -e -f "$dir/sshd_config"
