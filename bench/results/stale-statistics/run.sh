#!/bin/bash
# The claim over stale statistics (RESULTS.md 17): every run starts from the condition of
# RESULTS.md 15/16, made on purpose: mq_message filled with 20,000 rows, emptied and ANALYZEd,
# so its statistics say "0 rows" over its pages. Then an unpaced relay drain (100,000 rows
# inserted before order-service starts) and an unpaced e2e run (20,000 payments through a
# running order-service). OLD = the build before the statistics checks, NEW = with them;
# pairs alternate which goes first. PAIRS= the pair numbers, KINDS= "relay e2e" or one of
# them, BUILDS= "old new" or one of them, TAG= a suffix for the run names.
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=${R:-$PWD/bench/results/stale-statistics}
OLD=${OLD:-/work/bin/order-service-head}; NEW=${NEW:-/work/bin/order-service-stats}
PAIRS=${PAIRS:-1,2,3}; KINDS=${KINDS:-relay e2e}; BUILDS=${BUILDS:-old new}; TAG=${TAG:-}
sql() { psql -X -q -At -h 127.0.0.1 -d paynotify_orders -c "$1"; }
stale() {
  sql "INSERT INTO mq_message (message_type, business_key1, business_key2, business_key3)
       SELECT 'payresult_notify', 'stale-' || g, 'bench', 'stale-setup' FROM generate_series(1, 20000) g" >/dev/null
  sql "DELETE FROM mq_message WHERE business_key3 = 'stale-setup'" >/dev/null
  sql "ANALYZE mq_message" >/dev/null
}
run() { # name binary args...
  local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/order-service/order-service
  stale
  echo "$(date -u +%T) $name stats: $(sql "SELECT reltuples || '/' || relpages FROM pg_class WHERE relname = 'mq_message'")" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== old $(sha1sum < "$OLD" | cut -c1-12) vs new $(sha1sum < "$NEW" | cut -c1-12)" >> $R/uptime.log
for p in ${PAIRS//,/ }; do
  if (( p % 2 )); then first=old; second=new; else first=new; second=old; fi
  for kind in $KINDS; do
    for which in $first $second; do
      [[ " $BUILDS " == *" $which "* ]] || continue
      bin=$OLD; [ $which = new ] && bin=$NEW
      if [ $kind = relay ]; then run relay-$which$TAG-$p $bin relay --k 100000; else run e2e-$which$TAG-$p $bin e2e --n 20000; fi
    done
  done
done
cp "$NEW" build-bench/order-service/order-service
echo done >> $R/uptime.log
