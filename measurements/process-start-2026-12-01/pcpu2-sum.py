import json,glob,statistics as st,collections
for mode in ['thr','proc']:
  per=collections.defaultdict(list); tot=[]; wall=[]; launch=[]
  for f in sorted(glob.glob(f'{mode}.r*.trace.jsonl')):
    L=[json.loads(l) for l in open(f) if l.strip()]
    ops=L[1:]
    for o in ops: per[(o['op'],o.get('pass'))].append(o['cpu_ns']/1e3)
    tot.append(sum(o['cpu_ns'] for o in ops)/1e3); wall.append(sum(o['dur_ns'] for o in ops)/1e3)
    launch.append((max(o['start_ns']+o['dur_ns'] for o in ops)-min(o['start_ns'] for o in ops))/1e3)
  print(mode, 'ops CPU sum us median', round(st.median(tot)), 'ops wall sum', round(st.median(wall)), 'first->last op span', round(st.median(launch)))
  for k in sorted(per, key=lambda k:(k[1] or 0,k[0])): print('   ',k, 'cpu us median', round(st.median(per[k]),1), 'n', len(per[k]))
