//! `cargo xtask seed`: the demo catalogue ([`catalogue`]), three demo coupons (`WELCOME10`,
//! `SAVE5`, the expired `SPRING24`) and an admin account, loaded idempotently into a running
//! platform.
//!
//! Everything goes through the API (as an admin would): categories and products are created
//! through the gateway with an admin's token, so they are validated, cached and announced on
//! `catalog.v1` like any other; what exists already (by slug) is left as it is, so a second run
//! changes nothing (coupons likewise, by code). The admin account is signed up through the API too; making it an admin is the
//! one step with no API (by design: auth grants `admin` only in its database), so `seed` does it
//! with SQL in auth's database, as an operator would.
//!
//! Locally the admin is `admin@shop.local` with a development password, printed by `seed` and
//! `cargo xtask up`; `SEED_ADMIN_EMAIL` and `SEED_ADMIN_PASSWORD` choose others, and are required
//! for anything but a local platform.

pub mod catalogue;

use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};

use catalogue::{CATEGORIES, PRODUCTS};

/// The local admin's e-mail address.
pub const LOCAL_ADMIN_EMAIL: &str = "admin@shop.local";
/// The local admin's password: for a platform on this machine only.
pub const LOCAL_ADMIN_PASSWORD: &str = "local-admin-password";

/// Arguments of `cargo xtask seed`.
#[derive(Debug, Args)]
pub struct Seed {
    /// The API gateway's URL (default: the local platform's).
    #[arg(long)]
    pub api: Option<String>,
    /// auth's database, where the admin account is made an admin (default: the local platform's).
    #[arg(long)]
    pub auth_database_url: Option<String>,
}

/// Where to seed, and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    pub api: String,
    pub auth_database_url: String,
    pub admin_email: String,
    pub admin_password: String,
}

/// What a seed run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeded {
    pub categories_created: usize,
    pub products_created: usize,
    pub products_present: usize,
    pub coupons_created: usize,
}

/// Demo coupons, one for each thing a shopper can meet at checkout: a percentage off once per
/// shopper, an amount off above a minimum spend, and one that has expired (its message).
fn coupons() -> [Value; 3] {
    [
        json!({"code": "WELCOME10", "description": "10% off your first order", "kind": "percent",
               "value": 10, "currency": "USD", "max_uses_per_user": 1}),
        json!({"code": "SAVE5", "description": "$5 off orders of $40 or more", "kind": "fixed",
               "value": 500, "currency": "USD", "min_spend": 4000}),
        json!({"code": "SPRING24", "description": "Spring 2024 sale (over)", "kind": "percent",
               "value": 20, "currency": "USD", "starts_at": "2024-03-01T00:00:00Z",
               "ends_at": "2024-06-01T00:00:00Z"}),
    ]
}

#[allow(clippy::disallowed_methods)] // the developer's environment configures `seed`
fn env_var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// Runs `cargo xtask seed` against the local platform (or the URLs given).
pub fn run(args: &Seed) -> anyhow::Result<()> {
    let platform = crate::load_platform()?;
    let gateway = &platform.services[&platform.gateway];
    let api = args
        .api
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", gateway.port));
    let signer = platform
        .token_signer()
        .context("platform.toml declares no [tokens] signer, whose database holds accounts")?;
    let admin_db = env_var("UP_DATABASE_URL")
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let auth_database_url = match &args.auth_database_url {
        Some(url) => url.clone(),
        None => {
            use sqlx::ConnectOptions as _;
            kit::db::with_database(&admin_db, &signer.crate_ident())?
                .to_url_lossy()
                .to_string()
        }
    };
    let target = target(api, auth_database_url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let seeded = runtime.block_on(seed(&target, &mut |line| println!("{line}")))?;
    println!(
        "seeded: {} categories, {} products and {} coupons created, {} products already there",
        seeded.categories_created,
        seeded.products_created,
        seeded.coupons_created,
        seeded.products_present
    );
    println!(
        "admin: {} / {}",
        target.admin_email,
        if target.admin_password == LOCAL_ADMIN_PASSWORD {
            LOCAL_ADMIN_PASSWORD
        } else {
            "(SEED_ADMIN_PASSWORD)"
        }
    );
    Ok(())
}

/// The target for `api`: the local admin for a local platform, otherwise the one the environment
/// names (required).
pub fn target(api: String, auth_database_url: String) -> anyhow::Result<Target> {
    let local = reqwest::Url::parse(&api)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "::1");
    let admin_email = env_var("SEED_ADMIN_EMAIL").unwrap_or_else(|| LOCAL_ADMIN_EMAIL.to_owned());
    let admin_password = match env_var("SEED_ADMIN_PASSWORD") {
        Some(password) => password,
        None if local => LOCAL_ADMIN_PASSWORD.to_owned(),
        None => bail!(
            "{api} is not this machine: set SEED_ADMIN_EMAIL and SEED_ADMIN_PASSWORD (the development password is for local platforms only)"
        ),
    };
    Ok(Target {
        api: api.trim_end_matches('/').to_owned(),
        auth_database_url,
        admin_email,
        admin_password,
    })
}

