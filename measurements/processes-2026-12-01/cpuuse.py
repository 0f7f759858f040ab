import re,sys,collections
# cpuuse.py TRACE T0 T1: per CPU, time by task class between T0 and T1 (trace seconds); classes: parent, child, idle, kthreads
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
lines=open(sys.argv[1]).read()
cl=collections.Counter(int(m.group(1)) for m in re.finditer(r'-(\d+)\s+\[\d+\].*sys_clone\(clone_flags: 0x1200011', lines))
PARENT=cl.most_common(1)[0][0]
t0=float(sys.argv[2])*1e6 if len(sys.argv)>2 else None; t1=float(sys.argv[3])*1e6 if len(sys.argv)>3 else None
cur={}; since={}; use=collections.defaultdict(lambda: collections.defaultdict(float))
def cls(comm,pid):
    if pid==0: return 'idle'
    if pid==PARENT: return 'parent'
    if comm=='mountstorm': return 'child'
    return 'other:'+re.sub(r'[/:\-]\d.*','',comm)
first=None
for line in lines.split('\n'):
    if line.startswith('#'): continue
    m=pat.match(line)
    if not m: continue
    comm,pid,cpu,flags,t,ev,rest=m.groups(); pid=int(pid); cpu=int(cpu); t=float(t)*1e6
    if t0 is None and ev.startswith('sys_clone') and pid==PARENT and '0x1200011' in rest and first is None: first=t
    if ev=='sched_switch':
        mm=re.search(r'prev_comm=(.+?) prev_pid=(\d+).*next_comm=(.+?) next_pid=(\d+)',rest)
        if cpu in cur:
            a=max(since[cpu], t0 if t0 else 0); b=min(t, t1) if t1 else t
            if b>a: use[cpu][cur[cpu]]+=b-a
        cur[cpu]=cls(mm.group(3),int(mm.group(4))); since[cpu]=t
for c in sorted(use):
    tot=sum(use[c].values())
    print('cpu',c,'total %.0f us:'%tot, ', '.join('%s %.0f%%'%(k,100*v/tot) for k,v in sorted(use[c].items(), key=lambda x:-x[1])))
