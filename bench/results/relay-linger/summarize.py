#!/usr/bin/env python3
"""Summarises the A/B runs of this directory (run.sh): per figure, the median and range of
each binary, and for the paced 400/s pairs the per-pair difference new - old.
Usage: bench/results/relay-linger/summarize.py [dir]"""
import glob
import json
import os
import statistics
import sys

d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def load(name):
    path = os.path.join(d, name + ".json")
    if not os.path.exists(path):
        return None
    return {k: v["median"] for k, v in json.load(open(path))["figures"].items()}


def cpu(f):
    return sum(v for k, v in f.items() if k.startswith("cpu_s_per_1000_"))


def show(prefix, figures):
    runs = {}
    for side in ("old", "new"):
        runs[side] = {}
        for path in sorted(glob.glob(os.path.join(d, f"{prefix}-{side}-*.json"))):
            n = int(path.rsplit("-", 1)[1].split(".")[0])
            runs[side][n] = load(os.path.basename(path)[:-5])
    pairs = sorted(set(runs["old"]) & set(runs["new"]))
    if not pairs:
        return
    print(f"== {prefix}: {len(pairs)} pairs")
    for fig in figures:
        line = f"{fig:34}"
        for side in ("old", "new"):
            vals = [cpu(runs[side][p]) if fig == "cpu_all" else runs[side][p].get(fig) for p in pairs]
            vals = [v for v in vals if v is not None]
            line += f"  {side} {statistics.median(vals):8.3f} [{min(vals):.3f} - {max(vals):.3f}]"
        diffs = []
        for p in pairs:
            o, n = runs["old"][p], runs["new"][p]
            a, b = (cpu(o), cpu(n)) if fig == "cpu_all" else (o.get(fig), n.get(fig))
            if a is not None and b is not None:
                diffs.append(b - a)
        if diffs:
            better = sum(1 for x in diffs if x < 0)
            line += f"  new-old median {statistics.median(diffs):+.3f}, lower in {better}/{len(diffs)}"
        print(line)


lat = ["latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "cpu_all", "cpu_s_per_1000_order-service",
       "cpu_s_per_1000_postgres", "cpu_s_per_1000_rabbitmq", "cpu_s_per_1000_learning-service",
       "peak_rss_order_service_mib"]
show("e2e400", lat)
show("e2e", ["applied_per_s"] + lat[3:])
show("relay", None or [])
for side in ("old", "new"):
    for path in sorted(glob.glob(os.path.join(d, f"relay-{side}-*.json"))):
        f = load(os.path.basename(path)[:-5])
        keys = [k for k in f if "ratio" in k or "per_s" in k]
        print(os.path.basename(path), {k: round(f[k], 3) for k in keys})
