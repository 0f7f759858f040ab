#!/bin/sh
# The lockbench probe before (OLD_BINARY: built from the commit before the
# prefault) and after its workers write their sample pages before the start,
# alternated, five runs each of 2 threads, TTAS, 500 ms, at four critical
# sections: acquisitions per second. Usage: sh compare.sh OLD_BINARY
set -eu
old=${1:?usage: sh compare.sh OLD_BINARY}
new=$(cd "$(dirname "$0")/../.." && pwd)/probes/build/lockbench
for cs in 0 25 200 800; do
  for r in 1 2 3 4 5; do
    for b in old new; do
      bin=$old; [ $b = new ] && bin=$new
      printf '%s cs=%s run %s ' $b $cs $r
      "$bin" --threads 2 --cs-ns $cs --duration-ms 500 | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f M/s" % (d["acquisitionsPerSec"] / 1e6), d.get("pageFaultsDuringRun", "-"))'
    done
  done
done
