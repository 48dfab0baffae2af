SET statement_timeout = '30s';
SET jit = off;
PREPARE le(bigint) AS SELECT id FROM mq_exp m WHERE m.parked_at IS NULL AND m.next_attempt_at <= statement_timestamp()
  AND m.id <= COALESCE((SELECT e.id FROM mq_exp e WHERE e.business_key1 = m.business_key1 AND e.parked_at IS NULL ORDER BY e.id LIMIT 1), m.id)
  ORDER BY m.id LIMIT $1 FOR UPDATE OF m SKIP LOCKED;
PREPARE leabove(bigint, bigint) AS SELECT id FROM mq_exp m WHERE m.parked_at IS NULL AND m.next_attempt_at <= statement_timestamp()
  AND m.id <= COALESCE((SELECT e.id FROM mq_exp e WHERE e.business_key1 = m.business_key1 AND e.parked_at IS NULL ORDER BY e.id LIMIT 1), m.id)
  AND m.id > $2 ORDER BY m.id LIMIT $1 FOR UPDATE OF m SKIP LOCKED;
\echo == stale: analyzed empty, then 100k rows
SELECT reltuples, relpages, (select count(*) from mq_exp) FROM pg_class WHERE relname = 'mq_exp';
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE le(2000); ROLLBACK;
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE leabove(2000, 50000); ROLLBACK;
\echo == stale: 10k
DELETE FROM mq_exp WHERE id > (SELECT min(id) + 10000 FROM mq_exp);
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE le(2000); ROLLBACK;
\echo == fresh 100k all due
INSERT INTO mq_exp (message_type, business_key1) SELECT 'x', 'cs-' || (g % 50000) FROM generate_series(1, 90000) g;
VACUUM ANALYZE mq_exp;
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE le(2000); ROLLBACK;
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE le(1); ROLLBACK;
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE leabove(2000, 50000); ROLLBACK;
\echo == fresh, 100 of 100k due
UPDATE mq_exp SET next_attempt_at = now() + interval '1 hour' WHERE id % 1000 <> 0;
VACUUM ANALYZE mq_exp;
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE le(2000); ROLLBACK;
\echo == fresh, 10 rows
DELETE FROM mq_exp WHERE id % 10000 <> 0;
VACUUM ANALYZE mq_exp;
BEGIN; EXPLAIN (ANALYZE, COSTS OFF) EXECUTE le(2000); ROLLBACK;
