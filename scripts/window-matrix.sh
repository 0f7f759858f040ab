#!/bin/sh
# Every recorded window's calibration on every other window's held-out storms:
# the issue's goal (MAPE within 1.3x the machine's drift between the two
# windows, 90% interval coverage at least 80%) over all ordered pairs, not
# one or two (docs/validation.md, "Twenty-eighth session").
# Usage, from the repository root (`npm run build` first):
#   sh scripts/window-matrix.sh OUT "64 65 66 67 68 69 70" [REFITS]
# Window N's calibration is REFITS/wN/calibration.json when that exists (a
# refit with this checkout's model: `sh scripts/ab-refits.sh . REFITS "64 65" "64"`),
# else measurements/this-host-wN/calibration.json (the one `calibrate
# --record` wrote). Writes OUT/wAonB (validate's output) and OUT/pairs.txt:
#   calibration window, held-out window, drift %, MAPE %, MAPE / drift, coverage %
# then prints the summary. Two validations run at a time (~1 min each here).
set -eu
O=${1:?usage: sh scripts/window-matrix.sh OUT WINDOWS [REFITS]}
ws=${2:?usage: sh scripts/window-matrix.sh OUT WINDOWS [REFITS]}
refits=${3:-}
M=measurements
mkdir -p "$O"
cal() { if [ -n "$refits" ] && [ -f "$refits/w$1/calibration.json" ]; then echo "$refits/w$1/calibration.json"; else echo "$M/this-host-w$1/calibration.json"; fi; }
: > "$O/todo.txt"
for a in $ws; do for b in $ws; do
  [ "$a" = "$b" ] || [ -f "$O/w${a}on$b/validation.json" ] || echo "$(cal "$a") $M/this-host-w$b/heldout $O/w${a}on$b" >> "$O/todo.txt"
done; done
# shellcheck disable=SC2016
xargs -r -P 2 -L 1 sh -c './bin/locksim.js validate "$1"/*.json --calibration "$0" -o "$2" > "$2.log" 2>&1' < "$O/todo.txt"
# drift-table reads window A's and B's measured means from their own recorded
# validations; one process for every pair, a summary line each, in this order.
set --
: > "$O/labels.txt"
for a in $ws; do for b in $ws; do
  [ "$a" = "$b" ] && continue
  echo "w$a w$b" >> "$O/labels.txt"
  set -- "$@" "$M/this-host-w$a/validation/validation.json" "$O/w${a}on$b/validation.json" "$M/this-host-w$b/validation/validation.json"
done; done
npx tsx scripts/drift-table.ts --summary "$@" > "$O/summaries.txt"
paste -d ' ' "$O/labels.txt" "$O/summaries.txt" | grep -v ' - - - -$' > "$O/pairs.txt" || true
awk '{ n++; d += $3; m += $4; c += $6; if ($5 <= 1.3) r++; if ($6 >= 80) k++; if ($5 <= 1.3 && $6 >= 80) both++;
       cm[$1] += $4; cd[$1] += $3; cc[$1] += $6; cn[$1]++ }
     END { printf "all %d pairs: mean drift %.1f%%, mean MAPE %.1f%% (%.2fx), mean coverage %.0f%%; MAPE <= 1.3x drift in %d, coverage >= 80%% in %d, both in %d\n", n, d/n, m/n, m/d, c/n, r, k, both
           for (w in cm) printf "  calibration %s on the others: MAPE %.1f%%, drift %.1f%% (%.2fx), coverage %.0f%%\n", w, cm[w]/cn[w], cd[w]/cn[w], cm[w]/cd[w], cc[w]/cn[w] }' "$O/pairs.txt" | sort
