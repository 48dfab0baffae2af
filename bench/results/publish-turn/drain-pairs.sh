#!/bin/bash
# The relay drain (relay --k 100000), old against new, alternated pairs; mq_message VACUUMed
# before each run. OLD / NEW = order-service binaries; PAIRS= the pair numbers; PREFIX= name.
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=${R:-$PWD/bench/results/publish-turn}
OLD=${OLD:?}; NEW=${NEW:?}; PAIRS=${PAIRS:-1,2,3,4}; PREFIX=${PREFIX:-relay}
run() { # name binary args...
  local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/order-service/order-service
  psql -X -q -h 127.0.0.1 -d paynotify_orders -c 'VACUUM mq_message' >/dev/null
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== $PREFIX: old $(sha1sum < "$OLD" | cut -c1-12) vs new $(sha1sum < "$NEW" | cut -c1-12) ${EXTRA[*]}" >> $R/uptime.log
for p in ${PAIRS//,/ }; do
  if (( p % 2 )); then run $PREFIX-old-$p $OLD relay --k 100000 $EXTRA; run $PREFIX-new-$p $NEW relay --k 100000 $EXTRA
  else run $PREFIX-new-$p $NEW relay --k 100000 $EXTRA; run $PREFIX-old-$p $OLD relay --k 100000 $EXTRA; fi
done
cp "$NEW" build-bench/order-service/order-service
echo done >> $R/uptime.log
