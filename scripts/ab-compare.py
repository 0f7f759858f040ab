"""Mount storm MAPE of two sides of a model A/B, pair by pair (a refit of one
window validated on another), from a summary.json whose keys are
'SIDE-wN on wM' (measurements/ab-*/summary.json, scripts/ab-summary.py; scripts/ab-refits.sh made
the runs). Windows in SKIP (default 56: disturbed) are shown, not counted.
Usage: python3 scripts/ab-compare.py SUMMARY.json BASE_SIDE NEW_SIDE [SKIP...]"""
import json, re, sys

if len(sys.argv) < 4:
    sys.exit('usage: python3 scripts/ab-compare.py SUMMARY.json BASE_SIDE NEW_SIDE [SKIP...]')
path, a, b = sys.argv[1:4]
skip = {int(x) for x in sys.argv[4:]} or {56}
s = json.load(open(path))
pairs = sorted({tuple(map(int, re.match(r'.*-w(\d+) on w(\d+)$', k).groups())) for k in s})
n = better = 0
sa = sb = 0.0
for w in sorted({p[0] for p in pairs}):
    cells = []
    for h in sorted({p[1] for p in pairs if p[0] == w}):
        x = s[f'{a}-w{w} on w{h}']['mountstormMapePct']
        y = s[f'{b}-w{w} on w{h}']['mountstormMapePct']
        cells.append(f'on w{h} {x:5.1f}/{y:5.1f}')
        if h not in skip and w not in skip:
            n += 1
            sa += x
            sb += y
            better += y < x
    print(f'calibration w{w} ({a}/{b}): ' + '  '.join(cells))
print(f'{n} pairs (without w{sorted(skip)}): {a} {sa / n:.2f}%, {b} {sb / n:.2f}%, {b} better in {better}')
