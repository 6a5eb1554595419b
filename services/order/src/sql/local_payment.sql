SELECT id, state FROM local_payments WHERE key = $1
