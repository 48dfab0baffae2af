#!/bin/bash
# A/B of learning-service's apply with and without BEGIN/COMMIT: the two binaries are built
# from the commits before and after (see README.md) and copied in before each run.
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"; B=build-bench/bench/paynotify-bench; R=$PWD/bench/results/apply-autocommit
OLD=${OLD:-/work/trace/ls-old}; NEW=${NEW:-/work/trace/ls-new}
run() { # name binary args...
  local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/learning-service/learning-service
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
SET=${SET:-1}
echo "== set $SET: learning apply: BEGIN/stmt/COMMIT (old) vs the statement alone (new)" >> $R/uptime.log
if [ "$SET" = 2 ]; then
  for r in ${RUNS:-4 5 6 7}; do
    run e2e400-new-$r $NEW e2e --n 12000 --rate 400
    run e2e400-old-$r $OLD e2e --n 12000 --rate 400
  done
  cp "$NEW" build-bench/learning-service/learning-service; echo done >> $R/uptime.log; exit 0
fi
for r in 1 2 3; do
  run e2e400-old-$r $OLD e2e --n 12000 --rate 400
  run e2e400-new-$r $NEW e2e --n 12000 --rate 400
done
for r in 1 2; do
  run e2e-old-$r $OLD e2e --n 20000
  run e2e-new-$r $NEW e2e --n 20000
done
cp "$NEW" build-bench/learning-service/learning-service
echo done >> $R/uptime.log
