UPDATE orders SET payment_id = $2 WHERE id = $1
