#!/bin/bash
# A/B of the relay: OLD = f34a92d (a batch's rounds: it completes as soon as a round brings
# nothing new) against NEW = the relay whose batch stays open for new rows for the rest of
# its 50 ms window. Both order-service binaries are built in build-bench from those commits
# and copied in before each run; everything else (learning-service, the bench, the servers)
# is the same. OLD= and NEW= name the binaries; R= the output directory.
cd "$(dirname "$0")" && cd "$(git rev-parse --show-toplevel)"; eval "$(scripts/infra env)"
B=build-bench/bench/paynotify-bench; R=${R:-$PWD/bench/results/relay-linger}
OLD=${OLD:-/work/bin/order-service-old}; NEW=${NEW:-/work/bin/order-service-new}
PAIRS=${PAIRS:-8}; FIRST=${FIRST:-1}  # pairs FIRST .. FIRST+PAIRS-1
MORE=${MORE:-1,2}  # numbers of the unpaced e2e and relay-drain pairs
run() { # name binary args...
  local name=$1 bin=$2; shift 2
  cp "$bin" build-bench/order-service/order-service
  echo "$(date -u +%T) $name load: $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/uptime.log
  $B "$@" --runs 1 --json $R/$name.json > $R/$name.out 2>&1; echo "$(date -u +%T) $name rc=$?" >> $R/uptime.log
}
echo "== relay linger: old $(sha1sum < "$OLD" | cut -c1-12) vs new $(sha1sum < "$NEW" | cut -c1-12)" >> $R/uptime.log
for r in $(seq "$FIRST" $((FIRST + PAIRS - 1))); do
  if (( r % 2 )); then
    run e2e400-old-$r $OLD e2e --n 12000 --rate 400
    run e2e400-new-$r $NEW e2e --n 12000 --rate 400
  else
    run e2e400-new-$r $NEW e2e --n 12000 --rate 400
    run e2e400-old-$r $OLD e2e --n 12000 --rate 400
  fi
done
for r in ${MORE//,/ }; do
  run e2e-new-$r $NEW e2e --n 20000
  run e2e-old-$r $OLD e2e --n 20000
  run relay-new-$r $NEW relay --k 100000
  run relay-old-$r $OLD relay --k 100000
done
cp "$NEW" build-bench/order-service/order-service
echo done >> $R/uptime.log
