//! The catalog's reads and writes, with the cache in front of PostgreSQL.
//!
//! Reads of a product (by id, or by slug through a slug → id entry) and of lists go through a
//! `kit::cache::Cache`: product `p` lives in scope `product:<p>`, slugs in `slug:<slug>`, every
//! list in scope `lists`. Writes run in one transaction with their outbox event, and invalidate
//! what they change before committing (a failure aborts the write, so no stale entry can outlive
//! it) and again after (dropping what a reader cached in between): a read that starts after a
//! write returned never sees the old value.

use std::time::Duration;

use anyhow::Context as _;
use events::catalog::{ProductCreated, ProductUpdated, StockChanged, VariantSnapshot};
use kit::cache::Cache;
use kit::money::Currency;
use kit::problem::FieldError;
use kit::validate::{Invalid, fields};
use sqlx::PgPool;

use crate::domain::{self, Image, Sku, Slug};
use crate::model::{
    Category, CategoryId, NewCategory, OrderId, Product, ProductId, ProductInput, Reservation,
    ReservationLine, VariantId, VariantInput,
};
use crate::storage::{self, Adjusted, ProductRecord, Reserved, Taken, VariantRecord};

/// Most lines of one reservation, and most units of one line.
pub const MAX_RESERVATION_LINES: usize = 50;
pub const MAX_RESERVED_UNITS: i32 = 1000;

/// Why stock could not be held for an order.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Per line that could not be held: (index, variant, stock left; `None`: no such variant).
    #[error("not enough stock")]
    Short(Vec<(usize, VariantId, Option<i32>)>),
    #[error("the order already holds other lines")]
    Mismatch,
    #[error("the order's reservation was released")]
    Released,
    #[error("reservation failed")]
    Unexpected(#[from] anyhow::Error),
}

/// Whether a reservation was made now or was already held (a retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Now,
    Already,
}

/// A product's JSON representation with what a read decides on before sending it (whether it is
/// for sale, its version), as cached: `"<version> <active 0|1>\n"` and the JSON, so a hit is
/// answered without parsing the JSON.
#[derive(Debug, Clone)]
pub struct ProductJson {
    pub active: bool,
    pub version: i32,
    /// The JSON body.
    pub body: axum::body::Bytes,
}

impl ProductJson {
    fn encode(product: &Product) -> Vec<u8> {
        let mut bytes = format!("{} {}\n", product.version, u8::from(product.active)).into_bytes();
        serde_json::to_writer(&mut bytes, product).expect("a product serializes");
        bytes
    }

    fn decode(bytes: Vec<u8>) -> anyhow::Result<Self> {
        let bytes = axum::body::Bytes::from(bytes);
        let end = bytes
            .iter()
            .take(32)
            .position(|b| *b == b'\n')
            .context("cached product without its head")?;
        let head = std::str::from_utf8(&bytes[..end]).context("cached product head")?;
        let (version, active) = head
            .split_once(' ')
            .context("cached product head without a space")?;
        Ok(Self {
            active: active == "1",
            version: version.parse().context("cached product version")?,
            body: bytes.slice(end + 1..),
        })
    }

