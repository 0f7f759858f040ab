# gap-after-open-tree.py PREFIX (python3): what each container thread did
# between the end of its open_tree and the start of its next timed call, from
# the probe's per-call trace and a syscall-level ftrace of the same storm
# (trace.sh): each event of the thread in that gap, in us from its start.
# The clocks are aligned at each thread's first open_tree entry.
import collections, os, statistics as st, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts'))
import ftrace_storm as fs
P=sys.argv[1]
ev=sorted(fs.events(P))
ops=fs.calls(P)
tids={o['tid'] for o in ops}
# align: the first open_tree sys_enter (NR 428) of each tid vs its first open_tree start in the probe trace
first_k={}
for t,cpu,comm,pid,name,rest in ev:
    if pid in tids and name=='sys_enter' and rest.startswith('NR 428 ') and pid not in first_k: first_k[pid]=t
first_p={}
for o in ops:
    if o['op']=='open_tree' and (o['tid'] not in first_p or o['start_ns']<first_p[o['tid']]): first_p[o['tid']]=o['start_ns']/1e3
offs=[first_k[t]-first_p[t] for t in first_k if t in first_p]; off=st.median(offs)
print('align spread (us):', round(max(offs)-min(offs),1))
by=collections.defaultdict(list)
for o in ops: by[o['tid']].append((off+o['start_ns']/1e3, off+(o['start_ns']+o['dur_ns'])/1e3, o['op']))
evs_by=collections.defaultdict(list)
for e in ev: evs_by[e[3]].append(e)
for tid,L in sorted(by.items()):
    L.sort()
    for i in range(len(L)-1):
        if L[i][2]!='open_tree': continue
        a,b=L[i][1],L[i+1][0]
        inside=[(round(t-a,1),name,rest[:40]) for t,cpu,comm,pid,name,rest in evs_by[tid] if a-0.5<=t<=b+0.5]
        print(f'tid {tid} gap after open_tree {b-a:.1f} us:', inside[:12])
