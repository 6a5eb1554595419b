-- The variants of a product, in the order the product shows them. Compiled into product
-- (storage::product) and run by `cargo xtask bench` under pgbench after product.sql.
SELECT id, sku, options, price, stock, images FROM variants
WHERE product_id = $1 ORDER BY position, id;
