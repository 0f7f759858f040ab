#!/bin/sh
# Builds the host probes into probes/build/. Called from `npm install`
# (postinstall), so a machine without a C compiler must still install: then it
# prints one line saying how to enable the probes and exits 0.
# --strict: exit 1 when a probe fails to compile (used by buildProbes() and tests;
# without it a compile error is reported but installation goes on).
set -u
case "$0" in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)
out="$here/build"
strict=0
[ "${1:-}" = "--strict" ] && strict=1
cc_bin=${CC:-cc}
if ! command -v "$cc_bin" >/dev/null 2>&1; then
  echo "locksim: no C compiler found ($cc_bin); probes disabled: install gcc to enable \`locksim measure\`"
  exit 0
fi
mkdir -p "$out"
status=0
for probe in lockbench pingpong mountstorm wakeup; do
  src="$here/$probe.c"
  bin="$out/$probe"
  # Rebuild only when the source or the shared header is newer than the binary.
  if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$here/common.h" ] && [ "$bin" -nt "$here/transfer.h" ]; then
    continue
  fi
  if ! "$cc_bin" -O2 -pthread -Wall -o "$bin.tmp" "$src"; then
    echo "locksim: could not compile probes/$probe.c; \`locksim measure\` will not use it" >&2
    rm -f "$bin.tmp"
    status=1
    continue
  fi
  mv "$bin.tmp" "$bin"
done
[ "$strict" = 1 ] && exit $status
exit 0
