#!/bin/sh
# run.sh REPO NAME WINDOW [ENV...]: refit WINDOW's files with REPO's code (env set) into NAME, validate on the windows
R=$1; N=$2; W=$3; shift 3
O=/work/scratch/s21/ab/$N
D=/work/main/measurements/this-host-$W
F=$(ls $D/measurements/*.json | grep -v '/wakeup.json$')
case $W in w46|w47) F="$F $D/refit-9aabf60/wakeup-with-w49-rings.json";; *) F="$F $D/measurements/wakeup.json";; esac
cd $R && env "$@" node bin/locksim.js calibrate $F -o $O > $O.cal.log 2>&1
for V in w42 w44 w46 w47 w48 w49 w50 w51; do
  env "$@" node bin/locksim.js validate --calibration $O/calibration.json /work/main/measurements/this-host-$V/heldout/*.json -o $O-val-$V > $O-val-$V.log 2>&1
  printf "%s on %s: " $N $V; grep "^mountstorm: MAPE" $O-val-$V.log | sed 's/of mean launch latency over 18 held-out configurations; //; s/measurement run-to-run.*average; //'
done
