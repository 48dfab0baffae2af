-- Parked outbox rows (issue 11). A row whose publish failed relay.max-attempts times (nack,
-- return, lost confirm) is parked: it stays in mq_message with its execute_num, last
-- returnfailure_msg / returnfailure_date and the time it was parked, and the relay never
-- claims it again until an operator puts it back (parked_at = NULL, execute_num = 0).
-- state stays '0' (not done) for the Java platform's readers; parked rows never move to
-- mq_message_history (only confirmed rows do).
--
--   SELECT id, message_id, business_key1, execute_num, returnfailure_msg, parked_at
--   FROM mq_message WHERE parked_at IS NOT NULL ORDER BY id;
ALTER TABLE mq_message ADD COLUMN parked_at timestamptz;

-- The claim reads only unparked rows: the due index leaves parked ones out, so a growing set
-- of parked rows never slows it down.
DROP INDEX mq_message_due_idx;
CREATE INDEX mq_message_due_idx ON mq_message (next_attempt_at, id) WHERE parked_at IS NULL;

-- Rows of one business_key1 go out in id order: the claim takes a row only when no earlier
-- unparked row of its key is left, one index probe per candidate.
CREATE INDEX mq_message_key_order_idx ON mq_message (business_key1, id) WHERE parked_at IS NULL;
