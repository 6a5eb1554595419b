INSERT INTO orders (id, user_id, status, currency, subtotal, discount, total, coupon_code,
                    shipping_address, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
