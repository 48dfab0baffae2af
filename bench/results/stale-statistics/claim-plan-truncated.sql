\timing off
VACUUM mq_message;
SELECT reltuples, relpages FROM pg_class WHERE relname='mq_message';
BEGIN;
INSERT INTO mq_message (message_type, business_key1, business_key2, business_key3)
  SELECT 'payresult_notify', g::text, 'bench', 'plan-exp' FROM generate_series(1, 100000) g;
PREPARE c(bigint) AS SELECT id FROM mq_message m WHERE m.parked_at IS NULL AND m.next_attempt_at <= statement_timestamp()
 AND NOT EXISTS (SELECT 1 FROM mq_message e WHERE e.business_key1 = m.business_key1 AND e.id < m.id AND e.parked_at IS NULL)
 ORDER BY m.id LIMIT $1 FOR UPDATE OF m SKIP LOCKED;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE c(2000);
ANALYZE mq_message;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE c(2000);
ROLLBACK;
SELECT count(*) FROM mq_message;
