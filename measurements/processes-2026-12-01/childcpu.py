# childcpu.py TRACE: per container process of a --processes storm, CPU from its fork to its first op, during its ops, and after its last op (the last double-counts the final run; read it as an upper bound)
import re,sys,collections
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
lines=open(sys.argv[1]).read()
cl=collections.Counter(int(m.group(1)) for m in re.finditer(r'-(\d+)\s+\[\d+\].*sys_clone\(clone_flags: 0x1200011', lines))
PARENT=cl.most_common(1)[0][0]
runs=collections.defaultdict(list); oncpu={}; firstop={}; lastop={}; exitt={}; forkt={}; insys=collections.defaultdict(float); sysstart={}
for line in lines.split('\n'):
    if line.startswith('#'): continue
    m=pat.match(line)
    if not m: continue
    comm,pid,cpu,flags,t,ev,rest=m.groups(); pid=int(pid); cpu=int(cpu); t=float(t)*1e6
    if ev=='sched_switch':
        mm=re.search(r'prev_pid=(\d+).*next_pid=(\d+)',rest); pp,np_=int(mm.group(1)),int(mm.group(2))
        if pp in oncpu: runs[pp].append((oncpu.pop(pp),t))
        oncpu[np_]=t
    if ev=='sched_process_fork' and pid==PARENT:
        forkt[int(re.search(r'child_pid=(\d+)',rest).group(1))]=t
    if pid in forkt and ev.startswith('sys_') and not ev.startswith('sys_clone'):
        if ' -> ' in line: lastop[pid]=t
        else: firstop.setdefault(pid,t)
    if ev=='sched_process_exit' and pid in forkt:
        exitt[pid]=t
        if pid in oncpu: runs[pid].append((oncpu[pid],t))
def cpu_between(pid,a,b): return sum(max(0,min(y,b)-max(x,a)) for x,y in runs[pid])
tot=collections.defaultdict(float)
for p in sorted(forkt):
    if p not in firstop: continue
    pre=cpu_between(p,forkt[p],firstop[p]); ops=cpu_between(p,firstop[p],lastop[p]); post=cpu_between(p,lastop[p],exitt.get(p,1e18)+1)
    tot['pre']+=pre; tot['ops']+=ops; tot['post']+=post; tot['n']+=1
    print(p,'fork->first op %.0f us (cpu %.0f), ops span %.0f (cpu %.0f), last op->exit %.0f (cpu %.0f)'%(firstop[p]-forkt[p],pre,lastop[p]-firstop[p],ops,exitt.get(p,0)-lastop[p],post))
n=tot['n']; print('mean cpu per child: pre %.0f ops %.0f post %.0f us'%(tot['pre']/n,tot['ops']/n,tot['post']/n))