    /// The strong entity tag of this representation.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// How long cached reads live by default (writes invalidate them sooner).
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// Most variants of one product.
pub const MAX_VARIANTS: usize = 50;
/// Most images of one variant.
pub const MAX_IMAGES: usize = 8;

/// The catalog. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    db: PgPool,
    cache: Cache,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("no such product")]
    NotFound,
    #[error("the product changed since it was read")]
    Stale,
    #[error("the {0} is taken")]
    Taken(&'static str),
    #[error("the stock would go below zero (it is {0})")]
    Short(i32),
    #[error("catalog write failed")]
    Unexpected(#[from] anyhow::Error),
}

impl Catalog {
    pub fn new(db: PgPool, redis: kit::redis::RedisStore, cache_ttl: Duration) -> Self {
        Self {
            db,
            cache: Cache::new(redis, "catalog", cache_ttl),
        }
    }

    pub fn db(&self) -> &PgPool {
        &self.db
    }

    /// A product by id, cached.
    pub async fn product(&self, id: ProductId) -> anyhow::Result<Option<Product>> {
        self.product_json(id)
            .await?
            .map(|json| serde_json::from_slice(&json.body).context("unreadable cached product"))
            .transpose()
    }

    /// A product by id as its JSON representation, cached: a hit is sent as it is, without
    /// parsing or serializing.
    pub async fn product_json(&self, id: ProductId) -> anyhow::Result<Option<ProductJson>> {
        let scope = format!("product:{id}");
        let json = self
            .cache
            .get_or_load_json(&scope, "v", || async {
                let product = storage::product(&self.db, id)
                    .await
                    .context("cannot read product")?;
                Ok::<_, anyhow::Error>(product.as_ref().map(ProductJson::encode))
            })
            .await?;
        json.map(ProductJson::decode).transpose()
    }

    /// A product by slug as JSON, cached (slug → id, then the product).
    pub async fn product_json_by_slug(&self, slug: &str) -> anyhow::Result<Option<ProductJson>> {
        let scope = format!("slug:{slug}");
        let id = self
            .cache
            .get_or_load(&scope, "id", || async {
                storage::product_id_by_slug(&self.db, slug)
                    .await
                    .context("cannot read product slug")
            })
            .await?;
        match id {
            Some(id) => self.product_json(id).await,
            None => Ok(None),
        }
    }

    /// Variants by id for carts, cached with the lists (every catalog write drops them, stock
    /// adjustments included), as the JSON array [`storage::variants`] reads.
    pub async fn variants_json(&self, ids: &[VariantId]) -> anyhow::Result<Vec<u8>> {
        let mut key = ids.iter().map(ToString::to_string).collect::<Vec<_>>();
        key.sort_unstable();
        key.dedup();
        let json = self
            .cache
            .get_or_load_json("lists", &format!("variants:{}", key.join(",")), || async {
                let variants = storage::variants(&self.db, ids)
                    .await
                    .context("cannot read variants")?;
                Ok::<_, anyhow::Error>(Some(
                    serde_json::to_vec(&variants).expect("variants serialize"),
                ))
            })
            .await?;
        json.context("a variants load returned nothing")
    }

    /// A cached list read: `key` names the query, `load` runs it.
    pub async fn list<T, F, Fut>(&self, key: &str, load: F) -> anyhow::Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let value = self
            .cache
            .get_or_load("lists", key, || async { load().await.map(Some) })
            .await?;
        value.context("a list load returned nothing")
    }

    /// Drops the cached entries of `scopes`; `lists` is always among them.
    async fn invalidate(&self, scopes: &[String]) -> anyhow::Result<()> {
        self.cache
            .invalidate_all(scopes.iter().map(String::as_str).chain(["lists"]))
            .await
            .with_context(|| format!("cannot invalidate cached lists and {scopes:?}"))
    }

    /// Creates a category.
    pub async fn create_category(&self, input: NewCategory) -> Result<Category, WriteError> {
        let (slug, name, description) = fields((
            ("slug", Slug::parse(&input.slug).map_err(str::to_owned)),
            ("name", domain::line(&input.name, 80)),
            ("description", domain::text(&input.description, 2000)),
        ))?;
        let category = Category {
            id: CategoryId::new(),
            slug: slug.as_str().to_owned(),
            name,
            description,
        };
        match storage::insert_category(&self.db, &category, input.position).await {
            Ok(()) => {
                self.invalidate(&[]).await?;
                Ok(category)
            }
            Err(e) if storage::taken(&e).is_some() => Err(WriteError::Taken("slug")),
            Err(e) => Err(anyhow::Error::new(e)
                .context("cannot insert category")
                .into()),
        }
    }

    /// Creates a product with its variants; `product.created` goes out through the outbox.
    pub async fn create(&self, input: ProductInput) -> Result<Product, WriteError> {
        let valid = self.validate(&input, None).await?;
        let id = ProductId::new();
        let variants: Vec<(VariantId, &ValidVariant)> = valid
            .variants
            .iter()
            .map(|v| (VariantId::new(), v))
            .collect();
        let records: Vec<VariantRecord<'_>> =
            variants.iter().map(|(id, v)| v.record(*id, true)).collect();
        let mut tx = self.db.begin().await.context("cannot begin")?;
        self.invalidate(&[format!("slug:{}", valid.slug.as_str())])
            .await?;
        storage::insert_product(&mut tx, id, &valid.record(), &records)
            .await
            .map_err(write_error)?;
        let event = ProductCreated {
            product_id: id.uuid(),
            slug: valid.slug.as_str().to_owned(),
            name: valid.name.clone(),
            category_slug: valid.category.slug.clone(),
            currency: valid.currency.code().to_owned(),
            variants: snapshots(&records),
        };
        kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
            .await
            .context("cannot enqueue product.created")?;
        tx.commit().await.context("cannot commit product")?;
        self.invalidate(&[format!("slug:{}", valid.slug.as_str())])
            .await?;
        self.fresh(id).await
    }

    /// Replaces a product that is still at `version` (the client's `If-Match`).
    pub async fn replace(
        &self,
        id: ProductId,
        version: i32,
        input: ProductInput,
    ) -> Result<Product, WriteError> {
        let current = storage::product(&self.db, id)
            .await
            .context("cannot read product")?
            .ok_or(WriteError::NotFound)?;
        if current.version != version {
            return Err(WriteError::Stale);
        }
        let valid = self.validate(&input, Some(&current)).await?;
        let records: Vec<VariantRecord<'_>> = valid
            .variants
            .iter()
            .map(|v| {
                let existing =
                    v.id.filter(|id| current.variants.iter().any(|c| c.id == *id));
                v.record(existing.unwrap_or_default(), existing.is_none())
            })
            .collect();
        let scopes = [
            format!("product:{id}"),
            format!("slug:{}", current.slug),
            format!("slug:{}", valid.slug.as_str()),
        ];
        let mut tx = self.db.begin().await.context("cannot begin")?;
        self.invalidate(&scopes).await?;
        let replaced = storage::replace_product(&mut tx, id, version, &valid.record(), &records)
            .await
            .map_err(write_error)?;
        if !replaced {
            return Err(WriteError::Stale);
        }
        let event = ProductUpdated {
            product_id: id.uuid(),
            version: version + 1,
            slug: valid.slug.as_str().to_owned(),
            name: valid.name.clone(),
            category_slug: valid.category.slug.clone(),
            active: valid.active,
            currency: valid.currency.code().to_owned(),
            variants: snapshots(&records),
        };
        kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
            .await
            .context("cannot enqueue product.updated")?;
        tx.commit().await.context("cannot commit product")?;
        self.invalidate(&scopes).await?;
        self.fresh(id).await
    }

    /// Takes a product off sale (idempotent).
    pub async fn deactivate(&self, id: ProductId) -> Result<Product, WriteError> {
        let current = storage::product(&self.db, id)
            .await
            .context("cannot read product")?
            .ok_or(WriteError::NotFound)?;
        if !current.active {
            return Ok(current);
        }
        let scopes = [format!("product:{id}")];
        let mut tx = self.db.begin().await.context("cannot begin")?;
        self.invalidate(&scopes).await?;
        let version = storage::set_active(&mut tx, id, false)
            .await
            .context("cannot deactivate")?
            .ok_or(WriteError::NotFound)?;
        let event = ProductUpdated {
            product_id: id.uuid(),
            version,
            slug: current.slug.clone(),
            name: current.name.clone(),
            category_slug: current.category.slug.clone(),
            active: false,
            currency: current.price_from.currency.code().to_owned(),
            variants: current
                .variants
                .iter()
                .map(|v| VariantSnapshot {
                    variant_id: v.id.uuid(),
                    sku: v.sku.clone(),
                    price: v.price.amount,
                    stock: v.stock,
                })
                .collect(),
        };
        kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
            .await
            .context("cannot enqueue product.updated")?;
        tx.commit().await.context("cannot commit")?;
        self.invalidate(&scopes).await?;
        self.fresh(id).await
    }

    /// Adds `delta` to a variant's stock (never below zero); `stock.changed` goes out.
    pub async fn adjust_stock(
        &self,
        id: ProductId,
        variant: VariantId,
        delta: i64,
    ) -> Result<Product, WriteError> {
        let delta = i32::try_from(delta)
            .ok()
            .filter(|d| d.unsigned_abs() <= domain::MAX_STOCK.unsigned_abs())
            .ok_or_else(|| {
                Invalid::field(
                    "delta",
                    format!("must be between -{0} and {0}", domain::MAX_STOCK),
                )
            })?;
        let scopes = [format!("product:{id}")];
        let mut tx = self.db.begin().await.context("cannot begin")?;
        self.invalidate(&scopes).await?;
        let stock = match storage::adjust_stock(&mut tx, id, variant, delta)
            .await
            .context("cannot adjust stock")?
        {
            Adjusted::Done(stock) => stock,
            Adjusted::Short(stock) => return Err(WriteError::Short(stock)),
            Adjusted::Unknown => return Err(WriteError::NotFound),
        };
        let event = StockChanged {
            product_id: id.uuid(),
            variant_id: variant.uuid(),
            delta,
            stock,
            reason: "adjustment".to_owned(),
        };
        kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
            .await
            .context("cannot enqueue stock.changed")?;
        tx.commit().await.context("cannot commit")?;
        self.invalidate(&scopes).await?;
        self.fresh(id).await
    }

    /// Holds stock for an order: every line or none, keyed by the order (a retry with the same
    /// lines holds nothing more). `stock.changed` (reason `reserved`) goes out per line.
    pub async fn reserve(&self, request: &Reservation) -> Result<Held, ReserveError> {
        let lines = reservation_lines(&request.lines)?;
        let mut tx = self.db.begin().await.context("cannot begin")?;
        let reserved = storage::reserve(&mut tx, request.order_id, &lines)
            .await
            .context("cannot reserve stock")?;
        let after = match reserved {
            Reserved::Done(after) => after,
            Reserved::Already => return Ok(Held::Already),
            Reserved::Conflict { released: true } => return Err(ReserveError::Released),
            Reserved::Conflict { released: false } => return Err(ReserveError::Mismatch),
            Reserved::Short(short) => {
                return Err(ReserveError::Short(
                    short
                        .into_iter()
                        .map(|(i, stock)| (i, lines[i].variant_id, stock))
                        .collect(),
                ));
            }
        };
        let scopes = product_scopes(after.iter().map(|(product, _)| *product));
        self.invalidate(&scopes).await?;
        for (line, (product, stock)) in lines.iter().zip(&after) {
            let event = StockChanged {
                product_id: product.uuid(),
                variant_id: line.variant_id.uuid(),
                delta: -line.quantity,
                stock: *stock,
                reason: "reserved".to_owned(),
            };
            kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
                .await
                .context("cannot enqueue stock.changed")?;
        }
        tx.commit().await.context("cannot commit reservation")?;
        self.invalidate(&scopes).await?;
        Ok(Held::Now)
    }

    /// Puts back what an order holds, once (a second release, or one for an order that holds
    /// nothing, changes nothing); `stock.changed` (reason `released`) goes out per line.
    /// Returns how many lines were released now.
    pub async fn release(&self, order: OrderId) -> anyhow::Result<usize> {
        let mut tx = self.db.begin().await.context("cannot begin")?;
        let released = storage::release(&mut tx, order)
            .await
            .context("cannot release stock")?;
        if released.is_empty() {
            return Ok(0);
        }
        let scopes = product_scopes(released.iter().map(|(_, product, _, _)| *product));
        self.invalidate(&scopes).await?;
        for (variant, product, quantity, stock) in &released {
            let event = StockChanged {
                product_id: product.uuid(),
                variant_id: variant.uuid(),
                delta: *quantity,
                stock: *stock,
                reason: "released".to_owned(),
            };
            kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
                .await
                .context("cannot enqueue stock.changed")?;
        }
        tx.commit().await.context("cannot commit release")?;
        self.invalidate(&scopes).await?;
        Ok(released.len())
    }

    /// The product as committed (and now cached).
    async fn fresh(&self, id: ProductId) -> Result<Product, WriteError> {
        self.product(id).await?.ok_or(WriteError::NotFound)
    }

    /// Every field of `input` checked at once (and the category looked up).
    async fn validate(
        &self,
        input: &ProductInput,
        current: Option<&Product>,
    ) -> Result<ValidProduct, WriteError> {
        let category = storage::category_by_slug(&self.db, &input.category)
            .await
            .context("cannot read category")?
            .ok_or_else(|| "is not a category".to_owned());
        let variants = validate_variants(&input.variants, current);
        let (slug, name, description, category, attributes, currency, variants) = fields((
            ("slug", Slug::parse(&input.slug).map_err(str::to_owned)),
            ("name", domain::line(&input.name, 120)),
            ("description", domain::text(&input.description, 5000)),
            ("category", category),
            (
                "attributes",
                domain::pairs(&input.attributes, domain::MAX_ATTRIBUTES, 200),
            ),
            ("currency", input.currency.parse::<Currency>()),
            ("variants", variants),
        ))?;
        Ok(ValidProduct {
            slug,
            name,
            description,
            category,
            attributes,
            currency,
            featured: input.featured,
            active: current.is_none() || input.active,
            variants,
        })
    }
}

