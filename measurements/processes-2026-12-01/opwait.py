# opwait.py TRACE SYSCALL (e.g. sys_umount, sys_open_tree): per call, its time on CPU, asleep and runnable, and who woke it
import re,sys,collections
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
insys={}; state={}; out=[]
for line in open(sys.argv[1]):
    if line.startswith('#'): continue
    m=pat.match(line)
    if not m: continue
    comm,pid,cpu,flags,t,ev,rest=m.groups(); pid=int(pid); cpu=int(cpu); t=float(t)*1e6
    if ev.startswith(sys.argv[2]):
        if ' -> ' in line:
            s=insys.pop(pid,None)
            if s: out.append((s['t0'],pid,t-s['t0'],s['run'],s['sleep'],s['rq'],s['why']))
        else: insys[pid]={'t0':t,'run':0,'sleep':0,'rq':0,'last':t,'st':'run','why':[]}
    if ev=='sched_switch':
        pp=int(re.search(r'prev_pid=(\d+)',rest).group(1)); ps=re.search(r'prev_state=(\S+)',rest).group(1)
        np_=int(re.search(r'next_pid=(\d+)',rest).group(1))
        if pp in insys:
            s=insys[pp]; s['run']+=t-s['last']; s['last']=t; s['st']='sleep' if ps in ('D','S') else 'rq'
            if ps not in ('D','S'): s['why'].append('preempted')
        if np_ in insys:
            s=insys[np_]; s[s['st']]+=t-s['last']; s['last']=t; s['st']='run'
    if ev=='sched_wakeup':
        wp=int(re.search(r' pid=(\d+)',rest).group(1))
        if wp in insys:
            s=insys[wp]; s['sleep']+=t-s['last']; s['last']=t; s['st']='rq'; s['why'].append(comm)
for o in sorted(out): print('t %.0f pid %d dur %5.0f run %5.0f sleep %5.0f rq %5.0f woken by %s'%o)
