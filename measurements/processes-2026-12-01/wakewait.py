import re,sys,collections
# wakewait.py TRACE: for each wake-up of a mountstorm task or rcu_exp_gp_kthr onto a CPU running another task: wait until it runs, by class of the running task
pat=re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')
text=open(sys.argv[1]).read()
cl=collections.Counter(int(m.group(1)) for m in re.finditer(r'-(\d+)\s+\[\d+\].*sys_clone\(clone_flags: 0x1200011', text))
PARENT=cl.most_common(1)[0][0]
cur={}; firstop=set(); lastop=set(); pend={}; res=collections.defaultdict(list); insys={}
def cls(pid,comm):
    if pid==0: return 'idle'
    if pid==PARENT: return 'parent'+(' in '+insys[pid] if pid in insys else '')
    if comm=='mountstorm':
        st='pre' if pid not in firstop else ('ops' if pid not in lastop else 'exit')
        return 'child-'+st+(' in '+insys[pid] if pid in insys else '')
    return 'other:'+comm
comms={}
for line in text.split('\n'):
    if line.startswith('#'): continue
    m=pat.match(line)
    if not m: continue
    comm,pid,cpu,flags,t,ev,rest=m.groups(); pid=int(pid); cpu=int(cpu); t=float(t)*1e6
    comms[pid]=comm
    if ev.startswith('sys_'):
        name=ev.split('(')[0]
        if ' -> ' in line: insys.pop(pid,None)
        else: insys[pid]=name
        if name not in ('sys_clone',) and pid!=PARENT and comm=='mountstorm':
            firstop.add(pid)
    if ev=='sched_process_exit': lastop.add(pid)
    if ev=='sched_switch':
        mm=re.search(r'prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.+?) next_pid=(\d+)',rest)
        np_=int(mm.group(4)); comms[np_]=mm.group(3)
        cur[cpu]=np_
        if np_ in pend:
            t0,what=pend.pop(np_); res[what].append(t-t0)
    if ev=='sched_wakeup':
        mm=re.search(r'comm=(.+?) pid=(\d+) prio=\d+ target_cpu=(\d+)',rest)
        wc,wp,tc=mm.group(1),int(mm.group(2)),int(mm.group(3))
        if wc in ('mountstorm','rcu_exp_gp_kthr') and wp!=PARENT:
            running=cur.get(tc,0)
            if running!=0 and running!=wp:
                pend[wp]=(t,('gp-kthr' if wc!='mountstorm' else 'storm')+' behind '+cls(running,comms.get(running,'')))
for k,v in sorted(res.items(), key=lambda x:-sum(x[1])):
    v.sort(); print(f'{k:45s} n={len(v):3d} mean {sum(v)/len(v):6.0f} p50 {v[len(v)//2]:6.0f} max {v[-1]:6.0f} total {sum(v):7.0f} us')
