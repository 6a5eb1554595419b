//! The catalog's queries. Reads assemble the API types; writes take the caller's transaction, so
//! a change, its product summary (`min_price`, `in_stock`, the search document, the version) and
//! its outbox event commit together. Queries are checked at run time (`sqlx::query_as`), so no
//! offline query data has to be kept fresh.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kit::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, QueryBuilder, Row as _};

use crate::domain::Image;
use crate::model::{
    Category, CategoryId, OrderId, Product, ProductId, ProductSummary, ReservationLine, StockState,
    Variant, VariantDetails, VariantId,
};

/// A product write that breaks a uniqueness rule, by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Slug,
    Sku,
}

/// Which uniqueness rule a database error broke, if any.
pub fn taken(error: &sqlx::Error) -> Option<Taken> {
    let constraint = error.as_database_error()?.constraint()?;
    match constraint {
        "products_slug_key" | "categories_slug_key" => Some(Taken::Slug),
        "variants_sku_key" => Some(Taken::Sku),
        _ => None,
    }
}

fn category(row: &sqlx::postgres::PgRow, prefix: &str) -> Result<Category, sqlx::Error> {
    Ok(Category {
        id: row.try_get(format!("{prefix}id").as_str())?,
        slug: row.try_get(format!("{prefix}slug").as_str())?,
        name: row.try_get(format!("{prefix}name").as_str())?,
        description: row.try_get(format!("{prefix}description").as_str())?,
    })
}

/// Every category, in listing order.
pub async fn categories(db: &PgPool) -> Result<Vec<Category>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, slug, name, description FROM categories ORDER BY position, name, id",
    )
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| category(r, "")).collect()
}

pub async fn category_by_slug(db: &PgPool, slug: &str) -> Result<Option<Category>, sqlx::Error> {
    let row = sqlx::query("SELECT id, slug, name, description FROM categories WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(|r| category(r, "")).transpose()
}

/// Inserts a category; `Err` with [`Taken::Slug`] through [`taken`] when the slug exists.
pub async fn insert_category(
    db: &PgPool,
    category: &Category,
    position: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO categories (id, slug, name, description, position) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(category.id)
    .bind(&category.slug)
    .bind(&category.name)
    .bind(&category.description)
    .bind(position)
    .execute(db)
    .await?;
    Ok(())
}

fn currency(code: &str) -> Result<Currency, sqlx::Error> {
    code.parse()
        .map_err(|e: String| sqlx::Error::Decode(e.into()))
}

/// `sql/product.sql`: one product and its category. A file of its own so that `cargo xtask
/// bench` runs the very statements under pgbench.
const PRODUCT_BY_ID: &str = include_str!("sql/product.sql");
/// `sql/variants_of_product.sql`.
const VARIANTS_OF_PRODUCT: &str = include_str!("sql/variants_of_product.sql");

/// A product with its variants, by id.
pub async fn product(db: &PgPool, id: ProductId) -> Result<Option<Product>, sqlx::Error> {
    let row = sqlx::query(PRODUCT_BY_ID)
        .bind(id)
        .fetch_optional(db)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let currency = currency(row.try_get("currency")?)?;
    let variants = sqlx::query(VARIANTS_OF_PRODUCT)
        .bind(id)
        .fetch_all(db)
        .await?
        .iter()
        .map(|v| {
            let stock: i32 = v.try_get("stock")?;
            Ok(Variant {
                id: v.try_get("id")?,
                sku: v.try_get("sku")?,
                options: v.try_get::<Json<BTreeMap<String, String>>, _>("options")?.0,
                price: Money::new(v.try_get("price")?, currency),
                stock,
                stock_state: StockState::of(stock),
                images: v.try_get::<Json<Vec<Image>>, _>("images")?.0,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(Product {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        category: category(&row, "c_")?,
        attributes: row
            .try_get::<Json<BTreeMap<String, String>>, _>("attributes")?
            .0,
        active: row.try_get("active")?,
        featured: row.try_get("featured")?,
        price_from: Money::new(row.try_get("min_price")?, currency),
        in_stock: row.try_get("in_stock")?,
        version: row.try_get("version")?,
        variants,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    }))
}

/// The id of the product with `slug`.
pub async fn product_id_by_slug(db: &PgPool, slug: &str) -> Result<Option<ProductId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db)
        .await
}

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (only with `q`; otherwise featured first, then newest).
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Name,
    Newest,
}

/// Where a page starts: the sort key of the previous page's last product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SortKey {
    Price(i64, ProductId),
    Name(String, ProductId),
    Newest(DateTime<Utc>, ProductId),
    /// (relevance, featured, created_at, id)
    Rank(f32, bool, DateTime<Utc>, ProductId),
}

