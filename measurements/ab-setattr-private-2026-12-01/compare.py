"""Mount storm MAPE of base and priv refits (the probe storms replayed with their setattr under namespace_sem) on the clean windows, from summary.json (w56 left out: disturbed)."""
import json, os
s = json.load(open(os.path.join(os.path.dirname(__file__), 'summary.json')))
n = better = 0; sb = sn = 0.0
for w in [53, 54, 55, 57]:
    cells = []
    for h in [53, 54, 55, 56, 57]:
        b = s[f'base-w{w} on w{h}']['mountstormMapePct']; v = s[f'priv-w{w} on w{h}']['mountstormMapePct']
        cells.append(f'on w{h} {b:5.1f}/{v:5.1f}')
        if h != 56:
            n += 1; sb += b; sn += v; better += v < b
    print(f'calibration w{w} (base/priv): ' + '  '.join(cells))
print(f'{n} pairs on clean windows: base {sb / n:.2f}%, priv {sn / n:.2f}%, priv better in {better}')
