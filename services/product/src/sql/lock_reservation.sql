-- A transaction-scoped lock on one order's reservation: a retry racing the first attempt waits.
SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))
