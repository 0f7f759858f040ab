import re,sys,collections
# reschedipi.py TRACE...: latency from a wake-up's reschedule IPI (ipi_send_cpu callsite=wakeup_preempt, no callback) to reschedule_entry on the target, by the target's state
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
res=collections.defaultdict(list)
for f in sys.argv[1:]:
    cur={}; pend={}
    for line in open(f):
        if line.startswith('#'): continue
        m=pat.match(line)
        if not m: continue
        comm,pid,cpu,flags,t,ev,rest=m.groups(); pid=int(pid); cpu=int(cpu); t=float(t)*1e6
        if ev=='sched_switch':
            cur[cpu]=int(re.search(r'next_pid=(\d+)',rest).group(1))
        if ev=='ipi_send_cpu' and 'wakeup_preempt' in rest:
            tgt=int(re.search(r'cpu=(\d+)',rest).group(1))
            pend.setdefault(tgt,(t,'idle' if cur.get(tgt,0)==0 else 'busy'))
        if ev=='reschedule_entry' and cpu in pend:
            t0,st=pend.pop(cpu); res[st].append(t-t0)
for k,v in res.items():
    v.sort(); n=len(v)
    print(f'{k:5s} n={n:4d} p10 {v[n//10]:5.0f} p50 {v[n//2]:5.0f} p90 {v[int(n*.9)]:5.0f} mean {sum(v)/n:5.0f} us')
