#!/bin/bash
# The issue's figures for the shipped build of this pass (RESULTS.md 17, "the targets"): the
# commands of RESULTS.md 2 at the default sizes, median of 3, in this order, plus the paced
# 400/s run the latency target names. mq_message is VACUUMed before each command, as relay-linger/final.sh did.
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=${R:-$PWD/bench/results/stale-statistics/final}
mkdir -p "$R"
run() { # name args...
  local name=$1; shift
  psql -X -q -h 127.0.0.1 -d paynotify_orders -c 'VACUUM mq_message' >/dev/null
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 3 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== final: order-service $(sha1sum < build-bench/order-service/order-service | cut -c1-12)" >> $R/uptime.log
run limits limits --k 100000
run relay relay --k 100000
run intake intake --n 20000
run e2e e2e --n 20000
run e2e-400 e2e --n 20000 --rate 400
echo done >> $R/uptime.log
