import re,sys,collections
# idlewake.py TRACE...: call-function IPIs sent to a CPU running the idle task (wake lists: ttwu_queue_wakelist;
# the grace period's rcu_exp_handler: generic_exec_single), the delay to their handler, by how long the target had
# been idle when the IPI was sent. 'wake' = sent by another task than the grace-period worker, 'rcu' = by the worker.
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
rows=[]
for f in sys.argv[1:]:
    cur={}; idle_since={}; pending={}
    for line in open(f):
        if line.startswith('#'): continue
        m=pat.match(line)
        if not m: continue
        comm,pid,cpu,flags,t,ev,rest=m.groups(); cpu=int(cpu); t=float(t)*1e6
        if ev=='sched_switch':
            nxt=re.search(r'next_comm=(.+?) next_pid=(\d+)',rest)
            if nxt.group(2)=='0': idle_since[cpu]=t
            else: idle_since.pop(cpu,None)
        if ev=='ipi_send_cpu' and 'generic_smp_call_function_single_interrupt' in rest:
            tgt=int(re.search(r'cpu=(\d+)',rest).group(1))
            if tgt in idle_since and tgt not in pending:
                kind='rcu' if comm.startswith('rcu_exp') else 'wake'
                pending[tgt]=(t,t-idle_since[tgt],kind,'ttwu_queue_wakelist' in rest)
        if ev=='call_function_single_entry' and cpu in pending:
            ts,idle,kind,wl=pending.pop(cpu)
            rows.append((idle,t-ts,kind,wl))
bins=[0,25,50,100,150,200,250,300,400,600,1000,3000,1e9]
for kind in ('wake','rcu','all'):
    print(kind)
    for lo,hi in zip(bins,bins[1:]):
        v=sorted(d for i,d,k,w in rows if lo<=i<hi and (kind=='all' or k==kind))
        if v: print(f'  idle {lo:5.0f}-{hi:<6.0f}us n={len(v):4d} p50 {v[len(v)//2]:6.1f} p25 {v[len(v)//4]:6.1f} p75 {v[3*len(v)//4]:6.1f} us')

# Wake lists alone (ttwu_queue_wakelist, whoever sent them), finer bins: the share answered after more than 30 us.
print('wake lists, by idle before the IPI')
fine=[0,10,20,30,40,50,60,80,100,150,200,400,1000,1e9]
for lo,hi in zip(fine,fine[1:]):
    v=sorted(d for i,d,k,w in rows if w and lo<=i<hi)
    if v: print(f'  idle {lo:5.0f}-{hi:<6.0f}us n={len(v):4d} p50 {v[len(v)//2]:6.1f} us, answered after >30 us: {sum(1 for x in v if x>30)/len(v):.2f}')
