#!/bin/bash
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"; B=build-bench/bench/paynotify-bench; R=$PWD/bench/results/relay-pipeline/trace
for r in 1 2; do
 for mode in off on; do
  env=""; [ $mode = off ] && env="--env PAYNOTIFY_RELAY_PIPELINE=false"
  echo "$(date -u +%T) $mode-$r load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B e2e --n 8000 --rate 400 --runs 1 $env --json $R/$mode-$r.json > $R/$mode-$r.out 2>&1
  dir=$(grep -o "daemon logs in [^ ]*" $R/$mode-$r.out | head -1 | awk '{print $4}')
  python3 bench/trace/stages.py $dir 3 > $R/$mode-$r.stages 2>&1
 done
done
echo done >> $R/uptime.log
