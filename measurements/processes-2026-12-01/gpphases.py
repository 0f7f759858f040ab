import re,sys,collections
# gpphases.py TRACE: phases of the expedited GP worker (rcu_exp_gp_kthr): woken->runs, IPI send->handler, handler->worker woken again, worker wakes waiter->waiter runs
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
K=None
ev_list=[]
for line in open(sys.argv[1]):
    if line.startswith('#'): continue
    m=pat.match(line)
    if not m: continue
    comm,pid,cpu,flags,t,ev,rest=m.groups()
    ev_list.append((float(t)*1e6,comm,int(pid),int(cpu),ev,rest,flags))
kpid=None
for e in ev_list:
    if 'comm=rcu_exp_gp_kthr' in e[5]: kpid=int(re.search(r'pid=(\d+)',e[5].split('comm=rcu_exp_gp_kthr')[1]).group(1)); break
ph=collections.defaultdict(list)
insys={}; longs=[]; hwhat=None
wake_t=None; ipi=None; handler_t=None; waiters={}; running_on={}
cur={}
for t,comm,pid,cpu,ev,rest,flags in ev_list:
    if ev.startswith('sys_'):
        if ' -> ' in rest or rest.startswith('->'): insys.pop(pid,None)
        else: insys[pid]=(ev.split('(')[0],t)
    if ev=='sched_switch':
        np_=int(re.search(r'next_pid=(\d+)',rest).group(1)); pp=int(re.search(r'prev_pid=(\d+)',rest).group(1))
        cur[cpu]=np_
        if np_==kpid and wake_t is not None: ph['1 worker woken -> runs'].append(t-wake_t); wake_t=None
        if np_ in waiters: ph['4 waiter woken -> runs'].append(t-waiters.pop(np_))
    if ev=='sched_wakeup':
        wp=int(re.search(r' pid=(\d+)',rest).group(1))
        if wp==kpid:
            wake_t=t
            if handler_t is not None:
                ph['3 IPI handled -> worker woken'].append(t-handler_t)
                longs.append((round(t-handler_t), hwhat, comm, pid))
                handler_t=None
        elif pid==kpid and 'comm=mountstorm' in rest: waiters[wp]=t
    if ev=='ipi_send_cpu' and pid==kpid and 'generic_smp_call_function_single_interrupt' in rest:
        ipi=(t,int(re.search(r'cpu=(\d+)',rest).group(1)))
    if ev=='call_function_single_entry' and ipi and cpu==ipi[1]:
        ph['2 IPI sent -> handler'].append(t-ipi[0]); handler_t=t; ipi=None; x=insys.get(pid); hwhat=(comm,pid,x[0] if x else 'user', round(t-x[1]) if x else 0, flags)
for k in sorted(ph):
    v=sorted(ph[k]); n=len(v)
    print(f'{k:32s} n={n:4d} mean {sum(v)/n:6.1f} p50 {v[n//2]:6.1f} p90 {v[int(n*.9)]:6.1f} max {v[-1]:7.1f} us')

agg=collections.defaultdict(list)
for d,h,c,p in longs:
    agg[(h[2] if h[0]!='<idle>' else 'idle')].append(d)
for k,v in sorted(agg.items(), key=lambda x:-sum(x[1])):
    v.sort(); print(f'  QS wait by target state {k:18s} n={len(v):3d} mean {sum(v)/len(v):6.0f} p50 {v[len(v)//2]:5.0f} max {v[-1]:5.0f}')
