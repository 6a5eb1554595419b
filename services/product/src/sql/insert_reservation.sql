INSERT INTO stock_reservations (order_id, variant_id, quantity) VALUES ($1, $2, $3)
