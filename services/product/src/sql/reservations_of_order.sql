SELECT variant_id, quantity, released_at IS NOT NULL FROM stock_reservations
WHERE order_id = $1 ORDER BY variant_id
