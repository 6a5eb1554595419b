//! The storefront's OpenAPI document: its pages, as HTML. The pages and forms themselves are in
//! `crate::pages`; this describes the ones a link can reach.

use kit::openapi::Conventions;
use utoipa::OpenApi;

/// A page of the shop, as HTML.
#[utoipa::path(get, path = "/", tag = "pages",
    responses((status = 200, description = "The home page: featured products", content_type = "text/html", body = String)))]
#[allow(dead_code)] // documentation only: `crate::pages::home` serves it
fn home() {}

#[utoipa::path(get, path = "/c/{slug}", tag = "pages",
    params(
        ("slug" = String, Path, description = "A category"),
        ("sort" = Option<String>, Query, description = "relevance, price_asc, price_desc, name or newest"),
        ("in_stock" = Option<String>, Query, description = "`true`: only products in stock"),
        ("cursor" = Option<String>, Query, description = "Where the page starts"),
    ),
    responses(
        (status = 200, description = "The category's products", content_type = "text/html", body = String),
        (status = 404, description = "No such category", content_type = "text/html", body = String),
    ))]
#[allow(dead_code)]
fn category() {}

#[utoipa::path(get, path = "/search", tag = "pages",
    params(
        ("q" = Option<String>, Query, description = "Words to search for"),
        ("sort" = Option<String>, Query, description = "relevance, price_asc, price_desc, name or newest"),
        ("in_stock" = Option<String>, Query, description = "`true`: only products in stock"),
        ("cursor" = Option<String>, Query, description = "Where the page starts"),
    ),
    responses((status = 200, description = "Search results", content_type = "text/html", body = String)))]
#[allow(dead_code)]
fn search() {}

#[utoipa::path(get, path = "/p/{slug}", tag = "pages",
    params(("slug" = String, Path, description = "A product")),
    responses(
        (status = 200, description = "The product", content_type = "text/html", body = String),
        (status = 404, description = "No such product", content_type = "text/html", body = String),
    ))]
#[allow(dead_code)]
fn product() {}

#[utoipa::path(get, path = "/cart", tag = "pages",
    responses((status = 200, description = "The visitor's cart", content_type = "text/html", body = String)))]
#[allow(dead_code)]
fn cart() {}

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "storefront",
        description = "Server-rendered shop: browse, product page, cart, checkout, order history, sign-in"
    ),
    paths(home, category, search, product, cart),
    modifiers(&Conventions),
    tags((name = "pages", description = "The shop's pages (HTML)"))
)]
pub struct ApiDoc;
