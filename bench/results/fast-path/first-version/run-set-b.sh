#!/bin/bash
# A/B of order-service binaries: old (cd087a5) vs new (00d0bd1 fast pay path), alternated
cd /work/main; eval "$(scripts/infra env)"; B=build-bench/bench/paynotify-bench; R=${R:-/work/s23/ab2}
mkdir -p $R
run() { local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/order-service/order-service
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log; }
for r in 5 6 7 8; do
  run e2e400-new-$r /work/s23/os-new e2e --n 12000 --rate 400
  run e2e400-old-$r /work/s23/os-old e2e --n 12000 --rate 400
done
for r in 1 2; do
  run intake-old-$r /work/s23/os-old intake
  run intake-new-$r /work/s23/os-new intake
  run e2e-old-$r /work/s23/os-old e2e --n 20000
  run e2e-new-$r /work/s23/os-new e2e --n 20000
done
cp /work/s23/os-new build-bench/order-service/order-service
echo done >> $R/uptime.log
