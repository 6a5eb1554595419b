-- Moves an order from one of the statuses $2 to $3 (a cancellation records its reason $4).
UPDATE orders SET status = $3, cancel_reason = coalesce($4, cancel_reason), updated_at = now()
WHERE id = $1 AND status = ANY($2)
