//! The shop's pages: server-rendered HTML (askama templates in `templates/`), links and forms
//! only, so every page works without JavaScript.
//!
//! | page | handler |
//! |---|---|
//! | `GET /` featured products | [`home`] |
//! | `GET /c/{slug}` a category, `GET /search?q=` search (sort, in-stock filter, pages) | [`category`], [`search`] |
//! | `GET /p/{slug}` a product | [`product`] |
//! | `GET /cart`, `POST /cart/add`, `/cart/update`, `/cart/remove` | [`cart`], [`add_to_cart`], [`update_cart`], [`remove_from_cart`] |
//! | `GET, POST /signin`, `/signup`, `POST /signout` | [`signin_page`], [`signin`], [`signup_page`], [`signup`], [`signout`] |
//! | `GET /checkout`, `POST /checkout/address`, `GET /checkout/review`, `POST /checkout/place` | [`checkout`] |
//! | `GET /orders`, `GET /orders/{id}`, `POST /orders/{id}/cancel` | [`orders`] |
//! | `GET /account`, `POST /account/profile`, `/account/addresses`, `/account/addresses/{id}/delete` | [`profile`] |
//!
//! Every form post carries the session's CSRF token and answers with a redirect (303), so a
//! reload never posts twice; what happened shows as a notice on the next page (`?notice=`, from a
//! fixed list: nothing a link could inject).

use askama::Template;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SignedCookieJar};
use kit::client::ClientError;
use serde::Deserialize;
use uuid::Uuid;

pub mod checkout;
pub mod orders;
pub mod profile;

use crate::api::{Cart, Image, ListQuery, Product, ProductSummary};
use crate::session::{Posted, Session};
use crate::startup::AppState;

/// Products per listing page.
const PAGE_SIZE: u32 = 12;
/// Most units of one line (the cart's own limit).
const MAX_QUANTITY: u32 = 99;
/// A plain cookie with the number of items in the cart, for the header (a hint, refreshed on
/// every cart change and cart page).
const ITEMS: &str = "sf_items";

/// What a page could not do.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("the form is not this session's")]
    Forbidden,
    /// The page is the signed-in user's: sign in first, then come back to the path.
    #[error("not signed in")]
    SignIn(String),
    #[error("the shop's API failed")]
    Api(#[source] Box<ClientError>),
}

impl From<ClientError> for PageError {
    fn from(error: ClientError) -> Self {
        Self::Api(Box::new(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            Self::SignIn(next) => {
                let to = href(
                    "/signin",
                    &[("next", Some(next)), ("notice", Some("sign-in-first"))],
                );
                return Redirect::to(&to).into_response();
            }
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page in the shop.",
            ),
            Self::BadRequest(what) => (StatusCode::BAD_REQUEST, "Something is missing", *what),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "Please try again",
                "This form expired or did not come from this shop. Reload the page and send it again.",
            ),
            Self::Api(error) => {
                tracing::warn!(error = %kit::problem::ErrorChain(error.as_ref()), "page failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The shop is having trouble",
                    "Something the shop needs is not answering. Please try again in a moment.",
                )
            }
        };
        let page = ErrorPage {
            layout: Layout::bare(heading),
            heading,
            message,
        };
        (status, render(&page)).into_response()
    }
}

/// Renders a template; a template that fails to render is a bug, logged, with a plain answer.
fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

/// A category link in the navigation.
pub struct NavLink {
    pub slug: String,
    pub name: String,
    pub current: bool,
}

/// What every page shows around its content.
pub struct Layout {
    pub title: String,
    pub user_email: Option<String>,
    pub cart_count: u32,
    pub categories: Vec<NavLink>,
    pub csrf: String,
    pub query: String,
    pub notice: Option<&'static str>,
}

impl Layout {
    /// A layout without the API (error pages).
    fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            user_email: None,
            cart_count: 0,
            categories: Vec::new(),
            csrf: String::new(),
            query: String::new(),
            notice: None,
        }
    }
}

/// The text of a notice code.
fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "added" => "Added to your cart.",
        "updated" => "Your cart is updated.",
        "removed" => "Removed from your cart.",
        "stock" => "There are not that many in stock.",
        "welcome" => "Welcome! Your account is ready and you are signed in.",
        "signed-in" => "You are signed in.",
        "signed-out" => "You are signed out.",
        "choose" => "Choose a size or colour first.",
        "sign-in-first" => "Please sign in first.",
        "cancelled" => {
            "Your order is cancelled. Nothing will be charged, and we sent you an e-mail."
        }
        "not-cancellable" => "This order can no longer be cancelled.",
        "processing" => "Your order is still being placed: it shows here in a moment.",
        "profile-saved" => "Your details are saved.",
        "address-added" => "The address is saved.",
        "address-deleted" => "The address is deleted.",
        _ => return None,
    })
}

