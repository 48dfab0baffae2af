\timing on
DROP TABLE IF EXISTS mq_exp;
CREATE TABLE mq_exp (LIKE mq_message INCLUDING ALL);
ALTER TABLE mq_exp SET (autovacuum_enabled = false);
INSERT INTO mq_exp (message_type, business_key1) SELECT 'x', 'k' || g FROM generate_series(1, 20000) g;
DELETE FROM mq_exp;
ANALYZE mq_exp;
SELECT reltuples, relpages FROM pg_class WHERE relname = 'mq_exp';
INSERT INTO mq_exp (message_type, business_key1) SELECT 'x', 'cs-' || (g % 5000) FROM generate_series(1, 10000) g;
SET statement_timeout = '20s';
PREPARE cur(bigint) AS SELECT id FROM mq_exp m WHERE m.parked_at IS NULL AND m.next_attempt_at <= statement_timestamp()
  AND NOT EXISTS (SELECT 1 FROM mq_exp e WHERE e.business_key1 = m.business_key1 AND e.id < m.id AND e.parked_at IS NULL)
  ORDER BY m.id LIMIT $1 FOR UPDATE OF m SKIP LOCKED;
EXPLAIN EXECUTE cur(2000);
EXPLAIN (ANALYZE, TIMING OFF) EXECUTE cur(2000);
PREPARE sub(bigint) AS SELECT id FROM mq_exp m WHERE m.parked_at IS NULL AND m.next_attempt_at <= statement_timestamp()
  AND (m.business_key1 IS NULL OR m.id = (SELECT e.id FROM mq_exp e WHERE e.business_key1 = m.business_key1 AND e.parked_at IS NULL ORDER BY e.id LIMIT 1))
  ORDER BY m.id LIMIT $1 FOR UPDATE OF m SKIP LOCKED;
EXPLAIN EXECUTE sub(2000);
EXPLAIN (ANALYZE, TIMING OFF) EXECUTE sub(2000);
