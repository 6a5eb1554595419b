-- Coupons: a percentage or a fixed amount off an order's subtotal, with a minimum spend, a
-- validity window, and total and per-user limits. `uses` counts the redemptions still held; the
-- CHECK keeps it within max_uses whatever runs concurrently.
CREATE TABLE coupons (
    id                uuid        PRIMARY KEY,
    code              text        NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{2,31}$'),
    description       text        NOT NULL DEFAULT '',
    kind              text        NOT NULL CHECK (kind IN ('percent', 'fixed')),
    -- percent: 1 to 100; fixed: minor units of `currency`.
    value             bigint      NOT NULL CHECK (value > 0),
    currency          char(3)     NOT NULL,
    min_spend         bigint      NOT NULL DEFAULT 0 CHECK (min_spend >= 0),
    starts_at         timestamptz,
    ends_at           timestamptz,
    max_uses          integer     CHECK (max_uses > 0),
    max_uses_per_user integer     CHECK (max_uses_per_user > 0),
    uses              integer     NOT NULL DEFAULT 0,
    active            boolean     NOT NULL DEFAULT true,
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'percent' OR value <= 100),
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at),
    CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses))
);

-- One coupon per order, keyed by the order: a retried redemption changes nothing; a release
-- gives the use back once (released_at).
CREATE TABLE coupon_redemptions (
    order_id    uuid        PRIMARY KEY,
    coupon_id   uuid        NOT NULL REFERENCES coupons (id),
    user_id     uuid        NOT NULL,
    subtotal    bigint      NOT NULL CHECK (subtotal >= 0),
    discount    bigint      NOT NULL CHECK (discount >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz
);

CREATE INDEX coupon_redemptions_held ON coupon_redemptions (coupon_id, user_id)
    WHERE released_at IS NULL;
