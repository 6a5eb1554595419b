-- When a cancelled order's payment was voided (or its payment page closed); a sweeper retries a
-- void that failed, as it retries releases. Orders cancelled before this column were voided then.
ALTER TABLE orders ADD COLUMN voided_at timestamptz;
UPDATE orders SET voided_at = updated_at WHERE status = 'cancelled';
CREATE INDEX orders_to_void ON orders (updated_at) WHERE status = 'cancelled' AND voided_at IS NULL;