/// The layout of a page for `session`.
async fn layout(
    state: &AppState,
    session: &Session,
    jar: &SignedCookieJar,
    title: impl Into<String>,
    notice_code: Option<&str>,
    current_category: Option<&str>,
) -> Result<Layout, PageError> {
    let categories = state.api.categories(&session.caller()).await?;
    Ok(Layout {
        title: title.into(),
        user_email: session.user.as_ref().map(|u| u.email.clone()),
        cart_count: jar
            .get(ITEMS)
            .and_then(|c| c.value().parse().ok())
            .unwrap_or(0),
        categories: categories
            .into_iter()
            .map(|c| NavLink {
                current: Some(c.slug.as_str()) == current_category,
                slug: c.slug,
                name: c.name,
            })
            .collect(),
        csrf: session.csrf.clone(),
        query: String::new(),
        notice: notice(notice_code),
    })
}

/// The header's item count, after a cart change.
fn with_count(jar: SignedCookieJar, cart: &Cart) -> SignedCookieJar {
    jar.add(
        Cookie::build((ITEMS, cart.item_count.to_string()))
            .path("/")
            .http_only(true)
            .same_site(axum_extra::extract::cookie::SameSite::Lax)
            .build(),
    )
}

/// A product in a grid.
pub struct CardView {
    pub slug: String,
    pub name: String,
    pub price: String,
    pub from: bool,
    pub in_stock: bool,
    pub image: Option<Image>,
}

impl From<ProductSummary> for CardView {
    fn from(p: ProductSummary) -> Self {
        Self {
            slug: p.slug,
            name: p.name,
            price: p.price_from.display(),
            from: false,
            in_stock: p.in_stock,
            image: p.image.filter(Image::safe),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    cards: Vec<CardView>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    message: &'static str,
}

/// Query of most pages: a notice to show.
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub notice: Option<String>,
}

/// The home page: featured products.
#[tracing::instrument(name = "home", skip_all)]
pub async fn home(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<Notice>,
) -> Result<Response, PageError> {
    let layout = layout(
        &state,
        &session,
        &jar,
        "Home",
        query.notice.as_deref(),
        None,
    )
    .await?;
    let featured = state
        .api
        .products(
            &session.caller(),
            &ListQuery {
                featured: Some(true),
                limit: PAGE_SIZE,
                ..ListQuery::default()
            },
        )
        .await?;
    Ok(render(&HomePage {
        layout,
        cards: featured.items.into_iter().map(CardView::from).collect(),
    }))
}

#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage {
    layout: Layout,
    heading: String,
    description: String,
    corrected: Option<String>,
    action: String,
    q: Option<String>,
    sorts: Vec<(&'static str, &'static str, bool)>,
    in_stock: bool,
    cards: Vec<CardView>,
    first_page: bool,
    first_href: String,
    next_href: Option<String>,
}

/// Orders a listing offers.
const SORTS: &[(&str, &str)] = &[
    ("relevance", "Best match"),
    ("price_asc", "Price, low to high"),
    ("price_desc", "Price, high to low"),
    ("name", "Name"),
    ("newest", "Newest"),
];

/// Query of a listing.
#[derive(Debug, Default, Deserialize)]
pub struct ListingQuery {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub in_stock: Option<String>,
    pub cursor: Option<String>,
    pub notice: Option<String>,
}

/// `path?query` from pairs, percent-encoded.
fn href(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let present: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    if present.is_empty() {
        return path.to_owned();
    }
    let query = serde_urlencoded::to_string(&present).unwrap_or_default();
    format!("{path}?{query}")
}