/// Maps a uniqueness violation to the field it is about.
fn write_error(error: sqlx::Error) -> WriteError {
    match storage::taken(&error) {
        Some(Taken::Slug) => WriteError::Taken("slug"),
        Some(Taken::Sku) => WriteError::Taken("sku"),
        None => anyhow::Error::new(error)
            .context("cannot write product")
            .into(),
    }
}

fn snapshots(records: &[VariantRecord<'_>]) -> Vec<VariantSnapshot> {
    records
        .iter()
        .map(|r| VariantSnapshot {
            variant_id: r.id.uuid(),
            sku: r.sku.to_owned(),
            price: r.price,
            stock: r.stock.unwrap_or(0),
        })
        .collect()
}

/// A product request, every field valid.
struct ValidProduct {
    slug: Slug,
    name: String,
    description: String,
    category: Category,
    attributes: std::collections::BTreeMap<String, String>,
    currency: Currency,
    featured: bool,
    active: bool,
    variants: Vec<ValidVariant>,
}

impl ValidProduct {
    fn record(&self) -> ProductRecord<'_> {
        ProductRecord {
            slug: self.slug.as_str(),
            name: &self.name,
            description: &self.description,
            category_id: self.category.id,
            attributes: &self.attributes,
            currency: self.currency,
            featured: self.featured,
            active: self.active,
        }
    }
}

