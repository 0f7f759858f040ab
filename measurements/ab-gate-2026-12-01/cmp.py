# cmp.py A B (python3, in this directory): held-out mount storm MAPE of arm A
# against arm B over every (calibration, window) pair both have, and the
# mean signed (absolute) error of each configuration over those pairs.
# Arms: base, parked, parked-no-start-latency.
import json,sys,glob,os,collections,statistics as st
A,B=sys.argv[1],sys.argv[2]
here=os.path.dirname(os.path.abspath(__file__))
rows=collections.defaultdict(lambda:[[],[]]); tot=[[],[]]
for fa in sorted(glob.glob(f'{here}/validation/{A}-w*-on-w*.json')):
    fb=fa.replace(f'/validation/{A}-',f'/validation/{B}-')
    if not os.path.exists(fb): continue
    for i,f in enumerate((fa,fb)):
        ps=[p for p in json.load(open(f))['points'] if p['probe']=='mountstorm']
        tot[i].append(sum(abs(p['errorPct']) for p in ps)/len(ps))
        for p in ps: rows[p['label']][i].append(p['errorPct'])
print(f'pairs {len(tot[0])}: mean MAPE {A} {st.mean(tot[0]):.2f}%  {B} {st.mean(tot[1]):.2f}%  {B} better in {sum(b<a for a,b in zip(*tot))}')
for k,(a,b) in sorted(rows.items()):
    print(f'{k[:60]:60s} {A} {st.mean(a):+6.1f} ({st.mean(map(abs,a)):.1f})  {B} {st.mean(b):+6.1f} ({st.mean(map(abs,b)):.1f})')
