-- Stores a checkout's response for its retries and ends the attempt's lease.
UPDATE idempotency_keys
SET status = $3, body = $4, completed_at = now(), locked_until = NULL
WHERE user_id = $1 AND key = $2
