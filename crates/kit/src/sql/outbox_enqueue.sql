INSERT INTO outbox (id, topic, key, envelope, created_at) VALUES ($1, $2, $3, $4, now())
