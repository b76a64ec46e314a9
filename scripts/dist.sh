#!/usr/bin/env bash
# `make dist`: a portable release archive, dist/gitops-ml-<version>-linux-<arch>.tar.gz and its .sha256.
# The Swift runtime and libgit2 with its libraries (mbedtls, http_parser, libssh2, pcre2) are linked
# statically from Debian's archives, so the binary needs only glibc, libstdc++, libgcc, zlib, libcrypto 3 and
# GSSAPI (all on ubuntu-22.04 and -24.04 runners); libcurl is opened at run time. The archive carries the
# binary, shell completions (bash, zsh, fish), the man pages, LICENSE-style notes and the README.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/.*current = "\(.*\)".*/\1/p' Sources/GitOpsMLCore/GitOpsMLVersion.swift)
arch=$(uname -m)
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$arch-linux-gnu")
lib=/usr/lib/$multiarch
for archive in libgit2 libmbedtls libmbedx509 libmbedcrypto libhttp_parser libssh2 libpcre2-8; do
  [ -f "$lib/$archive.a" ] || { echo "dist: $lib/$archive.a is missing (apt-get install libgit2-dev)" >&2; exit 3; }
done

# A pkg-config file naming the static archives: SwiftPM's CLibGit2 module links what libgit2.pc says.
pc=$(mktemp -d)
trap 'rm -rf "$pc"' EXIT
cat > "$pc/libgit2.pc" <<PC
Name: libgit2
Description: libgit2 and its libraries as static archives, for a portable gitops-ml
Version: $(pkg-config --modversion libgit2)
Cflags: $(pkg-config --cflags libgit2)
Libs: -l:libgit2.a -l:libmbedtls.a -l:libmbedx509.a -l:libmbedcrypto.a -l:libhttp_parser.a -l:libssh2.a -l:libpcre2-8.a -l:libgssapi_krb5.so.2 -l:libcrypto.so.3 -lz -lrt
PC
PKG_CONFIG_PATH="$pc" swift build -c release --product gitops-ml --static-swift-stdlib --build-path .build/dist \
  -Xlinker --gc-sections -Xlinker -s

stage=$(mktemp -d)
trap 'rm -rf "$pc" "$stage"' EXIT
name=gitops-ml-$version-linux-$arch
root=$stage/$name
mkdir -p "$root/bin" "$root/share/bash-completion/completions" "$root/share/zsh/site-functions" \
  "$root/share/fish/vendor_completions.d" "$root/share/man/man1"
cp .build/dist/release/gitops-ml "$root/bin/gitops-ml"
"$root/bin/gitops-ml" --generate-completion-script bash > "$root/share/bash-completion/completions/gitops-ml"
"$root/bin/gitops-ml" --generate-completion-script zsh > "$root/share/zsh/site-functions/_gitops-ml"
"$root/bin/gitops-ml" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/gitops-ml.fish"
python3 scripts/man-page.py "$root/bin/gitops-ml" > "$root/share/man/man1/gitops-ml.1"
cp README.md CHANGELOG.md "$root/"
mkdir -p dist
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1); binary $(du -h "$root/bin/gitops-ml" | cut -f1))"
