-- The local provider's authorization: the first call under a key decides; a retry reads it.
INSERT INTO local_payments (key, id, amount, currency, card_last4, state)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (key) DO NOTHING
