#!/bin/bash
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"; B=build-bench/bench/paynotify-bench; R=$PWD/bench/results/relay-pipeline/small
run() { # name args...
  local name=$1; shift
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== relay.pipeline (batches <= 4 rows overlap) on vs off: $(git log --oneline -1 | cut -c1-60) + working tree" >> $R/uptime.log
for r in 1 2 3; do
  run e2e400-off-$r e2e --n 12000 --rate 400 --env PAYNOTIFY_RELAY_PIPELINE=false
  run e2e400-on-$r e2e --n 12000 --rate 400
done
for r in 1 2; do
  run e2e-off-$r e2e --n 20000 --env PAYNOTIFY_RELAY_PIPELINE=false
  run e2e-on-$r e2e --n 20000
  run relay-off-$r relay --k 100000 --env PAYNOTIFY_RELAY_PIPELINE=false
  run relay-on-$r relay --k 100000
done
echo done >> $R/uptime.log
