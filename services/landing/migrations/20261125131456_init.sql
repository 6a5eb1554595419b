-- Initial schema of landing.
SELECT 1;
