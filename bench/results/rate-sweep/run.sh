#!/bin/bash
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"; B=build-bench/bench/paynotify-bench; R=$PWD/bench/results/rate-sweep
run() { # name args...
  local name=$1; shift
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== rate sweep, shipped configuration: $(git log --oneline -1 | cut -c1-60)" >> $R/uptime.log
for r in 1 2; do
  run e2e50-$r e2e --n 3000 --rate 50
  run e2e400-$r e2e --n 12000 --rate 400
  run e2e100-$r e2e --n 4000 --rate 100
  run e2e300-$r e2e --n 9000 --rate 300
  run e2e200-$r e2e --n 6000 --rate 200
done
echo done >> $R/uptime.log
