#!/bin/bash
# The sequence behind bench/RESULTS.md 12 (classic queue v2); run from anywhere, servers up.
cd "$(dirname "$0")/../../.." && eval "$(scripts/infra env)"; B=build-bench/bench/paynotify-bench; R=bench/results/cqv2
echo "== $(git log --oneline -1 | cut -c1-50); v2 = policy {\"queue-version\":2} on every queue, v1 = no policy (3.10's default)" >> $R/uptime.log
run() { local name=$1; shift
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log; }
v2() { scripts/infra rabbitmqctl set_policy --apply-to queues --priority 0 cqv2 '.*' '{"queue-version":2}' >/dev/null 2>&1; }
v1() { scripts/infra rabbitmqctl clear_policy cqv2 >/dev/null 2>&1; }
for r in 1 2; do
  v1; run e2e400-v1-$r e2e --n 12000 --rate 400
  v2; run e2e400-v2-$r e2e --n 12000 --rate 400
done
for r in 1 2; do
  v1; run e2e-v1-$r e2e --n 20000
  v2; run e2e-v2-$r e2e --n 20000
done
for r in 1 2; do
  v1; run relay-v1-$r relay --k 100000
  v2; run relay-v2-$r relay --k 100000
done
v1
echo done >> $R/uptime.log
