-- Profiles and saved addresses of signed-in users, and who erased themselves.

CREATE TABLE profiles (
    user_id      uuid        PRIMARY KEY,
    email        text        NOT NULL,
    display_name text        NOT NULL DEFAULT '',
    phone        text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE addresses (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES profiles (user_id) ON DELETE CASCADE,
    label       text        NOT NULL DEFAULT '',
    name        text        NOT NULL,
    line1       text        NOT NULL,
    line2       text        NOT NULL DEFAULT '',
    city        text        NOT NULL,
    postal_code text        NOT NULL,
    country     char(2)     NOT NULL,
    is_default  boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX addresses_of_user ON addresses (user_id, created_at);
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default;

-- Erased accounts: only the id, so a late or replayed user.registered cannot bring the profile
-- back. Nothing else about the user is kept.
CREATE TABLE erased_users (
    user_id   uuid        PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);
