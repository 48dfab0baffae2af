#!/bin/bash
# A/B of order-service's intake: OLD = cd087a5 (BEGIN, lock, mark, COMMIT per group) against
# NEW = ed226b7 (one statement per group that is its own transaction). Both binaries are
# built from those commits (cmake --build build-bench --target order-service) and copied in
# before each run; everything else (learning-service, the bench, the servers) is the same.
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=$PWD/bench/results/fast-path
OLD=${OLD:-/work/s23/os-old}; NEW=${NEW:-/work/s23/os-final}
run() { # name binary args...
  local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/order-service/order-service
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== fast path: old $(git log --oneline -1 cd087a5 | cut -c1-40) vs new $(git log --oneline -1 ed226b7 | cut -c1-40)" >> $R/uptime.log
for r in 1 2 3 4 5; do
  if (( r % 2 )); then
    run e2e400-old-$r $OLD e2e --n 12000 --rate 400
    run e2e400-new-$r $NEW e2e --n 12000 --rate 400
  else
    run e2e400-new-$r $NEW e2e --n 12000 --rate 400
    run e2e400-old-$r $OLD e2e --n 12000 --rate 400
  fi
done
for r in 1 2; do
  run e2e-new-$r $NEW e2e --n 20000
  run e2e-old-$r $OLD e2e --n 20000
  run intake-new-$r $NEW intake
  run intake-old-$r $OLD intake
done
for r in 1 2 3; do run relay-new-$r $NEW relay --k 100000; done
cp "$NEW" build-bench/order-service/order-service
echo done >> $R/uptime.log
