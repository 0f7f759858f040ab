# gaps.py PREFIX (python3): the gaps between a storm thread's calls (from the
# end of one timed call to the start of its next), split into time on its CPU
# and time off it (preempted or queued: sched_switch out in state R/R+, or
# asleep), from the probe's per-call trace and the kernel's sched_switch
# events (ftrace of scripts/ftrace-storm.sh). The clocks are aligned at the
# broadcast, as in chain.py.
import collections, os, statistics as st, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts'))
import ftrace_storm as fs
P=sys.argv[1]
ev=fs.events(P)
ops=fs.calls(P)
tids={o['tid'] for o in ops}
main,rel,_=fs.broadcast(ev,tids)
# off-cpu intervals per tid: switched out (state) -> switched in
off=collections.defaultdict(list); out={}
for t,cpu,comm,pid,name,rest in ev:
    if name!='sched_switch': continue
    a,stt,b=fs.switch(rest)
    if a in tids: out[a]=(t,stt)
    if b in tids and b in out:
        s,stt0=out.pop(b); off[b].append((s,t,'queued' if stt0.startswith('R') else 'asleep'))
by=collections.defaultdict(list)
for o in ops: by[o['tid']].append((rel+o['start_ns']/1e3, rel+(o['start_ns']+o['dur_ns'])/1e3, o['op']))
tot=collections.Counter(); n=0; after=collections.defaultdict(list)
for tid,L in by.items():
    L.sort()
    for i in range(len(L)-1):
        a,b=L[i][1],L[i+1][0]; g=b-a; n+=1; tot['gap']+=g
        q=sum(max(0,min(e,b)-max(s,a)) for s,e,k in off[tid] if k=='queued'); z=sum(max(0,min(e,b)-max(s,a)) for s,e,k in off[tid] if k=='asleep')
        tot['queued']+=q; tot['asleep']+=z; after[L[i][2]].append(g)
print(f'{P}: {n} gaps, mean {tot["gap"]/n:.1f} us: queued (preempted, waiting for a CPU) {tot["queued"]/n:.1f}, asleep {tot["asleep"]/n:.1f}, on its CPU {(tot["gap"]-tot["queued"]-tot["asleep"])/n:.1f}')
print('  after each op: '+', '.join(f'{k} mean {st.mean(v):.1f} median {st.median(v):.1f}' for k,v in after.items()))