/// A listing page: a category's products or search results.
async fn listing(
    state: &AppState,
    session: &Session,
    jar: &SignedCookieJar,
    query: ListingQuery,
    category: Option<(String, String, String)>,
) -> Result<Response, PageError> {
    let sort = query
        .sort
        .as_deref()
        .filter(|s| SORTS.iter().any(|(v, _)| v == s))
        .map(str::to_owned);
    let in_stock = query.in_stock.as_deref() == Some("true");
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(200).collect::<String>());
    let (action, heading, description, current) = match &category {
        Some((slug, name, description)) => (
            format!("/c/{slug}"),
            name.clone(),
            description.clone(),
            Some(slug.as_str()),
        ),
        None => (
            "/search".to_owned(),
            match &q {
                Some(q) => format!("Results for “{q}”"),
                None => "All products".to_owned(),
            },
            String::new(),
            None,
        ),
    };
    let mut layout = layout(
        state,
        session,
        jar,
        heading.clone(),
        query.notice.as_deref(),
        current,
    )
    .await?;
    layout.query = q.clone().unwrap_or_default();
    let list = ListQuery {
        category: category.as_ref().map(|(slug, _, _)| slug.clone()),
        q: q.clone(),
        sort: sort.clone(),
        in_stock: in_stock.then_some(true),
        featured: None,
        cursor: query.cursor.clone().filter(|c| !c.is_empty()),
        limit: PAGE_SIZE,
    };
    let page = match state.api.products(&session.caller(), &list).await {
        Ok(page) => page,
        // A cursor from another order or an edited link: start over.
        Err(e) if e.status() == Some(StatusCode::BAD_REQUEST) => {
            return Ok(Redirect::to(&action).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let in_stock_value = in_stock.then_some("true");
    let next_href = page.next_cursor.as_deref().map(|cursor| {
        href(
            &action,
            &[
                ("q", q.as_deref()),
                ("sort", sort.as_deref()),
                ("in_stock", in_stock_value),
                ("cursor", Some(cursor)),
            ],
        )
    });
    let chosen = sort.as_deref().unwrap_or("relevance");
    Ok(render(&ListingPage {
        layout,
        heading,
        description,
        corrected: page.corrected_query,
        first_href: href(
            &action,
            &[
                ("q", q.as_deref()),
                ("sort", sort.as_deref()),
                ("in_stock", in_stock_value),
            ],
        ),
        action,
        q,
        sorts: SORTS
            .iter()
            .map(|(value, label)| (*value, *label, *value == chosen))
            .collect(),
        in_stock,
        cards: page.items.into_iter().map(CardView::from).collect(),
        first_page: list.cursor.is_none(),
        next_href,
    }))
}

/// A category's products.
#[tracing::instrument(name = "category", skip_all, fields(category = %slug))]
pub async fn category(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    axum::extract::Path(slug): axum::extract::Path<String>,
    Query(query): Query<ListingQuery>,
) -> Result<Response, PageError> {
    let categories = state.api.categories(&session.caller()).await?;
    let found = categories
        .into_iter()
        .find(|c| c.slug == slug)
        .ok_or(PageError::NotFound)?;
    listing(
        &state,
        &session,
        &jar,
        query,
        Some((found.slug, found.name, found.description)),
    )
    .await
}

/// Search results.
#[tracing::instrument(name = "search", skip_all)]
pub async fn search(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<ListingQuery>,
) -> Result<Response, PageError> {
    listing(&state, &session, &jar, query, None).await
}

/// A variant as the product page offers it.
pub struct VariantView {
    pub id: Uuid,
    pub label: String,
    pub price: String,
    pub stock: i32,
    pub available: bool,
    pub low: bool,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    layout: Layout,
    slug: String,
    name: String,
    description: String,
    category_slug: String,
    category_name: String,
    price: String,
    in_stock: bool,
    stock_text: String,
    attributes: Vec<(String, String)>,
    images: Vec<Image>,
    variants: Vec<VariantView>,
    max_quantity: u32,
}

impl ProductPage {
    fn of(layout: Layout, product: Product) -> Self {
        let first_available = product.variants.iter().position(|v| v.stock > 0);
        let total_stock: i64 = product.variants.iter().map(|v| i64::from(v.stock)).sum();
        let stock_text = match total_stock {
            0 => "Out of stock".to_owned(),
            n if n <= 5 => format!("Only {n} left"),
            _ => "In stock".to_owned(),
        };
        let images = product
            .variants
            .iter()
            .flat_map(|v| v.images.iter().cloned())
            .filter(Image::safe)
            .take(4)
            .collect();
        let prices: Vec<i64> = product.variants.iter().map(|v| v.price.amount).collect();
        let varied = prices.iter().min() != prices.iter().max();
        let max_stock = product.variants.iter().map(|v| v.stock).max().unwrap_or(0);
        Self {
            layout,
            slug: product.slug,
            name: product.name,
            description: product.description,
            category_slug: product.category.slug,
            category_name: product.category.name,
            price: if varied {
                format!("from {}", product.price_from.display())
            } else {
                product.price_from.display()
            },
            in_stock: product.in_stock,
            stock_text,
            attributes: product.attributes.into_iter().collect(),
            images,
            variants: product
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| VariantView {
                    id: v.id,
                    label: if v.options.is_empty() {
                        v.sku.clone()
                    } else {
                        v.options.values().cloned().collect::<Vec<_>>().join(", ")
                    },
                    price: v.price.display(),
                    stock: v.stock,
                    available: v.stock > 0,
                    low: (1..=5).contains(&v.stock),
                    checked: Some(i) == first_available,
                })
                .collect(),
            max_quantity: u32::try_from(max_stock).unwrap_or(0).clamp(1, MAX_QUANTITY),
        }
    }
}

/// A product page.
#[tracing::instrument(name = "product", skip_all, fields(product = %slug))]
pub async fn product(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    axum::extract::Path(slug): axum::extract::Path<String>,
    Query(query): Query<Notice>,
) -> Result<Response, PageError> {
    let product = state
        .api
        .product(&session.caller(), &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let layout = layout(
        &state,
        &session,
        &jar,
        product.name.clone(),
        query.notice.as_deref(),
        Some(product.category.slug.as_str()),
    )
    .await?;
    Ok(render(&ProductPage::of(layout, product)))
}

/// A cart line as the cart page shows it.
pub struct LineView {
    pub variant_id: Uuid,
    pub slug: Option<String>,
    pub name: String,
    pub options: String,
    pub unit_price: String,
    pub quantity: u32,
    pub total: String,
    pub available: bool,
    pub problem: String,
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    layout: Layout,
    lines: Vec<LineView>,
    item_count: u32,
    subtotal: String,
    signed_in: bool,
}

/// The cart page.
#[tracing::instrument(name = "cart", skip_all)]
pub async fn cart(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<Notice>,
) -> Result<Response, PageError> {
    let cart = state.api.cart(&session.caller(), session.sid).await?;
    let jar = with_count(jar, &cart);
    let mut layout = layout(
        &state,
        &session,
        &jar,
        "Your cart",
        query.notice.as_deref(),
        None,
    )
    .await?;
    layout.cart_count = cart.item_count;
    let lines = cart
        .lines
        .iter()
        .map(|line| LineView {
            variant_id: line.variant_id,
            slug: line.product_slug.clone(),
            name: line
                .name
                .clone()
                .unwrap_or_else(|| "A product no longer sold".to_owned()),
            options: line
                .options
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            unit_price: line.unit_price.map(|p| p.display()).unwrap_or_default(),
            quantity: line.quantity,
            total: line.line_total.map(|p| p.display()).unwrap_or_default(),
            available: line.available,
            problem: match line.stock {
                Some(stock) if stock > 0 => format!("Only {stock} in stock: lower the quantity."),
                Some(_) => "Out of stock.".to_owned(),
                None => "No longer sold.".to_owned(),
            },
        })
        .collect();
    let page = CartPage {
        layout,
        lines,
        item_count: cart.item_count,
        subtotal: cart.subtotal.map(|m| m.display()).unwrap_or_default(),
        signed_in: session.user.is_some(),
    };
    Ok((jar, render(&page)).into_response())
}

/// The add-to-cart form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    pub slug: String,
    pub variant_id: Option<Uuid>,
    pub quantity: Option<String>,
}

/// A quantity typed in a form: a whole number in `min..=max`.
fn form_quantity(raw: Option<&str>, min: u32) -> Result<u32, PageError> {
    raw.unwrap_or("1")
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|q| (min..=MAX_QUANTITY).contains(q))
        .ok_or(PageError::BadRequest(
            "The quantity must be a whole number from 1 to 99.",
        ))
}

