import re,sys,collections
# workerplace.py TRACE...: where rcu_exp_gp_kthread_worker's wake-ups by storm threads land (the waker's CPU or the other),
# and how many storm threads were woken through a wake list (in the idle task's context on an idle CPU)
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
for f in sys.argv[1:]:
    c=collections.Counter()
    for line in open(f):
        m=pat.match(line)
        if not m: continue
        comm,pid,cpu,flags,t,ev,rest=m.groups(); cpu=int(cpu)
        if ev!='sched_wakeup': continue
        wk=re.search(r'comm=(.+?) pid=(\d+) prio=\d+ target_cpu=(\d+)',rest)
        wakee=wk.group(1); tgt=int(wk.group(3))
        if wakee.startswith('rcu_exp_gp') and comm.startswith('mountstorm'): c['worker woken by a storm thread onto its cpu' if tgt==cpu else 'worker woken by a storm thread onto the other cpu']+=1
        elif wakee.startswith('mountstorm') and comm=='<idle>': c['storm thread woken through a wake list (idle context)']+=1
    print(f, dict(c))
