# chain.py PREFIX (python3): how the mountstorm probe's threads leave the gate
# in a storm traced by scripts/ftrace-storm.sh (PREFIX.ftrace[.gz] and
# PREFIX.trace.jsonl): per thread, who woke it last before its first call (the
# probe's main thread, whose pthread_cond_broadcast releases them, or another
# storm thread, whose unlock of the gate mutex hands it on), how long it then
# waited for a CPU (wake -> in) and what held that CPU meanwhile (from the
# probe's own per-call trace: which op, or user time between ops).
import re,sys,json,collections,statistics as st,gzip,os
P=sys.argv[1]
line_re=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$')
ev=[]
for l in (gzip.open(P+'.ftrace.gz','rt') if os.path.exists(P+'.ftrace.gz') else open(P+'.ftrace')):
    m=line_re.match(l)
    if m: ev.append((float(m.group(4))*1e6,int(m.group(3)),m.group(1).strip(),int(m.group(2)),m.group(5),m.group(6)))
ops=[json.loads(l) for l in open(P+'.trace.jsonl')][1:]
first={}
for o in ops:
    if o['pass']==1 and (o['tid'] not in first or o['start_ns']<first[o['tid']]): first[o['tid']]=o['start_ns']
tids=set(first)
# main = mountstorm pid waking many storm tids
wk=collections.Counter()
for t,cpu,comm,pid,name,rest in ev:
    if name=='sched_waking':
        m=re.search(r'pid=(\d+)',rest); w=int(m.group(1))
        if w in tids and pid not in tids and comm=='mountstorm': wk[pid]+=1
main=wk.most_common(1)[0][0]
# release = main's last burst of wakes of storm threads
mw=[t for t,cpu,comm,pid,name,rest in ev if name=='sched_waking' and pid==main and int(re.search(r'pid=(\d+)',rest).group(1)) in tids]
release=mw[-1] if len(mw)==1 else None
# find the broadcast: the largest cluster of main's wakes within 200us
mw.sort(); best=None
for i,t in enumerate(mw):
    n=sum(1 for u in mw[i:] if u-t<300)
    if best is None or n>best[1]: best=(t,n)
rel=best[0]
print('main',main,'broadcast at',rel,'wakes in burst',best[1],'of',len(tids))
# per thread timeline after rel, until its first op (rel + first_ns/1000 approx)
per={t:[] for t in tids}
oncpu={}
for t,cpu,comm,pid,name,rest in ev:
    if t<rel-1: continue
    if name=='sched_waking':
        w=int(re.search(r'pid=(\d+)',rest).group(1))
        if w in tids: per[w].append((t,'waking',pid,cpu))
    elif name=='sched_switch':
        m=re.search(r'prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)',rest)
        a,stt,b=int(m.group(1)),m.group(2),int(m.group(4))
        if a in tids: per[a].append((t,'out:'+stt,None,cpu))
        if b in tids: per[b].append((t,'in',None,cpu))
order=sorted(tids,key=lambda x:first[x])
rows=[]
for k,tid in enumerate(order):
    f=rel+first[tid]/1000
    evs=[e for e in per[tid] if e[0]<=f]
    # last waking before the first op: the chain's wake
    wakes=[e for e in evs if e[1]=='waking']
    lw=wakes[-1] if wakes else None
    ins=[e for e in evs if e[1]=='in' and lw and e[0]>=lw[0]]
    nsleep=sum(1 for e in evs if e[1].startswith('out:S'))
    waker=lw[2] if lw else None
    rows.append((k,tid,first[tid]/1000,lw[0]-rel if lw else None, (ins[0][0]-lw[0]) if ins and lw else None, f-(ins[0][0] if ins else f), nsleep, 'main' if waker==main else ('storm' if waker in tids else str(waker))))
for r in rows[:70]: print('%2d tid %d first-op %8.0f  last-wake %8.0f  wake->in %6.0f  in->op %6.0f sleeps %d waker %s'%tuple(x if x is not None else -1 for x in r))
g=[rows[i+1][2]-rows[i][2] for i in range(len(rows)-1)]
print('gaps between successive first ops: median %.0f mean %.0f'%(st.median(g),st.mean(g)))
w2i=[r[4] for r in rows if r[4] is not None and r[4]>=0]; print('wake->in median %.0f mean %.0f'%(st.median(w2i),st.mean(w2i)))
i2o=[r[5] for r in rows]; print('in->first op median %.0f mean %.0f'%(st.median(i2o),st.mean(i2o)))
# what held the CPU while a chain-woken thread waited for it
runs=collections.defaultdict(list); cur={}
for t,cpu,comm,pid,name,rest in ev:
    if name=='sched_switch':
        m=re.search(r'prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)',rest)
        if cpu in cur: runs[cpu].append((cur[cpu][0],t,cur[cpu][1],cur[cpu][2],m.group(2)))
        cur[cpu]=(t,m.group(3),int(m.group(4)))