/// Whether a cart call was refused for want of stock (409), because the product is no longer
/// for sale (404), or for a quantity the cart will not hold (422).
fn not_available(error: &ClientError) -> bool {
    matches!(
        error.status(),
        Some(StatusCode::CONFLICT | StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY)
    )
}

/// Adds to the cart; back to the cart (or to the product when it could not be added).
#[tracing::instrument(name = "add_to_cart", skip_all)]
pub async fn add_to_cart(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<AddForm>,
) -> Result<Response, PageError> {
    let slug: String = form
        .slug
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(80)
        .collect();
    let Some(variant) = form.variant_id else {
        return Ok(Redirect::to(&format!("/p/{slug}?notice=choose")).into_response());
    };
    let quantity = form_quantity(form.quantity.as_deref(), 1)?;
    match state
        .api
        .add_to_cart(&session.caller(), session.sid, variant, quantity)
        .await
    {
        Ok(cart) => {
            Ok((with_count(jar, &cart), Redirect::to("/cart?notice=added")).into_response())
        }
        Err(e) if not_available(&e) => {
            Ok(Redirect::to(&format!("/p/{slug}?notice=stock")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A cart line form.
#[derive(Debug, Deserialize)]
pub struct LineForm {
    pub variant_id: Uuid,
    pub quantity: Option<String>,
}

/// Changes a line's quantity (0 removes it).
#[tracing::instrument(name = "update_cart", skip_all)]
pub async fn update_cart(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<LineForm>,
) -> Result<Response, PageError> {
    let quantity = form_quantity(form.quantity.as_deref(), 0)?;
    change_line(&state, &session, jar, form.variant_id, quantity).await
}

/// Removes a line.
#[tracing::instrument(name = "remove_from_cart", skip_all)]
pub async fn remove_from_cart(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<LineForm>,
) -> Result<Response, PageError> {
    change_line(&state, &session, jar, form.variant_id, 0).await
}

async fn change_line(
    state: &AppState,
    session: &Session,
    jar: SignedCookieJar,
    variant: Uuid,
    quantity: u32,
) -> Result<Response, PageError> {
    let notice = if quantity == 0 { "removed" } else { "updated" };
    match state
        .api
        .set_quantity(&session.caller(), session.sid, variant, quantity)
        .await
    {
        Ok(cart) => Ok((
            with_count(jar, &cart),
            Redirect::to(&format!("/cart?notice={notice}")),
        )
            .into_response()),
        Err(e) if not_available(&e) => Ok(Redirect::to("/cart?notice=stock").into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    heading: &'static str,
    action: &'static str,
    signup: bool,
    password_autocomplete: &'static str,
    email: String,
    next: String,
    errors: Vec<String>,
    other_prompt: &'static str,
    other_href: String,
    other_label: &'static str,
}

impl AccountPage {
    fn signin(layout: Layout, next: String, email: String, errors: Vec<String>) -> Self {
        Self {
            layout,
            heading: "Sign in",
            action: "/signin",
            signup: false,
            password_autocomplete: "current-password",
            email,
            other_prompt: "New here?",
            other_href: href("/signup", &[("next", Some(next.as_str()))]),
            other_label: "Create an account",
            next,
            errors,
        }
    }

    fn signup(layout: Layout, next: String, email: String, errors: Vec<String>) -> Self {
        Self {
            layout,
            heading: "Create an account",
            action: "/signup",
            signup: true,
            password_autocomplete: "new-password",
            email,
            other_prompt: "Have an account?",
            other_href: href("/signin", &[("next", Some(next.as_str()))]),
            other_label: "Sign in",
            next,
            errors,
        }
    }
}

/// Where to go after signing in: a path of this shop, nothing else.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && n.len() <= 200 =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `path` (a local path, perhaps with a query) with a notice to show there.
fn with_notice(path: &str, code: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}notice={code}")
}

/// Query of the account pages.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
    pub notice: Option<String>,
}

/// The sign-in form.
pub async fn signin_page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<NextQuery>,
) -> Result<Response, PageError> {
    let layout = layout(
        &state,
        &session,
        &jar,
        "Sign in",
        query.notice.as_deref(),
        None,
    )
    .await?;
    let next = safe_next(query.next.as_deref());
    Ok(render(&AccountPage::signin(
        layout,
        next,
        String::new(),
        Vec::new(),
    )))
}

/// The sign-up form.
pub async fn signup_page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<NextQuery>,
) -> Result<Response, PageError> {
    let layout = layout(&state, &session, &jar, "Create an account", None, None).await?;
    let next = safe_next(query.next.as_deref());
    Ok(render(&AccountPage::signup(
        layout,
        next,
        String::new(),
        Vec::new(),
    )))
}

/// The account forms.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    pub email: String,
    pub password: String,
    pub next: Option<String>,
}

/// The label a form shows for a field the API named (`address.line1` is "Address line 1").
fn field_label(field: &str) -> &str {
    let field = field.rsplit('.').next().unwrap_or(field);
    match field {
        "email" => "E-mail address",
        "password" => "Password",
        "label" => "Label",
        "name" => "Full name",
        "line1" => "Address line 1",
        "line2" => "Address line 2",
        "city" => "Town or city",
        "postal_code" => "Postal code",
        "country" => "Country",
        "number" => "Card number",
        "expiry" => "Expiry date",
        "cvc" => "Security code",
        "display_name" => "Name",
        "phone" => "Phone",
        other => other,
    }
}

/// The messages of a problem the API answered, for the form: one per invalid field, or its
/// detail.
fn field_problems(error: &ClientError) -> Vec<String> {
    match error {
        ClientError::Problem { problem, .. } if !problem.errors.is_empty() => problem
            .errors
            .iter()
            .map(|e| format!("{} {}", field_label(&e.field), e.message))
            .collect(),
        ClientError::Problem { problem, .. } => {
            vec![
                problem
                    .detail
                    .clone()
                    .unwrap_or_else(|| problem.title.clone()),
            ]
        }
        _ => vec!["The shop could not do this right now; please try again.".to_owned()],
    }
}

/// Signs in: tokens in cookies, the guest cart merged into the account's.
async fn start_session(
    state: &AppState,
    session: &Session,
    jar: SignedCookieJar,
    email: &str,
    password: &str,
) -> Result<SignedCookieJar, ClientError> {
    let tokens = state
        .api
        .sign_in(&session.caller(), email, password)
        .await?;
    let jar = state.cookies.signed_in(jar, &tokens);
    let caller = crate::api::Caller {
        ip: session.ip.clone(),
        token: Some(tokens.access_token.clone()),
    };
    match state.api.merge_carts(&caller, session.sid).await {
        Ok(cart) => Ok(with_count(jar, &cart)),
        Err(error) => {
            // Signed in all the same; the guest cart stays where it was.
            tracing::warn!(%error, "cannot merge the guest cart");
            Ok(jar)
        }
    }
}

/// Signs in.
#[tracing::instrument(name = "signin", skip_all)]
pub async fn signin(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<AccountForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref());
    match start_session(&state, &session, jar.clone(), &form.email, &form.password).await {
        Ok(jar) => Ok((jar, Redirect::to(&with_notice(&next, "signed-in"))).into_response()),
        Err(error) if error.status().is_some() => {
            let layout = layout(&state, &session, &jar, "Sign in", None, None).await?;
            let page = AccountPage::signin(layout, next, form.email, field_problems(&error));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// Creates an account, then signs in.
#[tracing::instrument(name = "signup", skip_all)]
pub async fn signup(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<AccountForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref());
    let created = state
        .api
        .sign_up(&session.caller(), &form.email, &form.password)
        .await;
    let outcome = match created {
        Ok(()) => start_session(&state, &session, jar.clone(), &form.email, &form.password).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(jar) => Ok((jar, Redirect::to(&with_notice(&next, "welcome"))).into_response()),
        Err(error) if error.status().is_some() => {
            let layout = layout(&state, &session, &jar, "Create an account", None, None).await?;
            let page = AccountPage::signup(layout, next, form.email, field_problems(&error));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// A form with nothing but its CSRF token (which [`Posted`] checks).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {}

/// Signs out: the session's tokens are revoked and forgotten, and a new (empty) guest cart starts.
#[tracing::instrument(name = "signout", skip_all)]
pub async fn signout(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(CsrfForm {}): Posted<CsrfForm>,
) -> Result<Response, PageError> {
    if let Some(refresh) = jar.get(crate::session::REFRESH)
        && let Err(error) = state.api.sign_out(&session.caller(), refresh.value()).await
    {
        tracing::warn!(%error, "cannot revoke the session's tokens");
    }
    let jar = state.cookies.signed_out(jar).add(
        Cookie::build((ITEMS, "0"))
            .path("/")
            .http_only(true)
            .build(),
    );
    Ok((jar, Redirect::to("/?notice=signed-out")).into_response())
}

/// Pages that do not exist.
pub async fn not_found() -> PageError {
    PageError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert_eq!(safe_next(Some("/cart")), "/cart");
        for bad in [
            "//evil.example.com",
            "https://evil.example.com",
            "/\\evil",
            "cart",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn notices_come_from_a_fixed_list() {
        assert_eq!(notice(Some("added")), Some("Added to your cart."));
        assert_eq!(notice(Some("<script>")), None);
    }

    #[test]
    fn links_are_encoded() {
        assert_eq!(
            href("/search", &[("q", Some("blue mug&x")), ("sort", None)]),
            "/search?q=blue+mug%26x"
        );
    }
}
