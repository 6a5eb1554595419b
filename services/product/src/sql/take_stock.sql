-- The conditional decrement: no row when the stock is short, so it never goes below zero.
UPDATE variants SET stock = stock - $2 WHERE id = $1 AND stock >= $2
RETURNING product_id, stock
