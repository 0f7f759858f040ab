#!/bin/sh
# Grounds the container start on this host (docs/validation.md, "Container
# start, measured"): a real `runc run` of a trivial process in a minimal
# busybox rootfs, inside a private mount namespace (unshare -m) so no mount
# reaches the host, with runc's state in a temporary directory removed at the
# end. Needs root, runc, strace, jq and busybox-static (apt-get install runc
# strace jq busybox-static). Run from the repository root:
#   sh measurements/runc-start.sh [OUTDIR [RUNS]]
# Writes to OUTDIR (default out/host/runc-start):
#   host.txt        lscpu model/family, uname -r, runc and strace versions, date
#   strace-c.txt    `strace -f -c` of one `runc run` (every syscall, all processes)
#   pathwalks.txt   path-walking syscalls per start, runc vs the container's
#                   first process, over RUNS straced starts (median, min, max)
#   mountinfo.txt   who opened /proc/*/mountinfo, read() calls and bytes
#   timing.txt      wall time of RUNS (default 12) `runc run` of /bin/true, one
#                   at a time (and its CPU time, runc and its children), then
#                   2, 4 and 8 at once (each start's own time, and the batch's)
set -eu
out=${1:-out/host/runc-start}
runs=${2:-12}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in runc strace jq busybox unshare; do
  command -v "$tool" >/dev/null 2>&1 || { echo "runc-start.sh: needs $tool (apt-get install runc strace jq busybox-static)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "runc-start.sh: needs root (runc creates namespaces and cgroups)" >&2; exit 3; }

work=$(mktemp -d /tmp/locksim-runc.XXXXXX)
cleanup() {
  # A start that was interrupted can leave a container record; delete it so
  # runc removes its cgroups, then the directory.
  for c in $(runc --root "$work/state" list -q 2>/dev/null); do runc --root "$work/state" delete -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The rootfs: busybox-static and two links, nothing else; runc creates the
# mount points (/proc, /dev, /sys) itself. The spec is `runc spec`'s default
# (pid, net, ipc, uts, mount namespaces; proc, dev, devpts, shm, mqueue, sysfs,
# cgroup mounts; masked and read-only paths) with /bin/true and no terminal.
mkdir -p "$work/bundle/rootfs/bin"
cp "$(command -v busybox)" "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/sh"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && runc spec && jq '.process.terminal = false | .process.args = ["/bin/true"]' config.json > config.tmp && mv config.tmp config.json)

{
  date -u +%Y-%m-%dT%H:%M:%SZ
  uname -r
  lscpu | grep -E '^(Model name|CPU family|Model|Thread|Core|Socket|CPU\(s\)|Hypervisor vendor)'
  runc --version | head -1
  strace -V | head -1
  echo "load average: $(cat /proc/loadavg)"
} > "$out/host.txt"

# Everything below runs in one private mount namespace: runc's own mounts
# (its container's namespace is a copy of this one) never touch the host's.
inner=$(cat <<'EOF'
set -eu
work=$1 out=$2 runs=$3
start() { runc --root "$work/state" run -b "$work/bundle" "$1" >/dev/null; }

# (1) strace -c: every syscall of one start, all processes together.
strace -f -c -o "$out/strace-c.txt" runc --root "$work/state" run -b "$work/bundle" c-summary >/dev/null

# (2) One trace file per process (-ff), fds shown as paths (-y), no string
# data (-s 0; file names are printed whole regardless).
i=1
while [ $i -le "$runs" ]; do
  mkdir -p "$work/st$i"
  strace -f -ff -y -s 0 -o "$work/st$i/t" runc --root "$work/state" run -b "$work/bundle" "c-strace-$i" >/dev/null
  i=$((i + 1))
done

# (3) Timing without strace: one at a time (wall time, and the CPU time of
# runc and every process it waited for, from getrusage(RUSAGE_CHILDREN):
# user + system is exact, from the scheduler's runtime), then N at once.
: > "$work/seq.txt"
i=1
while [ $i -le "$runs" ]; do
  python3 -c 'import resource, subprocess, sys, time
t = time.monotonic_ns()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
wall = time.monotonic_ns() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall // 1000, int((r.ru_utime + r.ru_stime) * 1e6))' runc --root "$work/state" run -b "$work/bundle" "c-seq-$i" >> "$work/seq.txt"
  i=$((i + 1))
done
for n in 2 4 8; do
  r=1
  while [ $r -le 5 ]; do
    : > "$work/par-$n-$r.txt"
    j=1
    t0=$(date +%s%N)
    while [ $j -le $n ]; do
      ( a=$(date +%s%N); start "c-par-$n-$r-$j"; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >> "$work/par-$n-$r.txt" ) &
      j=$((j + 1))
    done
    wait
    t1=$(date +%s%N)
    echo "wall $(( (t1 - t0) / 1000 ))" >> "$work/par-$n-$r.txt"
    r=$((r + 1))
  done
done
EOF
)
unshare -m --propagation private sh -c "$inner" sh "$work" "$out" "$runs"

# Path-walking syscalls: those that resolve a path name given as a non-empty
# string (a call on an fd with "" and AT_EMPTY_PATH walks nothing). Failed
# calls (ENOENT...) walked the path too and are counted. The split: in the
# process that execs /bin/true, everything from that execve on is the
# container's first process; everything else (runc run, runc init and their
# helpers, and the execve itself) is runc.
walk='^(open|openat|openat2|creat|stat|lstat|newfstatat|statx|access|faccessat|faccessat2|readlink|readlinkat|execve|execveat|chdir|chroot|pivot_root|mkdir|mkdirat|mknod|mknodat|rmdir|unlink|unlinkat|rename|renameat|renameat2|link|linkat|symlink|symlinkat|chmod|fchmodat|chown|lchown|fchownat|utimensat|mount|umount2|open_tree|move_mount|mount_setattr|statfs|truncate|getxattr|lgetxattr|setxattr|lsetxattr|listxattr|llistxattr|inotify_add_watch|name_to_handle_at)$'
count_run() { # dir -> lines "role syscall ok|fail"
  for f in "$1"/t.*; do
    awk -v walk="$walk" '
      /^execve\("\/bin\/true"/ { role = "runc"; name = "execve"; print role, name, ($0 ~ /= -1/ ? "fail" : "ok"); after = 1; next }
      {
        role = after ? "container" : "runc"
        p = index($0, "("); if (p < 2) next
        name = substr($0, 1, p - 1)
        if (name !~ walk) next
        if ($0 !~ /"[^"]/) next
        print role, name, ($0 ~ /\) += -1 / ? "fail" : "ok")
      }' "$f"
  done
}
: > "$work/walks.txt"
i=1
while [ $i -le "$runs" ]; do
  count_run "$work/st$i" | sed "s/^/$i /" >> "$work/walks.txt"
  i=$((i + 1))
