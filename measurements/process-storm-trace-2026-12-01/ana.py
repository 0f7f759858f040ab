# ana.py OUT.ftrace (python3): what the umount callers of a traced --processes storm waited for.
# ana.py OUT.ftrace: per umount call: duration, what the other CPU ran meanwhile, when the caller slept and who woke it
import re,sys,collections
line_re=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$')
ev=[]
for l in open(sys.argv[1]):
    m=line_re.match(l)
    if m: ev.append((float(m.group(4))*1e6, int(m.group(3)), m.group(1).strip(), int(m.group(2)), m.group(5), m.group(6))); continue
    m=re.match(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(sys_\w+)(\(| ->)',l)
    if m: ev.append((float(m.group(4))*1e6, int(m.group(3)), m.group(1).strip(), int(m.group(2)), ('sys_enter_' if m.group(6)=='(' else 'sys_exit_')+m.group(5)[4:], ''))
calls=[]; open_={}
# who runs on each cpu over time
runs={0:[],1:[]}; cur={}
for t,cpu,comm,pid,name,rest in ev:
    if name=='sched_switch':
        m=re.search(r'prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)',rest)
        if cpu in cur: runs[cpu].append((cur[cpu][0],t,cur[cpu][1],cur[cpu][2]))
        cur[cpu]=(t,m.group(4),int(m.group(5)))
    elif name=='sys_enter_umount': open_[pid]=(t,cpu)
    elif name=='sys_exit_umount' and pid in open_:
        t0,c0=open_.pop(pid); calls.append((pid,t0,t,c0))
def occupants(cpu,a,b):
    occ=collections.Counter()
    for s,e,comm,p in runs[cpu]:
        lo,hi=max(s,a),min(e,b)
        if hi>lo: occ[(comm if comm!='mountstorm' else 'mountstorm')+('' if comm!='mountstorm' else '')]+=hi-lo
    return occ
calls.sort(key=lambda c:c[1])
print(f'{len(calls)} umount calls')
for pid,t0,t1,c0 in calls:
    other=1-c0
    occ=occupants(other,t0,t1); mine=occupants(c0,t0,t1)
    # caller own running time
    own=sum(max(0,min(e,t1)-max(s,t0)) for s,e,comm,p in runs[c0] if p==pid)
    print(f'pid {pid} cpu{c0} {t0:.0f} dur {t1-t0:7.0f} us own-run {own:6.0f}; other cpu: '+', '.join(f'{k} {v:.0f}' for k,v in occ.most_common(4))+'; own cpu others: '+', '.join(f'{k} {v:.0f}' for k,v in mine.most_common(3)))
print()
# per umount: the caller's sleeps: out -> woken (asleep) and woken -> in (runnable, waiting for a cpu)
outs=collections.defaultdict(list); wakes=collections.defaultdict(list); ins=collections.defaultdict(list)
for t,cpu,comm,pid,name,rest in ev:
    if name=='sched_switch':
        m=re.search(r'prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)',rest)
        outs[int(m.group(1))].append((t,m.group(2),cpu)); ins[int(m.group(4))].append((t,cpu))
    elif name=='sched_waking':
        m=re.search(r'pid=(\d+) prio=\d+ target_cpu=(\d+)',rest); wakes[int(m.group(1))].append((t,comm,pid,cpu,int(m.group(2))))
tot_sleep=tot_rq=tot_run=0
for pid,t0,t1,c0 in calls:
    segs=[]
    for (to,st,cpu) in outs[pid]:
        if t0<=to<t1:
            w=next((x for x in wakes[pid] if x[0]>=to),None)
            i=next((x for x in ins[pid] if x[0]>to),None)
            if w and i and i[0]<=t1+1:
                segs.append((st, w[0]-to, i[0]-w[0], w[1], i[1]))
    sl=sum(s[1] for s in segs); rq=sum(s[2] for s in segs if s[0]!='R'); pre=sum(s[1]+s[2] for s in segs if s[0]=='R')
    tot_sleep+=sl; tot_rq+=rq
    print(f'pid {pid} dur {t1-t0:6.0f}: '+'; '.join(f'{st} asleep {a:5.0f} woken-by {wb} then waited {b:5.0f} for cpu{c}' for st,a,b,wb,c in segs))
print('total asleep', tot_sleep, 'runnable-wait', tot_rq)
print()
# what ran on the cpu while a woken umount caller waited for it, and in which syscall
insys={}  # pid -> list of (start,end,name)
opn={}
for t,cpu,comm,pid,name,rest in ev:
    if name.startswith('sys_enter_'): opn[(pid,name[10:])]=t
    elif name.startswith('sys_exit_') and (pid,name[9:]) in opn:
        insys.setdefault(pid,[]).append((opn.pop((pid,name[9:])),t,name[9:]))
forks={}
for t,cpu,comm,pid,name,rest in ev:
    if name=='sched_process_fork':
        m=re.search(r'child_pid=(\d+)',rest); forks[int(m.group(1))]=t
what=collections.Counter()
for pid,t0,t1,c0 in calls:
    for (to,st,cpu) in outs[pid]:
        if not (t0<=to<t1): continue
        w=next((x for x in wakes[pid] if x[0]>=to),None); i=next((x for x in ins[pid] if x[0]>to),None)
        if not (w and i) or i[0]-w[0]<100: continue
        a,b,c=w[0],i[0],i[1]
        for s,e,comm,p in runs[c]:
            lo,hi=max(s,a),min(e,b)
            if hi<=lo: continue
            sysc=[x for x in insys.get(p,[]) if x[0]<hi and x[1]>lo]
            label=comm+':'+(','.join(sorted(set(x[2] for x in sysc))) or ('(no syscall'+(', forked at %.0f'%(forks[p]-a) if p in forks else '')+')'))
            what[label]+=hi-lo
for k,v in what.most_common(12): print(f'{v:8.0f} us  {k}')
print()
# the parent's clone() calls of the storm (the last K, after the probe's own set-up forks): duration, and the CPU the child returned on
cl=sorted([x for p,xs in insys.items() for x in xs if x[2]=='clone'], key=lambda x:x[0])
par=[x for x in cl if x[1]-x[0]>50]
print('clone calls over 50 us (the parent side; us):', ' '.join(f'{x[1]-x[0]:.0f}' for x in par[-8:]))
