-- Records the payment page of an order paid on the provider's page, while it is placed.
UPDATE orders SET payment_session = $2, payment_url = $3 WHERE id = $1 AND status = 'placed'
