-- Refresh tokens, stored as the SHA-256 of the value the client holds. Every sign-in starts a
-- family; each refresh marks the presented token rotated and adds its successor to the family.
-- Presenting a rotated token again means it was copied: the whole family is revoked.
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    token_hash bytea       NOT NULL,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_hash_is_sha256 CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
