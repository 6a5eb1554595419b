SELECT id, user_id, status, currency, subtotal, discount, total, coupon_code, shipping_address,
       cancel_reason, created_at, updated_at, payment_id, payment_session, payment_url
FROM orders WHERE id = $1
