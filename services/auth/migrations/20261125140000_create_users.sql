-- Accounts. E-mail addresses are stored normalised (trimmed, lowercase) and are unique.
-- Roles: every account starts as `customer`. There is no API that grants `admin`; an operator
-- grants it in the database, and it takes effect at the account's next sign-in or refresh:
--   UPDATE users SET role = 'admin', updated_at = now() WHERE email = 'ops@example.com';
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'customer',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email))),
    CONSTRAINT users_role_known CHECK (role IN ('customer', 'admin'))
);
