#!/usr/bin/env python3
"""Where a paced e2e run's commit-to-apply latency goes, stage by stage (bench/RESULTS.md 12).

Reads the TRACE lines that stage-timestamps.patch adds to the daemons' logs (microsecond
wall-clock stamps, one line per intake group, relay batch and consumer batch, the batches'
message_ids) and joins them per message with mq_message_history.created_at (the order
transaction's now(); the bench runs with relay.keep-history on). Prints p10/p50/p90/p99 of
each stage in ms over the messages it could place, and the mean batch sizes.

  git apply bench/trace/stage-timestamps.patch     # never commit it
  cmake --build build-bench --target paynotify-bench order-service learning-service
  eval "$(scripts/infra env)"
  build-bench/bench/paynotify-bench e2e --n 8000 --rate 400 --runs 1   # prints "daemon logs in DIR"
  bench/trace/stages.py DIR [minutes of history to read, default 5]

One clock (one machine), so stamps from the three processes and PostgreSQL compare directly.
"""
import bisect
import glob
import itertools
import os
import re
import subprocess
import sys


def lines(pattern):
    return itertools.chain(*[open(f, encoding="utf-8", errors="replace") for f in glob.glob(pattern)])


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] / 1000.0


def main():
    log_dir = sys.argv[1]
    minutes = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    relay, consumer, groups, relay_batches, consumer_batches = {}, {}, [], [], []
    for line in lines(log_dir + "/order-service-*.log"):
        if "TRACE relay" in line:
            m = re.search(r"n=(\d+) wake=(\d+) c0=(\d+) c1=(\d+) conf=(\d+) done=(\d+) ids=(\S*)", line)
            n, wake, c0, c1, conf, done = map(int, m.groups()[:6])
            relay_batches.append(n)
            for message_id in filter(None, m.group(7).split(",")):
                relay[message_id] = (wake, c0, c1, conf, done)
        elif "TRACE intake" in line:
            groups.append(tuple(map(int, re.search(r"n=(\d+) t0=(\d+) t1=(\d+)", line).groups())))
    for line in lines(log_dir + "/learning-service-*.log"):
        if "TRACE consumer" in line:
            m = re.search(r"n=(\d+) got=(\d+) done=(\d+) ids=(\S*)", line)
            n, got, done = map(int, m.groups()[:3])
            consumer_batches.append((n, got, done))
            for message_id in filter(None, m.group(4).split(",")):
                consumer[message_id] = (got, done)
    db = os.environ.get("PAYNOTIFY_ORDERS_DB", "paynotify_orders")
    out = subprocess.run(
        ["psql", "-d", db, "-At", "-F", " ", "-c",
         "SELECT message_id, (extract(epoch FROM created_at) * 1e6)::bigint FROM mq_message_history"
         f" WHERE created_at > now() - interval '{minutes} minutes'"],
        capture_output=True, text=True, check=True).stdout
    created = dict((a, int(b)) for a, b in (line.split() for line in out.splitlines() if line))
    groups.sort()
    group_starts = [g[1] for g in groups]
    by_got = sorted(consumer_batches, key=lambda b: b[1])
    got_times = [b[1] for b in by_got]
    stages = {k: [] for k in [
        "order tx: start -> commit", "commit -> relay claim starts", "relay wake-up -> claim starts",
        "claim", "publish -> last confirm", "delete (complete)", "claim end -> consumer has it",
        "  of which the consumer was busy", "consumer batch tx", "order tx start -> consumer has it"]}
    for message_id, (wake, c0, c1, conf, done) in relay.items():
        if message_id not in created or message_id not in consumer:
            continue
        start = created[message_id]
        i = bisect.bisect_right(group_starts, start) - 1
        if i < 0 or groups[i][2] < start:
            continue  # not written by an intake group of this run
        commit = groups[i][2]
        got, consumer_done = consumer[message_id]
        j = bisect.bisect_left(got_times, got) - 1
        previous_done = by_got[j][2] if j >= 0 else 0
        for name, value in [
                ("order tx: start -> commit", commit - start), ("commit -> relay claim starts", c0 - commit),
                ("relay wake-up -> claim starts", c0 - wake), ("claim", c1 - c0),
                ("publish -> last confirm", conf - c1), ("delete (complete)", done - conf),
                ("claim end -> consumer has it", got - c1),
                ("  of which the consumer was busy", max(0, previous_done - c1)),
                ("consumer batch tx", consumer_done - got), ("order tx start -> consumer has it", got - start)]:
            stages[name].append(value)
    print(f"messages placed: {len(stages['claim'])} of {len(relay)} relayed")
    print("%-36s %8s %8s %8s %8s" % ("stage (ms)", "p10", "p50", "p90", "p99"))
    for name, values in stages.items():
        if values:
            print("%-36s %8.2f %8.2f %8.2f %8.2f" % (name, pct(values, .1), pct(values, .5), pct(values, .9),
                                                     pct(values, .99)))
    mean = lambda xs: sum(xs) / max(1, len(xs))
    print(f"intake groups {len(groups)}, mean size {mean([g[0] for g in groups]):.2f}; relay batches "
          f"{len(relay_batches)}, mean {mean(relay_batches):.2f}; consumer batches {len(consumer_batches)}, "
          f"mean {mean([b[0] for b in consumer_batches]):.2f}")


if __name__ == "__main__":
    main()