/// Whether the catalogue at `api` is empty (no category yet).
pub async fn catalogue_is_empty(api: &str) -> anyhow::Result<bool> {
    let categories: Vec<Value> = client()
        .get(format!("{api}/v1/categories"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(categories.is_empty())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a plain HTTP client builds")
}

/// Makes sure the admin account exists and is an admin; returns its access token.
pub async fn admin_token(target: &Target) -> anyhow::Result<String> {
    let http = client();
    let credentials = json!({"email": target.admin_email, "password": target.admin_password});
    let signup = http
        .post(format!("{}/v1/auth/signup", target.api))
        .json(&credentials)
        .send()
        .await
        .context("cannot reach the API")?;
    match signup.status().as_u16() {
        201 | 409 => {}
        status => bail!(
            "cannot create the admin account ({status}): {}",
            signup.text().await.unwrap_or_default()
        ),
    }
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&target.auth_database_url)
            .await
            .with_context(|| {
                format!(
                    "cannot connect to auth's database at {}",
                    kit::config::redact_url(&target.auth_database_url)
                )
            })?;
        sqlx::query(
            "UPDATE users SET role = 'admin', updated_at = now() WHERE email = $1 AND role <> 'admin'",
        )
        .bind(target.admin_email.trim().to_lowercase())
        .execute(&mut conn)
        .await
        .context("cannot make the account an admin")?;
        conn.close().await.ok();
    }
    let signin = http
        .post(format!("{}/v1/auth/signin", target.api))
        .json(&credentials)
        .send()
        .await?;
    if !signin.status().is_success() {
        bail!(
            "cannot sign in as {} ({}): if the account was made with another password, set SEED_ADMIN_PASSWORD",
            target.admin_email,
            signin.status()
        );
    }
    let tokens: Value = signin.json().await?;
    tokens["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("sign-in answered without an access token")
}

/// The request body of a demo product.
pub fn product_body(spec: &catalogue::ProductSpec) -> Value {
    let shape = CATEGORIES
        .iter()
        .find(|c| c.slug == spec.category)
        .map_or(catalogue::Shape::Bag, |c| c.shape);
    let sizes: Vec<Option<&str>> = if spec.sizes.is_empty() {
        vec![None]
    } else {
        spec.sizes.iter().copied().map(Some).collect()
    };
    let mut variants = Vec::new();
    let mut n = 0;
    for (colour, hex) in spec.colours {
        for (i, size) in sizes.iter().enumerate() {
            let mut options = serde_json::Map::new();
            options.insert("colour".into(), json!(colour));
            if let Some(size) = size {
                options.insert("size".into(), json!(size));
            }
            let sku = format!(
                "{}-{}{}",
                spec.slug.to_uppercase(),
                colour.to_uppercase(),
                size.map(|s| format!("-{}", s.to_uppercase().replace([' ', '.'], "")))
                    .unwrap_or_default()
            );
            let label = format!("{} in {}", spec.name, colour.to_lowercase());
            variants.push(json!({
                "sku": sku,
                "options": options,
                "price": spec.price + spec.step * i as i64,
                "stock": spec.stock[n % spec.stock.len()],
                "images": [{"url": catalogue::image(shape, hex, &label), "alt": label}],
            }));
            n += 1;
        }
    }
    let attributes: serde_json::Map<String, Value> = spec
        .attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "slug": spec.slug,
        "name": spec.name,
        "description": spec.description,
        "category": spec.category,
        "currency": "USD",
        "featured": spec.featured,
        "attributes": attributes,
        "variants": variants,
    })
}

