-- Initial schema of feature-flag.
SELECT 1;