struct ValidVariant {
    id: Option<VariantId>,
    sku: Sku,
    options: std::collections::BTreeMap<String, String>,
    price: i64,
    stock: i32,
    images: Vec<Image>,
}

impl ValidVariant {
    /// The record to write under `id`; the stock is written only for a new variant.
    fn record(&self, id: VariantId, new: bool) -> VariantRecord<'_> {
        VariantRecord {
            id,
            sku: self.sku.as_str(),
            options: &self.options,
            price: self.price,
            stock: new.then_some(self.stock),
            images: &self.images,
        }
    }
}

/// The variants of a request: one to [`MAX_VARIANTS`], distinct SKUs, each valid; in an update,
/// ids must be the product's own. The first problem found is reported, with the variant's index.
fn validate_variants(
    inputs: &[VariantInput],
    current: Option<&Product>,
) -> Result<Vec<ValidVariant>, String> {
    if inputs.is_empty() || inputs.len() > MAX_VARIANTS {
        return Err(format!("must have 1 to {MAX_VARIANTS} variants"));
    }
    let mut valid = Vec::with_capacity(inputs.len());
    for (i, v) in inputs.iter().enumerate() {
        let at = |e: String| format!("variant {i}: {e}");
        if let Some(id) = v.id
            && !current.is_some_and(|c| c.variants.iter().any(|cv| cv.id == id))
        {
            return Err(at("id is not a variant of this product".into()));
        }
        let sku = Sku::parse(&v.sku).map_err(|e| at(format!("sku {e}")))?;
        if valid.iter().any(|other: &ValidVariant| other.sku == sku) {
            return Err(at(format!("sku {} appears twice", sku.as_str())));
        }
        if v.images.len() > MAX_IMAGES {
            return Err(at(format!("at most {MAX_IMAGES} images")));
        }
        let images = v
            .images
            .iter()
            .map(Image::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| at(format!("image {e}")))?;
        valid.push(ValidVariant {
            id: v.id,
            options: domain::pairs(&v.options, domain::MAX_OPTIONS, domain::PAIR_KEY)
                .map_err(|e| at(format!("options {e}")))?,
            price: domain::price(v.price).map_err(|e| at(format!("price {e}")))?,
            stock: domain::stock(v.stock).map_err(|e| at(format!("stock {e}")))?,
            sku,
            images,
        });
    }
    Ok(valid)
}

