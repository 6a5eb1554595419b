-- Claims an Idempotency-Key for a checkout: the new key with its request hash, a fresh order id
-- and a lease ($5 seconds); nothing when the key is known.
INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, locked_until)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
ON CONFLICT (user_id, key) DO NOTHING
RETURNING order_id
