-- The catalog: categories, products and their variants (the things a cart and an order refer
-- to), and the words search corrects typos against.
--
-- Money is integer minor units of the product's currency. A product's `min_price` and `in_stock`
-- summarise its variants (written with them, in the same transaction) so lists can filter and
-- sort without a join. `version` increases with every change to a product or its variants: it is
-- the ETag, and updates are conditional on it. `search` is the full-text document (name, then
-- category and attributes, then description), written by the service.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    slug        text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    position    integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_slug_key UNIQUE (slug)
);

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    slug        text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL,
    category_id uuid        NOT NULL REFERENCES categories (id),
    attributes  jsonb       NOT NULL DEFAULT '{}',
    currency    text        NOT NULL,
    active      boolean     NOT NULL DEFAULT true,
    featured    boolean     NOT NULL DEFAULT false,
    min_price   bigint      NOT NULL,
    in_stock    boolean     NOT NULL,
    version     integer     NOT NULL DEFAULT 1,
    search      tsvector    NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_slug_key UNIQUE (slug),
    CONSTRAINT products_min_price_positive CHECK (min_price >= 0)
);
CREATE INDEX products_search ON products USING gin (search);
CREATE INDEX products_name_trgm ON products USING gin (lower(name) gin_trgm_ops);
CREATE INDEX products_category_price ON products (category_id, min_price, id) WHERE active;
CREATE INDEX products_price ON products (min_price, id) WHERE active;
CREATE INDEX products_newest ON products (created_at, id) WHERE active;

CREATE TABLE variants (
    id         uuid PRIMARY KEY,
    product_id uuid    NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku        text    NOT NULL,
    options    jsonb   NOT NULL DEFAULT '{}',
    price      bigint  NOT NULL,
    stock      integer NOT NULL,
    images     jsonb   NOT NULL DEFAULT '[]',
    position   integer NOT NULL DEFAULT 0,
    CONSTRAINT variants_sku_key UNIQUE (sku),
    CONSTRAINT variants_price_positive CHECK (price >= 0),
    CONSTRAINT variants_stock_positive CHECK (stock >= 0)
);
CREATE INDEX variants_product ON variants (product_id, position);

-- Every word of every product name and category: what search corrects misspellings towards.
CREATE TABLE search_terms (
    term text PRIMARY KEY
);
CREATE INDEX search_terms_trgm ON search_terms USING gin (term gin_trgm_ops);
