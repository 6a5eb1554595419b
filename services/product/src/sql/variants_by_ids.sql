-- Variants by id, with what a cart needs of their products; unknown ids are left out.
SELECT v.id, v.product_id, p.slug, p.name, v.sku, v.options, v.price, v.stock,
       p.currency, p.active, v.images -> 0 AS image
FROM variants v JOIN products p ON p.id = v.product_id
WHERE v.id = ANY($1)