done
stats() { sort -n | awk '{v[NR] = $1} END {if (!NR) {print "- - -"; exit} m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR]}'; }
per_run() { # filter-awk -> "median min max" of the per-run count
  i=1
  while [ $i -le "$runs" ]; do awk -v r=$i "\$1 == r && ($1)" "$work/walks.txt" | wc -l; i=$((i + 1)); done | stats
}
{
  echo "# path-walking syscalls per \`runc run\` of /bin/true ($runs straced starts): median min max"
  echo "all runc $(per_run '$2 == "runc"')"
  echo "all container $(per_run '$2 == "container"')"
  echo "failed runc $(per_run '$2 == "runc" && $4 == "fail"')"
  echo "failed container $(per_run '$2 == "container" && $4 == "fail"')"
  for name in $(awk '{print $3}' "$work/walks.txt" | sort -u); do
    echo "$name runc $(per_run "\$2 == \"runc\" && \$3 == \"$name\"")"
    echo "$name container $(per_run "\$2 == \"container\" && \$3 == \"$name\"")"
  done
} > "$out/pathwalks.txt"

# Mountinfo: opens and bytes read, per process of the first straced start.
{
  echo "# /proc/*/mountinfo in straced start 1: per process, opens, read() calls, bytes"
  for f in "$work/st1"/t.*; do
    awk -v f="${f##*/}" '
      /^open.*mountinfo/ { opens++ }
      /^read\([0-9]+<\/proc\/[0-9a-z]+\/mountinfo>/ { calls++; n = $NF; if (n > 0) bytes += n }
      END { if (opens) print f, "opens", opens, "reads", calls, "bytes", bytes }' "$f"
  done
} > "$out/mountinfo.txt"

{
  echo "# one \`runc run\` of /bin/true, in us: median min max (runs); wall time, cpu = user + system of runc and its children"
  echo "sequential $(awk '{print $1}' "$work/seq.txt" | stats) ($runs)"
  echo "sequential-cpu $(awk '{print $2}' "$work/seq.txt" | stats) ($runs)"
  for n in 2 4 8; do
    echo "concurrent-$n each $(cat "$work"/par-$n-*.txt | grep -v wall | stats) ($((n * 5)))"
    echo "concurrent-$n wall $(cat "$work"/par-$n-*.txt | awk '/wall/ {print $2}' | stats) (5)"
  done
} > "$out/timing.txt"
cat "$out/pathwalks.txt" "$out/mountinfo.txt" "$out/timing.txt"
