-- The kit's test service owns one table.
CREATE TABLE things (
    id   uuid PRIMARY KEY,
    name text NOT NULL
);
