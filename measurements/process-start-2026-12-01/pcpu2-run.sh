#!/bin/sh
# run.sh: K=1 common-parent L=50 --unmount-inspection, threads and processes alternating, 10 runs each, traces with per-op CPU
cd "$(dirname "$0")/pcpu2"  # where ./mountstorm is built from pcpu2.patch
for r in 1 2 3 4 5 6 7 8 9 10; do
  unshare -m --propagation private ./mountstorm --variant common-parent --layers 50 --containers 1 --unmount-inspection --trace $PWD/thr.r$r.trace.jsonl > thr.r$r.json
  unshare -m --propagation private ./mountstorm --variant common-parent --layers 50 --containers 1 --unmount-inspection --processes --trace $PWD/proc.r$r.trace.jsonl > proc.r$r.json
done
