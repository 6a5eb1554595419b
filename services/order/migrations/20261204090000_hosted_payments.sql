-- A payment taken on the provider's page (Stripe Checkout): the session, and where the shopper
-- pays, while the order waits in `placed` for the provider's signed event.
ALTER TABLE orders
    ADD COLUMN payment_session text,
    ADD COLUMN payment_url     text;