occ=collections.Counter(); tot=0
for k,tid in enumerate(order):
    f=rel+first[tid]/1000
    evs=[e for e in per[tid] if e[0]<=f]
    wakes=[e for e in evs if e[1]=='waking']
    if not wakes: continue
    lw=wakes[-1]; ins=[e for e in evs if e[1]=='in' and e[0]>=lw[0]]
    if not ins: continue
    a,b,c=lw[0],ins[0][0],ins[0][3]
    for s,e,comm,p,stt in runs[c]:
        lo,hi=max(s,a),min(e,b)
        if hi<=lo: continue
        kind=comm
        if p in tids or comm=='mountstorm': occ['storm threads']+=hi-lo
        else: occ[comm]+=hi-lo
        tot+=hi-lo
print('CPU occupants during chain waits (us):',tot, occ.most_common(10))
# switch-in -> its waking of the next storm thread
h=[]
for tid in order:
    ins=[e for e in per[tid] if e[1]=='in']
    if not ins: continue
    i0=None
    # the waking it does: sched_waking events by tid on a storm tid
    wk=[t for t,cpu,comm,pid,name,rest in ev if name=='sched_waking' and pid==tid and int(re.search(r'pid=(\d+)',rest).group(1)) in tids and t>=rel]
    if wk:
        prior=[e[0] for e in ins if e[0]<=wk[0]]
        if prior: h.append(wk[0]-prior[-1])
print('switch-in -> wakes next: median %.0f mean %.0f n %d'%(st.median(h),st.mean(h),len(h)))
# which op the occupying storm thread was in (from the probe's own trace)
opsby=collections.defaultdict(list)
for o in ops: opsby[o['tid']].append((rel+o['start_ns']/1000, rel+(o['start_ns']+o['dur_ns'])/1000, o['op']))
occ2=collections.Counter()
for k,tid in enumerate(order):
    f=rel+first[tid]/1000
    evs=[e for e in per[tid] if e[0]<=f]
    wakes=[e for e in evs if e[1]=='waking']
    if not wakes: continue
    lw=wakes[-1]; ins=[e for e in evs if e[1]=='in' and e[0]>=lw[0]]
    if not ins: continue
    a,b,c=lw[0],ins[0][0],ins[0][3]
    for s,e,comm,p,stt in runs[c]:
        lo,hi=max(s,a),min(e,b)
        if hi<=lo or p not in tids: continue
        inop=0
        for x,y,op in opsby[p]:
            d=max(0,min(y,hi)-max(x,lo))
            if d>0: occ2[op]+=d; inop+=d
        occ2['user (between ops)']+=hi-lo-inop
print('storm occupants by op (us):', occ2.most_common())
occ3=collections.Counter()
for k,tid in enumerate(order):
    f=rel+first[tid]/1000
    evs=[e for e in per[tid] if e[0]<=f]
    wakes=[e for e in evs if e[1]=='waking']
    if not wakes: continue
    lw=wakes[-1]; ins=[e for e in evs if e[1]=='in' and e[0]>=lw[0]]
    if not ins: continue
    a,b,c=lw[0],ins[0][0],ins[0][3]
    for s,e,comm,p,stt in runs[c]:
        lo,hi=max(s,a),min(e,b)
        if hi<=lo or p not in tids: continue
        L=sorted(opsby[p])
        for x in range(int(lo),int(hi)):
            if any(u<=x<v for u,v,_ in L): continue
            if x<L[0][0]: occ3['before first op']+=1
            elif x>=L[-1][1]: occ3['after last op']+=1
            else:
                j=max(i for i,(u,v,_) in enumerate(L) if u<=x)
                occ3['after '+L[j][2]]+=1
print('user time by position:', occ3.most_common())
# gaps between a thread's ops: the distribution
gp=collections.defaultdict(list)
for p,L in opsby.items():
    L=sorted(L)
    for i in range(len(L)-1): gp[L[i][2]+'->'+L[i+1][2]].append(L[i+1][0]-L[i][1])
for k,v in gp.items(): print('gap',k,'n',len(v),'median %.0f mean %.0f'%(st.median(v),st.mean(v)))
print('threads %d: last woken before the first op by the probe main thread (the broadcast) %d, by another storm thread (the gate mutex) %d; re-slept after the broadcast %d' % (len(rows), sum(r[7]=='main' for r in rows), sum(r[7]=='storm' for r in rows), sum(r[6]>0 for r in rows)))
fo=[r[2] for r in rows]; print('first ops (us from the broadcast): first %.0f, median %.0f, last %.0f' % (min(fo), st.median(fo), max(fo)))
