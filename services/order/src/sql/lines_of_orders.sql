SELECT order_id, product_id, variant_id, sku, name, quantity, unit_price
FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, position
