#!/bin/bash
# Old against new without stale statistics: mq_message VACUUMed before each run (as
# relay-linger/more.sh), alternated pairs of e2e at 400/s (N = 20,000) and unpaced e2e
# (N = 20,000). OLD = the build before this pass (5667a1a), NEW = the pass's final build.
# PACED= and UNPACED= the pair numbers (empty: none). DRAIN= pair numbers of relay drains
# (relay --k 100000 DRAIN_ARGS), named DRAIN_NAME-{old,new}-N (default relay; none by default).
# The servers are those of `scripts/infra env` (PAYNOTIFY_STATE_DIR= for another setup).
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=${R:-$PWD/bench/results/stale-statistics}
OLD=${OLD:-/work/bin/order-service-head}; NEW=${NEW:-/work/bin/order-service-final2}
PACED=${PACED-1,2,3,4}; UNPACED=${UNPACED-1,2,3}; DRAIN=${DRAIN-}; DRAIN_NAME=${DRAIN_NAME:-relay}
run() { # name binary args...
  local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/order-service/order-service
  psql -X -q -h 127.0.0.1 -d paynotify_orders -c 'VACUUM mq_message' >/dev/null
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== pairs: old $(sha1sum < "$OLD" | cut -c1-12) vs new $(sha1sum < "$NEW" | cut -c1-12)" >> $R/uptime.log
pair() { # kind number args...
  local kind=$1 p=$2; shift 2
  if (( p % 2 )); then run $kind-old-$p $OLD "$@"; run $kind-new-$p $NEW "$@"
  else run $kind-new-$p $NEW "$@"; run $kind-old-$p $OLD "$@"; fi
}
for p in ${PACED//,/ }; do pair paced400 $p e2e --n 20000 --rate 400; done
for p in ${UNPACED//,/ }; do pair unpaced $p e2e --n 20000; done
for p in ${DRAIN//,/ }; do pair "$DRAIN_NAME" $p relay --k 100000 ${DRAIN_ARGS:-}; done
cp "$NEW" build-bench/order-service/order-service
echo done >> $R/uptime.log
