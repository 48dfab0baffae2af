#!/bin/bash
# The relay drain (paynotify-bench relay --k 100000) from an outbox VACUUMed while empty, as
# relay-linger/more.sh and final.sh ran it: truncated, "0 rows over 0 pages". OLD = the build
# before the statistics checks, NEW = with them (which ANALYZE such a table before the first
# claim: RESULTS.md 17). Pairs alternate which goes first. PAIRS= the pair numbers, TAG= a
# suffix for the run names, RUNS= runs per bench command (the issue's sequence runs 3: the
# second and third start from the outbox the one before left, not VACUUMed).
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=${R:-$PWD/bench/results/stale-statistics}
OLD=${OLD:-/work/bin/order-service-head}; NEW=${NEW:-/work/bin/order-service-stats4}
PAIRS=${PAIRS:-1,2,3,4}; TAG=${TAG:-}; RUNS=${RUNS:-1}
sql() { psql -X -q -At -h 127.0.0.1 -d paynotify_orders -c "$1"; }
run() { # name binary
  local name=$1 bin=$2
  cp "$bin" build-bench/order-service/order-service
  sql 'VACUUM mq_message' >/dev/null
  echo "$(date -u +%T) $name stats: $(sql "SELECT reltuples || '/' || relpages FROM pg_class WHERE relname = 'mq_message'")" >> $R/uptime.log
  $B relay --k 100000 --runs $RUNS --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== drain: old $(sha1sum < "$OLD" | cut -c1-12) vs new $(sha1sum < "$NEW" | cut -c1-12)" >> $R/uptime.log
for p in ${PAIRS//,/ }; do
  if (( p % 2 )); then run vacuumed-old$TAG-$p $OLD; run vacuumed-new$TAG-$p $NEW
  else run vacuumed-new$TAG-$p $NEW; run vacuumed-old$TAG-$p $OLD; fi
done
cp "$NEW" build-bench/order-service/order-service
echo done >> $R/uptime.log