/// Loads the catalogue through the API as the admin; `progress` hears about each step.
pub async fn seed(target: &Target, progress: &mut dyn FnMut(String)) -> anyhow::Result<Seeded> {
    let token = admin_token(target).await?;
    let http = client();
    let mut seeded = Seeded::default();
    for (position, category) in CATEGORIES.iter().enumerate() {
        let response = http
            .post(format!("{}/v1/categories", target.api))
            .bearer_auth(&token)
            .json(&json!({
                "slug": category.slug,
                "name": category.name,
                "description": category.description,
                "position": position,
            }))
            .send()
            .await?;
        match response.status().as_u16() {
            201 => seeded.categories_created += 1,
            409 => {}
            status => bail!(
                "cannot create category {} ({status}): {}",
                category.slug,
                response.text().await.unwrap_or_default()
            ),
        }
    }
    for (i, spec) in PRODUCTS.iter().enumerate() {
        let exists = http
            .get(format!("{}/v1/products/{}", target.api, spec.slug))
            .bearer_auth(&token)
            .send()
            .await?;
        if exists.status().is_success() {
            seeded.products_present += 1;
            continue;
        }
        let response = http
            .post(format!("{}/v1/products", target.api))
            .bearer_auth(&token)
            .json(&product_body(spec))
            .send()
            .await?;
        match response.status().as_u16() {
            201 => seeded.products_created += 1,
            409 => seeded.products_present += 1,
            status => bail!(
                "cannot create product {} ({status}): {}",
                spec.slug,
                response.text().await.unwrap_or_default()
            ),
        }
        if (i + 1) % 10 == 0 {
            progress(format!("    {}/{} products", i + 1, PRODUCTS.len()));
        }
    }
    for coupon in coupons() {
        let response = http
            .post(format!("{}/v1/offers/coupons", target.api))
            .bearer_auth(&token)
            .json(&coupon)
            .send()
            .await?;
        match response.status().as_u16() {
            201 => seeded.coupons_created += 1,
            409 => {}
            status => bail!(
                "cannot create coupon {} ({status}): {}",
                coupon["code"],
                response.text().await.unwrap_or_default()
            ),
        }
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_big_and_varied() {
        assert!(CATEGORIES.len() >= 6);
        assert!(PRODUCTS.len() >= 40);
        for spec in PRODUCTS {
            assert!(
                CATEGORIES.iter().any(|c| c.slug == spec.category),
                "{}",
                spec.slug
            );
            let body = product_body(spec);
            let variants = body["variants"].as_array().unwrap();
            assert!(
                !variants.is_empty() && variants.len() <= 50,
                "{}",
                spec.slug
            );
            let image = variants[0]["images"][0]["url"].as_str().unwrap();
            assert!(image.starts_with("data:image/svg+xml;base64,"));
            assert!(image.len() < 96 * 1024);
        }
        let sold_out = PRODUCTS.iter().filter(|p| p.stock.iter().all(|s| *s == 0));
        assert!(sold_out.count() >= 3, "some products are out of stock");
        assert!(PRODUCTS.iter().filter(|p| p.featured).count() >= 6);
        let skus: std::collections::BTreeSet<String> = PRODUCTS
            .iter()
            .flat_map(|p| {
                product_body(p)["variants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["sku"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let variants: usize = PRODUCTS
            .iter()
            .map(|p| product_body(p)["variants"].as_array().unwrap().len())
            .sum();
        assert_eq!(skus.len(), variants, "SKUs are unique");
    }

    #[test]
    fn a_remote_platform_needs_credentials() {
        let error = target("https://api.shop.example.com".into(), String::new()).unwrap_err();
        assert!(error.to_string().contains("SEED_ADMIN_PASSWORD"), "{error}");
        let local = target("http://127.0.0.1:8080".into(), String::new()).unwrap();
        assert_eq!(local.admin_password, LOCAL_ADMIN_PASSWORD);
    }
}