/// A list request, validated.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub category: Option<String>,
    /// The full-text query (`word:* & word:*`), built from known words only.
    pub tsquery: Option<String>,
    /// The (corrected) words, for ranking by the trigram similarity of names.
    pub text: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub in_stock: Option<bool>,
    pub featured: Option<bool>,
    pub sort: Sort,
    pub after: Option<SortKey>,
    pub fetch: i64,
}

/// One page of active products (one more than the page, for the next cursor) with their sort
/// keys.
pub async fn list(
    db: &PgPool,
    query: &ListQuery,
) -> Result<Vec<(ProductSummary, SortKey)>, sqlx::Error> {
    let mut q = QueryBuilder::new(
        "SELECT p.id, p.slug, p.name, c.slug AS category_slug, p.currency, p.min_price, \
         p.in_stock, p.featured, p.created_at, lower(p.name) AS sort_name, \
         (SELECT v.images -> 0 FROM variants v WHERE v.product_id = p.id \
            ORDER BY v.position, v.id LIMIT 1) AS image, ",
    );
    match &query.tsquery {
        Some(tsquery) => {
            q.push("(ts_rank_cd(p.search, to_tsquery('english', ")
                .push_bind(tsquery)
                .push(")) + similarity(lower(p.name), ")
                .push_bind(query.text.clone().unwrap_or_default())
                .push("))::real AS rank ");
        }
        None => {
            q.push("0::real AS rank ");
        }
    }
    q.push("FROM products p JOIN categories c ON c.id = p.category_id WHERE p.active");
    if let Some(category) = &query.category {
        q.push(" AND c.slug = ").push_bind(category);
    }
    if let Some(tsquery) = &query.tsquery {
        q.push(" AND p.search @@ to_tsquery('english', ")
            .push_bind(tsquery)
            .push(")");
    }
    if let Some(min) = query.min_price {
        q.push(" AND p.min_price >= ").push_bind(min);
    }
    if let Some(max) = query.max_price {
        q.push(" AND p.min_price <= ").push_bind(max);
    }
    if let Some(in_stock) = query.in_stock {
        q.push(" AND p.in_stock = ").push_bind(in_stock);
    }
    if let Some(featured) = query.featured {
        q.push(" AND p.featured = ").push_bind(featured);
    }
    match (&query.after, query.sort) {
        (None, _) => {}
        (Some(SortKey::Price(price, id)), Sort::PriceAsc) => {
            q.push(" AND (p.min_price, p.id) > (")
                .push_bind(*price)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        (Some(SortKey::Price(price, id)), Sort::PriceDesc) => {
            q.push(" AND (p.min_price, p.id) < (")
                .push_bind(*price)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        (Some(SortKey::Name(name, id)), Sort::Name) => {
            q.push(" AND (lower(p.name), p.id) > (")
                .push_bind(name.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        (Some(SortKey::Newest(at, id)), Sort::Newest) => {
            q.push(" AND (p.created_at, p.id) < (")
                .push_bind(*at)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        (Some(SortKey::Rank(rank, featured, at, id)), Sort::Relevance) => {
            // (rank, featured, created_at, id) all descending, as one row comparison. Without a
            // search the rank is 0: featured first, then newest.
            match &query.tsquery {
                Some(tsquery) => {
                    q.push(" AND ((ts_rank_cd(p.search, to_tsquery('english', ")
                        .push_bind(tsquery.clone())
                        .push(")) + similarity(lower(p.name), ")
                        .push_bind(query.text.clone().unwrap_or_default())
                        .push("))::real, p.featured, p.created_at, p.id) < (");
                }
                None => {
                    q.push(" AND (0::real, p.featured, p.created_at, p.id) < (");
                }
            }
            q.push_bind(*rank)
                .push("::real, ")
                .push_bind(*featured)
                .push(", ")
                .push_bind(*at)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        // A cursor of another sort: the caller rejects it before it gets here.
        (Some(_), _) => {}
    }
    q.push(match query.sort {
        Sort::PriceAsc => " ORDER BY p.min_price, p.id",
        Sort::PriceDesc => " ORDER BY p.min_price DESC, p.id DESC",
        Sort::Name => " ORDER BY lower(p.name), p.id",
        Sort::Newest => " ORDER BY p.created_at DESC, p.id DESC",
        Sort::Relevance => " ORDER BY rank DESC, p.featured DESC, p.created_at DESC, p.id DESC",
    });
    q.push(" LIMIT ").push_bind(query.fetch);
    let rows = q.build().fetch_all(db).await?;
    rows.iter()
        .map(|row| {
            let currency = currency(row.try_get("currency")?)?;
            let id: ProductId = row.try_get("id")?;
            let price: i64 = row.try_get("min_price")?;
            let featured: bool = row.try_get("featured")?;
            let created_at: DateTime<Utc> = row.try_get("created_at")?;
            let key = match query.sort {
                Sort::PriceAsc | Sort::PriceDesc => SortKey::Price(price, id),
                Sort::Name => SortKey::Name(row.try_get("sort_name")?, id),
                Sort::Newest => SortKey::Newest(created_at, id),
                Sort::Relevance => SortKey::Rank(row.try_get("rank")?, featured, created_at, id),
            };
            let summary = ProductSummary {
                id,
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                category_slug: row.try_get("category_slug")?,
                price_from: Money::new(price, currency),
                in_stock: row.try_get("in_stock")?,
                featured,
                image: row.try_get::<Option<Json<Image>>, _>("image")?.map(|j| j.0),
            };
            Ok((summary, key))
        })
        .collect()
}

/// Variants by id, with what a cart needs of their products; unknown ids are left out.
pub async fn variants(db: &PgPool, ids: &[VariantId]) -> Result<Vec<VariantDetails>, sqlx::Error> {
    let rows = sqlx::query(include_str!("sql/variants_by_ids.sql"))
        .bind(ids)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(VariantDetails {
                id: row.try_get("id")?,
                product_id: row.try_get("product_id")?,
                product_slug: row.try_get("slug")?,
                product_name: row.try_get("name")?,
                sku: row.try_get("sku")?,
                options: row
                    .try_get::<Json<BTreeMap<String, String>>, _>("options")?
                    .0,
                price: Money::new(row.try_get("price")?, currency(row.try_get("currency")?)?),
                stock: row.try_get("stock")?,
                active: row.try_get("active")?,
                image: row.try_get::<Option<Json<Image>>, _>("image")?.map(|j| j.0),
            })
        })
        .collect()
}

/// The words of a query that the catalog knows.
pub async fn known_terms(db: &PgPool, words: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT term FROM search_terms WHERE term = ANY($1)")
        .bind(words)
        .fetch_all(db)
        .await
}

/// Known words that could be what `word` was meant to be: similar by trigrams, or of about its
/// length with the same first letter (trigrams cannot see that `mgu` is `mug`), best first.
pub async fn term_candidates(db: &PgPool, word: &str) -> Result<Vec<(String, f32)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT term, similarity(term, $1) AS score FROM search_terms \
         WHERE term % $1 \
            OR (left(term, 1) = left($1, 1) AND length(term) BETWEEN length($1) - 1 AND length($1) + 1) \
         ORDER BY score DESC, term LIMIT 50",
    )
    .bind(word)
    .fetch_all(db)
    .await
}

/// A product's fields as validated for a write.
pub struct ProductRecord<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub category_id: CategoryId,
    pub attributes: &'a BTreeMap<String, String>,
    pub currency: Currency,
    pub featured: bool,
    pub active: bool,
}

/// A variant as validated for a write.
pub struct VariantRecord<'a> {
    pub id: VariantId,
    pub sku: &'a str,
    pub options: &'a BTreeMap<String, String>,
    pub price: i64,
    /// `None` keeps the stock of an existing variant.
    pub stock: Option<i32>,
    pub images: &'a [Image],
}

