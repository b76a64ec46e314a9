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
# libcurl is opened at run time (dlopen), so NEEDED does not show it: every libcurl function the binary
# looks up must be one ubuntu-22.04's libcurl 7.81 exports (the options newer than 7.81 are chosen by
# curl_version_info at run time, HTTPClientTests). This is 7.81's public function list.
libcurl_781=' curl_easy_cleanup curl_easy_duphandle curl_easy_escape curl_easy_getinfo curl_easy_init
  curl_easy_option_by_id curl_easy_option_by_name curl_easy_option_next curl_easy_pause curl_easy_perform
  curl_easy_recv curl_easy_reset curl_easy_send curl_easy_setopt curl_easy_strerror curl_easy_unescape
  curl_easy_upkeep curl_escape curl_formadd curl_formfree curl_formget curl_free curl_getdate curl_getenv
  curl_global_cleanup curl_global_init curl_global_init_mem curl_global_sslset curl_mime_addpart
  curl_mime_data curl_mime_data_cb curl_mime_encoder curl_mime_filedata curl_mime_filename curl_mime_free
  curl_mime_headers curl_mime_init curl_mime_name curl_mime_subparts curl_mime_type curl_multi_add_handle
  curl_multi_assign curl_multi_cleanup curl_multi_fdset curl_multi_info_read curl_multi_init
  curl_multi_perform curl_multi_poll curl_multi_remove_handle curl_multi_setopt curl_multi_socket
  curl_multi_socket_action curl_multi_socket_all curl_multi_strerror curl_multi_timeout curl_multi_wait
  curl_multi_wakeup curl_pushheader_byname curl_pushheader_bynum curl_share_cleanup curl_share_init
  curl_share_setopt curl_share_strerror curl_slist_append curl_slist_free_all curl_strequal curl_strnequal
  curl_unescape curl_url curl_url_cleanup curl_url_dup curl_url_get curl_url_set curl_version
  curl_version_info '
used=$(strings -a "$binary" | grep -E '^curl_[a-z_]+$' | sort -u || true)
[ -n "$used" ] || { echo "portability: no libcurl function names in $binary (is libcurl still looked up by name?)" >&2; status=1; }
for function in $used; do
  case "$libcurl_781" in *" $function "* | *" $function"$'\n'*) ;;
    *) echo "portability: $binary looks up $function, which ubuntu-22.04's libcurl 7.81 does not export" >&2; status=1 ;;
  esac
done
# ldd agrees (every library resolves here), and the binary runs.
if ldd "$binary" | grep -q 'not found'; then ldd "$binary" >&2; status=1; fi
"$binary" --help > /dev/null
for shell_file in share/bash-completion/completions/gitops-ml share/zsh/site-functions/_gitops-ml \
  share/fish/vendor_completions.d/gitops-ml.fish share/man/man1/gitops-ml.1; do
  [ -s "$(dirname "$(dirname "$binary")")/$shell_file" ] || { echo "portability: $shell_file missing" >&2; status=1; }
done
[ $status -eq 0 ] && echo "portable: $(basename "$archive") needs $(echo $needed | tr '\n' ' ')(newest symbol $newest), $(du -h "$binary" | cut -f1) stripped; $(echo $used | wc -w) libcurl functions, all in 7.81"
exit $status
