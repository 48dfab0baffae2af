#!/usr/bin/env python3
"""One line per run in this directory (or the one given): the figures RESULTS.md 17 quotes.
Relay drains: drain rate, ratio to raw publish, PostgreSQL CPU per 1,000 messages.
e2e runs: applied/s, latency p50/p99/max, CPU per payment summed over the four processes."""
import json, pathlib, sys
d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
CPU = ['cpu_s_per_1000_order-service', 'cpu_s_per_1000_learning-service', 'cpu_s_per_1000_postgres',
       'cpu_s_per_1000_rabbitmq']
for f in sorted(d.glob('*.json')):
    fig = json.loads(f.read_text())['figures']
    m = lambda k: fig[k]['median'] if k in fig else float('nan')
    if f.name.startswith(('relay', 'vacuumed')):
        print(f"{f.stem:18} drain {m('relay_drain_msg_per_s'):8.0f}/s  vs raw {m('relay_vs_raw_publish'):.2f}  "
              f"(raw {m('raw_publish_msg_per_s'):.0f}/s)  PG CPU/1000 {m('cpu_s_per_1000_postgres'):.3f} s")
    else:
        cpu = sum(m(k) for k in CPU if k in fig)
        print(f"{f.stem:18} applied {m('applied_per_s'):6.0f}/s  p50 {m('latency_p50_ms'):8.2f}  "
              f"p99 {m('latency_p99_ms'):8.2f}  max {m('latency_max_ms'):8.1f} ms  "
              f"CPU/payment {cpu:.2f} ms (PG {m('cpu_s_per_1000_postgres'):.2f})")