/// Inserts a product and its variants.
pub async fn insert_product(
    tx: &mut PgConnection,
    id: ProductId,
    product: &ProductRecord<'_>,
    variants: &[VariantRecord<'_>],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO products (id, slug, name, description, category_id, attributes, currency, \
                               featured, active, min_price, in_stock, search) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, false, ''::tsvector)",
    )
    .bind(id)
    .bind(product.slug)
    .bind(product.name)
    .bind(product.description)
    .bind(product.category_id)
    .bind(Json(product.attributes))
    .bind(product.currency.code())
    .bind(product.featured)
    .bind(product.active)
    .execute(&mut *tx)
    .await?;
    write_variants(tx, id, variants).await?;
    summarise(tx, id).await
}

/// Replaces a product at `version` (fields and variants; variants left out are deleted). Returns
/// false when the product is not at that version (or does not exist).
pub async fn replace_product(
    tx: &mut PgConnection,
    id: ProductId,
    version: i32,
    product: &ProductRecord<'_>,
    variants: &[VariantRecord<'_>],
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE products SET slug = $3, name = $4, description = $5, category_id = $6, \
                attributes = $7, currency = $8, featured = $9, active = $10, \
                version = version + 1, updated_at = now() \
         WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(product.slug)
    .bind(product.name)
    .bind(product.description)
    .bind(product.category_id)
    .bind(Json(product.attributes))
    .bind(product.currency.code())
    .bind(product.featured)
    .bind(product.active)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    let keep: Vec<VariantId> = variants.iter().map(|v| v.id).collect();
    sqlx::query("DELETE FROM variants WHERE product_id = $1 AND id <> ALL($2)")
        .bind(id)
        .bind(&keep)
        .execute(&mut *tx)
        .await?;
    write_variants(tx, id, variants).await?;
    summarise(tx, id).await?;
    Ok(true)
}

/// Inserts or updates `variants` of product `id`, in their order.
async fn write_variants(
    tx: &mut PgConnection,
    id: ProductId,
    variants: &[VariantRecord<'_>],
) -> Result<(), sqlx::Error> {
    for (position, v) in variants.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        // An existing variant keeps its stock unless a stock is given; a variant of another
        // product is never touched (the conflict is on the primary key, the WHERE checks owner).
        let written = sqlx::query(
            "INSERT INTO variants (id, product_id, sku, options, price, stock, images, position) \
             VALUES ($1, $2, $3, $4, $5, coalesce($6, 0), $7, $8) \
             ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, options = excluded.options, \
                price = excluded.price, images = excluded.images, position = excluded.position, \
                stock = coalesce($6, variants.stock) \
             WHERE variants.product_id = excluded.product_id",
        )
        .bind(v.id)
        .bind(id)
        .bind(v.sku)
        .bind(Json(v.options))
        .bind(v.price)
        .bind(v.stock)
        .bind(Json(v.images))
        .bind(position)
        .execute(&mut *tx)
        .await?;
        if written.rows_affected() == 0 {
            return Err(sqlx::Error::RowNotFound);
        }
    }
    Ok(())
}

/// Recomputes a product's summary columns and search document from its rows.
async fn summarise(tx: &mut PgConnection, id: ProductId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE products p SET \
            min_price = coalesce((SELECT min(price) FROM variants WHERE product_id = p.id), 0), \
            in_stock = EXISTS (SELECT 1 FROM variants WHERE product_id = p.id AND stock > 0), \
            search = setweight(to_tsvector('english', p.name), 'A') \
              || setweight(to_tsvector('english', c.name || ' ' || \
                   coalesce((SELECT string_agg(value, ' ') FROM jsonb_each_text(p.attributes)), '') \
                   || ' ' || coalesce((SELECT string_agg(o.value, ' ') \
                        FROM variants v, jsonb_each_text(v.options) o WHERE v.product_id = p.id), '')), 'B') \
              || setweight(to_tsvector('english', p.description), 'C') \
         FROM categories c WHERE c.id = p.category_id AND p.id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let words: Vec<String> = sqlx::query_scalar(
        "SELECT p.name || ' ' || c.name || ' ' || \
                coalesce((SELECT string_agg(o.value, ' ') FROM variants v, jsonb_each_text(v.options) o \
                          WHERE v.product_id = p.id), '') \
         FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = $1",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let terms: Vec<String> = words.iter().flat_map(|w| crate::domain::words(w)).collect();
    sqlx::query("INSERT INTO search_terms (term) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING")
        .bind(&terms)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Marks a product for sale or not; the new version, or `None` for an unknown product.
pub async fn set_active(
    tx: &mut PgConnection,
    id: ProductId,
    active: bool,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE products SET active = $2, version = version + 1, updated_at = now() \
         WHERE id = $1 RETURNING version",
    )
    .bind(id)
    .bind(active)
    .fetch_optional(&mut *tx)
    .await
}

/// What a stock adjustment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjusted {
    /// The new stock.
    Done(i32),
    /// The stock would go below zero; it is unchanged at this level.
    Short(i32),
    /// No such variant of that product.
    Unknown,
}

/// Adds `delta` to a variant's stock, never below zero, atomically.
pub async fn adjust_stock(
    tx: &mut PgConnection,
    product: ProductId,
    variant: VariantId,
    delta: i32,
) -> Result<Adjusted, sqlx::Error> {
    let stock: Option<i32> = sqlx::query_scalar(
        "UPDATE variants SET stock = stock + $3 \
         WHERE id = $2 AND product_id = $1 AND stock + $3 >= 0 RETURNING stock",
    )
    .bind(product)
    .bind(variant)
    .bind(delta)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(stock) = stock {
        sqlx::query(include_str!("sql/touch_product.sql"))
            .bind(product)
            .execute(&mut *tx)
            .await?;
        return Ok(Adjusted::Done(stock));
    }
    let current: Option<i32> =
        sqlx::query_scalar("SELECT stock FROM variants WHERE id = $2 AND product_id = $1")
            .bind(product)
            .bind(variant)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(current.map_or(Adjusted::Unknown, Adjusted::Short))
}

/// What reserving an order's lines found.
#[derive(Debug)]
pub enum Reserved {
    /// Held now: per line, the variant's product and stock after.
    Done(Vec<(ProductId, i32)>),
    /// The order already holds exactly these lines (a retry): nothing changed.
    Already,
    /// The order holds other lines, or released them: a new order id is needed.
    Conflict { released: bool },
    /// Lines that could not be held: (index, stock left, or `None` for an unknown variant).
    Short(Vec<(usize, Option<i32>)>),
}

/// Takes a transaction-scoped lock on one order's reservation, so a retry racing the first
/// attempt waits for it instead of reserving twice.
async fn lock_order(tx: &mut PgConnection, order: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/lock_reservation.sql"))
        .bind(order)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Holds `lines` (distinct variants, sorted by id so concurrent orders lock rows in one order)
/// for `order`: every line or none. Each decrement is conditional (`stock >= quantity`), so the
/// stock never goes below zero whatever runs beside it.
pub async fn reserve(
    tx: &mut PgConnection,
    order: OrderId,
    lines: &[ReservationLine],
) -> Result<Reserved, sqlx::Error> {
    lock_order(tx, order).await?;
    let held: Vec<(VariantId, i32, bool)> =
        sqlx::query_as(include_str!("sql/reservations_of_order.sql"))
            .bind(order)
            .fetch_all(&mut *tx)
            .await?;
    if !held.is_empty() {
        let released = held.iter().any(|(_, _, released)| *released);
        let same = held.len() == lines.len()
            && held
                .iter()
                .zip(lines)
                .all(|((v, q, _), line)| *v == line.variant_id && *q == line.quantity);
        return Ok(if same && !released {
            Reserved::Already
        } else {
            Reserved::Conflict { released }
        });
    }
    let mut after = Vec::with_capacity(lines.len());
    let mut short = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let row: Option<(ProductId, i32)> = sqlx::query_as(include_str!("sql/take_stock.sql"))
            .bind(line.variant_id)
            .bind(line.quantity)
            .fetch_optional(&mut *tx)
            .await?;
        match row {
            Some(row) => after.push(row),
            None => {
                let stock: Option<i32> =
                    sqlx::query_scalar("SELECT stock FROM variants WHERE id = $1")
                        .bind(line.variant_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                short.push((i, stock));
            }
        }
    }
    if !short.is_empty() {
        return Ok(Reserved::Short(short));
    }
    for line in lines {
        sqlx::query(include_str!("sql/insert_reservation.sql"))
            .bind(order)
            .bind(line.variant_id)
            .bind(line.quantity)
            .execute(&mut *tx)
            .await?;
    }
    touch_products(tx, after.iter().map(|(product, _)| *product)).await?;
    Ok(Reserved::Done(after))
}

/// Puts back what `order` still holds, once: (variant, product, units, stock after) per line.
pub async fn release(
    tx: &mut PgConnection,
    order: OrderId,
) -> Result<Vec<(VariantId, ProductId, i32, i32)>, sqlx::Error> {
    lock_order(tx, order).await?;
    let lines: Vec<(VariantId, i32)> = sqlx::query_as(
        "UPDATE stock_reservations SET released_at = now() \
         WHERE order_id = $1 AND released_at IS NULL RETURNING variant_id, quantity",
    )
    .bind(order)
    .fetch_all(&mut *tx)
    .await?;
    let mut lines = lines;
    lines.sort();
    let mut released = Vec::with_capacity(lines.len());
    for (variant, quantity) in lines {
        let (product, stock): (ProductId, i32) = sqlx::query_as(
            "UPDATE variants SET stock = stock + $2 WHERE id = $1 RETURNING product_id, stock",
        )
        .bind(variant)
        .bind(quantity)
        .fetch_one(&mut *tx)
        .await?;
        released.push((variant, product, quantity, stock));
    }
    touch_products(tx, released.iter().map(|(_, product, _, _)| *product)).await?;
    Ok(released)
}

/// A new version (and whether it is in stock) for each product whose stock moved.
async fn touch_products(
    tx: &mut PgConnection,
    products: impl Iterator<Item = ProductId>,
) -> Result<(), sqlx::Error> {
    let mut products: Vec<ProductId> = products.collect();
    products.sort();
    products.dedup();
    for product in products {
        sqlx::query(include_str!("sql/touch_product.sql"))
            .bind(product)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
