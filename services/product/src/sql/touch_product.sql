-- A new version, and whether it is in stock, for a product whose stock moved.
UPDATE products SET version = version + 1, updated_at = now(),
       in_stock = EXISTS (SELECT 1 FROM variants WHERE product_id = $1 AND stock > 0)
WHERE id = $1
