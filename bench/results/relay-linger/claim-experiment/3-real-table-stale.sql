SET jit = off;
SET statement_timeout = '20s';
DELETE FROM mq_message;
INSERT INTO mq_message (message_type, business_key1) SELECT 'x', 'k'||g FROM generate_series(1,20000) g;
DELETE FROM mq_message;
ANALYZE mq_message;
SELECT reltuples, relpages FROM pg_class WHERE relname='mq_message';
INSERT INTO mq_message (message_type, business_key1, business_key2) SELECT 'payresult_notify', 'cs-' || (g % 5000), '60201' FROM generate_series(1, 10000) g;
PREPARE le(bigint) AS SELECT id, message_id::text, message_type, business_key1, business_key2, business_key3, execute_num FROM mq_message m WHERE m.parked_at IS NULL AND m.next_attempt_at <= statement_timestamp()
  AND m.id <= COALESCE((SELECT e.id FROM mq_message e WHERE e.business_key1 = m.business_key1 AND e.parked_at IS NULL ORDER BY e.id LIMIT 1), m.id)
  ORDER BY m.id LIMIT $1 FOR UPDATE OF m SKIP LOCKED;
EXPLAIN EXECUTE le(2000);
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE le(2000); ROLLBACK;