/// The cache scopes of these products.
fn product_scopes(products: impl Iterator<Item = ProductId>) -> Vec<String> {
    let mut scopes: Vec<String> = products.map(|p| format!("product:{p}")).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// A reservation's lines checked (1 to [`MAX_RESERVATION_LINES`], distinct variants, 1 to
/// [`MAX_RESERVED_UNITS`] units each) and sorted by variant.
fn reservation_lines(lines: &[ReservationLine]) -> Result<Vec<ReservationLine>, Invalid> {
    if lines.is_empty() || lines.len() > MAX_RESERVATION_LINES {
        return Err(Invalid::field(
            "lines",
            format!("must have 1 to {MAX_RESERVATION_LINES} lines"),
        ));
    }
    let mut fields = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !(1..=MAX_RESERVED_UNITS).contains(&line.quantity) {
            fields.push(FieldError {
                field: format!("lines[{i}].quantity"),
                message: format!("must be between 1 and {MAX_RESERVED_UNITS}"),
            });
        }
        if lines[..i].iter().any(|l| l.variant_id == line.variant_id) {
            fields.push(FieldError {
                field: format!("lines[{i}].variant_id"),
                message: "appears twice".to_owned(),
            });
        }
    }
    if !fields.is_empty() {
        return Err(Invalid { fields });
    }
    let mut sorted = lines.to_vec();
    sorted.sort();
    Ok(sorted)
}
