-- Outbox history retention (issue 11). order-service deletes mq_message_history rows older
-- than relay.history-retention (default 30 days) on a thread of its own, a few thousand rows
-- per statement, oldest first. A row's age counts from its confirm (returnsuccess_date, set
-- when the relay moves it here), or from created_at for a row without one. This index on that
-- same expression turns each batch into a range scan that stops after LIMIT rows.
--
-- On a large existing history, build it first without blocking the relay's inserts, by hand,
-- and this file then does nothing:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS mq_message_history_retention_idx
--     ON mq_message_history ((COALESCE(returnsuccess_date, created_at)));
CREATE INDEX IF NOT EXISTS mq_message_history_retention_idx
    ON mq_message_history ((COALESCE(returnsuccess_date, created_at)));
