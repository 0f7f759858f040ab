import re,sys,collections
# ipidelay.py TRACE: delay from the expedited GP kthread's IPI to its handler on the target CPU, by what the target ran
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
cur={} # cpu -> (comm,pid)
import collections as C
cl=C.Counter(int(m.group(1)) for m in re.finditer(r'-(\d+)\s+\[\d+\].*sys_clone\(clone_flags: 0x1200011', open(sys.argv[1]).read()))
PARENT=cl.most_common(1)[0][0] if cl else -1
insys={} # pid -> (name, t)
pending={} # cpu -> (t_sent, desc)
res=collections.defaultdict(list)
forks=[]
for line in open(sys.argv[1]):
    if line.startswith('#'): continue
    m=pat.match(line)
    if not m: continue
    comm,pid,cpu,flags,t,ev,rest=m.groups(); pid=int(pid); cpu=int(cpu); t=float(t)*1e6
    cur[cpu]=(comm,pid)
    if ev.startswith('sys_') :
        name=ev.split('(')[0]
        if '->' in rest or rest.startswith('->') or line.find(' -> ')>0:
            s=insys.pop(pid,None)
            if s and name=='sys_clone': forks.append(t-s[1])
        else:
            insys[pid]=(name,t)
    if ev=='ipi_send_cpu' and 'generic_smp_call_function_single_interrupt' in rest and comm.startswith('rcu_exp'):
        tgt=int(re.search(r'cpu=(\d+)',rest).group(1))
        tc=cur.get(tgt,('?',0))
        s=insys.get(tc[1])
        what = (tc[0] if tc[0] in ('<idle>','swapper') else ('parent' if tc[1]==PARENT else tc[0])) + (' in '+s[0] if s else '')
        pending[tgt]=(t,what)
    if ev=='sched_switch':
        mm=re.search(r'next_comm=(.+?) next_pid=(\d+)',rest); cur[cpu]=(mm.group(1),int(mm.group(2)))
    if ev=='call_function_single_entry' and cpu in pending:
        ts,what=pending.pop(cpu)
        res[what].append(t-ts)
for k,v in sorted(res.items(), key=lambda x:-sum(x[1])):
    v.sort(); print(f'{k:40s} n={len(v):3d} mean {sum(v)/len(v):7.0f} us  p50 {v[len(v)//2]:7.0f} max {v[-1]:7.0f} total {sum(v):8.0f}')
forks.sort(); print('sys_clone durations us: n', len(forks), 'p50', forks[len(forks)//2] if forks else '', 'all', [round(x) for x in forks])
