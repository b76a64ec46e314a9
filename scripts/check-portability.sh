#!/usr/bin/env bash
# The release archive runs on GitHub's ubuntu-22.04 and -24.04 runners: its binary needs only glibc (at
# most GLIBC_2.35, ubuntu-22.04's), libstdc++, libgcc, zlib, libcrypto 3 and GSSAPI, and it answers --help.
# Usage: scripts/check-portability.sh dist/gitops-ml-<version>-linux-<arch>.tar.gz
set -euo pipefail
archive=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$archive" -C "$work"
binary=$(find "$work" -path '*/bin/gitops-ml' -type f)
allowed='^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12]|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libz\.so\.1|libcrypto\.so\.3|libgssapi_krb5\.so\.2)$'
status=0
needed=$(objdump -p "$binary" | awk '/NEEDED/ {print $2}')
for library in $needed; do
  if ! [[ $library =~ $allowed ]]; then echo "portability: $binary needs $library" >&2; status=1; fi
done
newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -n 1)
if [ "$(printf '%s\nGLIBC_2.35\n' "$newest" | sort -V | tail -n 1)" != "GLIBC_2.35" ]; then
  echo "portability: $binary needs $newest, newer than ubuntu-22.04's GLIBC_2.35" >&2
  status=1
fi
# ldd agrees (every library resolves here), and the binary runs.
if ldd "$binary" | grep -q 'not found'; then ldd "$binary" >&2; status=1; fi
"$binary" --help > /dev/null
for shell_file in share/bash-completion/completions/gitops-ml share/zsh/site-functions/_gitops-ml \
  share/fish/vendor_completions.d/gitops-ml.fish share/man/man1/gitops-ml.1; do
  [ -s "$(dirname "$(dirname "$binary")")/$shell_file" ] || { echo "portability: $shell_file missing" >&2; status=1; }
done
[ $status -eq 0 ] && echo "portable: $(basename "$archive") needs $(echo $needed | tr '\n' ' ')(newest symbol $newest), $(du -h "$binary" | cut -f1) stripped"
exit $status
