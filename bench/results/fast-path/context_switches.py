#!/usr/bin/env python3
# Context switches per second by process (threads summed) over N seconds: python3 context_switches.py 8
import os,sys,time,collections
def snap():
    d=collections.Counter()
    for p in os.listdir('/proc'):
        if not p.isdigit(): continue
        try:
            comm=open(f'/proc/{p}/comm').read().strip()
            cmd=open(f'/proc/{p}/cmdline').read().split('\0')
            if comm.startswith('postgres'):
                name='postgres:'+(cmd[0].split(' ')[1] if ' ' in cmd[0] else cmd[0])[:40]
                # cmdline like "postgres: paynotify paynotify_orders 127.0.0.1(1234) idle"
                parts=cmd[0].split()
                name='pg:'+(' '.join(parts[1:3]) if len(parts)>2 else cmd[0])
            elif 'beam' in comm: name='rabbitmq'
            else: name=comm
            for t in os.listdir(f'/proc/{p}/task'):
                s=open(f'/proc/{p}/task/{t}/status').read()
                v=int(s.split('voluntary_ctxt_switches:')[1].split()[0]); n=int(s.split('nonvoluntary_ctxt_switches:')[1].split()[0])
                d[name]+=v+n
        except Exception: pass
    return d
a=snap(); t=float(sys.argv[1]); time.sleep(t); b=snap()
tot=0
for k in sorted(b, key=lambda k: -(b[k]-a.get(k,0))):
    x=b[k]-a.get(k,0)
    if x>100: print(f'{k:50s} {x/t:9.0f}/s'); tot+=x
print('total', tot/t, '/s')
