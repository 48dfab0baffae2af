-- `paynotifyctl trace --pay-no N` / `--selection ID` (issue 11) finds a payment's message in
-- mq_message_history by its businessKey1 (the selection id). Without this index each trace
-- scans the whole history when relay.keep-history is on. The outbox (mq_message) already has
-- one for the relay's per-key ordering.
--
-- On a large existing history, build it first without blocking the relay's inserts, by hand,
-- and this file then does nothing:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS mq_message_history_business_key1_idx
--     ON mq_message_history (business_key1);
CREATE INDEX IF NOT EXISTS mq_message_history_business_key1_idx
    ON mq_message_history (business_key1);
