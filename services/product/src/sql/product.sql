-- A product and its category, by id. Compiled into product (storage::product) and run as is by
-- `cargo xtask bench` under pgbench: the baseline of an uncached product read.
SELECT p.id, p.slug, p.name, p.description, p.attributes, p.currency, p.active, p.featured,
       p.min_price, p.in_stock, p.version, p.created_at, p.updated_at,
       c.id AS c_id, c.slug AS c_slug, c.name AS c_name, c.description AS c_description
FROM products p JOIN categories c ON c.id = p.category_id
WHERE p.id = $1;
