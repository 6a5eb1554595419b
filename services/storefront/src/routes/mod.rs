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

#[utoipa::path(get, path = "/checkout", tag = "pages",
    responses(
        (status = 200, description = "Checkout, step 1: the shipping address", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in (to sign-in), or nothing to buy (to the cart)"),
    ))]
#[allow(dead_code)]
fn checkout() {}

#[utoipa::path(get, path = "/checkout/review", tag = "pages",
    params(
        ("address" = Option<String>, Query, description = "A saved address of the shopper; without one (or with one that is not theirs) the page sends them back to step 1"),
        ("coupon" = Option<String>, Query, description = "A coupon code to apply"),
    ),
    responses(
        (status = 200, description = "Checkout, step 2: items, coupon, card and Place order", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in, nothing to buy, or no such address (back to step 1)"),
    ))]
#[allow(dead_code)]
fn checkout_review() {}

#[utoipa::path(get, path = "/orders", tag = "pages",
    responses(
        (status = 200, description = "The shopper's orders, newest first", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in"),
    ))]
#[allow(dead_code)]
fn orders() {}

#[utoipa::path(get, path = "/orders/{id}", tag = "pages",
    params(
        ("id" = String, Path, description = "An order of the shopper"),
        ("notice" = Option<String>, Query, description = "`placed`: shown as the checkout's confirmation"),
    ),
    responses(
        (status = 200, description = "The order", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in"),
        (status = 404, description = "No such order of this shopper", content_type = "text/html", body = String),
    ))]
#[allow(dead_code)]
fn order() {}

#[utoipa::path(get, path = "/account", tag = "pages",
    responses(
        (status = 200, description = "The shopper's details and saved addresses", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in"),
    ))]
#[allow(dead_code)]
fn account() {}

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "storefront",
        description = "Server-rendered shop: browse, product page, cart, checkout, order history, sign-in"
    ),
    paths(home, category, search, product, cart, checkout, checkout_review, orders, order, account),
    modifiers(&Conventions),
    tags((name = "pages", description = "The shop's pages (HTML)"))
)]
pub struct ApiDoc;
