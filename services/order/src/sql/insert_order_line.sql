INSERT INTO order_lines (order_id, position, product_id, variant_id, sku, name, quantity, unit_price)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
