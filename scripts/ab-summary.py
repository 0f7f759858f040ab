"""The summary.json of a model A/B (read by scripts/ab-compare.py): per side
and pair, the refit of window N validated on window M's held-out runs
(OUT/SIDE/wN/on-wM/validation.json, as scripts/ab-refits.sh writes them),
keyed 'SIDE-wN on wM': mount-storm and lockbench MAPE, interval coverage and
each held-out configuration's error.
Usage: python3 scripts/ab-summary.py OUT SIDE... > summary.json"""
import glob, json, re, sys

if len(sys.argv) < 3:
    sys.exit('usage: python3 scripts/ab-summary.py OUT SIDE... > summary.json')
out = {}
for side in sys.argv[2:]:
    for f in sorted(glob.glob(f'{sys.argv[1]}/{side}/w*/on-w*/validation.json')):
        m = re.search(r'/w(\d+)/on-w(\d+)/', f)
        d = json.load(open(f))
        out[f'{side}-w{m[1]} on w{m[2]}'] = {
            'mountstormMapePct': round(d['mapePct'].get('mountstorm', float('nan')), 2),
            'lockbenchMapePct': round(d['mapePct'].get('lockbench', float('nan')), 2),
            'coveragePct': d['coveragePct'],
            'errorsPct': {p['label']: round(p['errorPct'], 1) for p in d['points']},
        }
print(json.dumps(out, indent=1))
