#!/bin/bash
# More unpaced e2e and relay-drain pairs, OLD against FINAL (the shipped build of this pass:
# the open batch, the listener's rounded poll timeout and the relay session's idle timeout),
# after two of run.sh's four MORE runs stalled on the outbox's stale statistics (RESULTS.md
# 16). Before each run mq_message is VACUUMed: it is empty between runs, so VACUUM truncates it
# and its statistics then follow its real size; no run starts over statistics that call it
# empty. MORE= the pair numbers.
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=${R:-$PWD/bench/results/relay-linger}
OLD=${OLD:-/work/bin/order-service-old}; NEW=${NEW:-/work/bin/order-service-final}
MORE=${MORE:-3,4,5}
run() { # name binary args...
  local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/order-service/order-service
  psql -X -q -h 127.0.0.1 -d paynotify_orders -c 'VACUUM mq_message' >/dev/null
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg) stats: $(psql -X -At -h 127.0.0.1 -d paynotify_orders -c "SELECT reltuples || '/' || relpages FROM pg_class WHERE relname = 'mq_message'")" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== more: old $(sha1sum < "$OLD" | cut -c1-12) vs final $(sha1sum < "$NEW" | cut -c1-12)" >> $R/uptime.log
for r in ${MORE//,/ }; do
  if (( r % 2 )); then
    run e2e-old-$r $OLD e2e --n 20000; run e2e-new-$r $NEW e2e --n 20000
    run relay-old-$r $OLD relay --k 100000; run relay-new-$r $NEW relay --k 100000
  else
    run e2e-new-$r $NEW e2e --n 20000; run e2e-old-$r $OLD e2e --n 20000
    run relay-new-$r $NEW relay --k 100000; run relay-old-$r $OLD relay --k 100000
  fi
done
cp "$NEW" build-bench/order-service/order-service
echo done >> $R/uptime.log
