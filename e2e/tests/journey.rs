//! The browse journey over HTTP, as a browser without JavaScript makes it: home, a category, a
//! search with a typo, a product, add to the cart as a guest, change and remove lines, sign up
//! (the guest cart joins the account's), sign out, sign in again to the same cart; and the
//! session's edges: CSRF, cookies, a refresh of an expired access token. And checkout with a
//! provider that takes the card on its own page (Stripe's stand-in): no card on the shop's page,
//! off to the provider's page, and back to an order its signed event paid.

use e2e::Shop;
use reqwest::StatusCode;

/// A page's HTML, asserting 200.
async fn page(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.text().await.unwrap()
}

/// The value of the first `name="<name>" value="..."` in `html`.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Posts a form; returns where it redirects.
async fn post(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> String {
    let response = client.post(url).form(form).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{url}: {:?}",
        response.text().await
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn browse_fill_a_cart_sign_up_and_find_it_again() {
    let shop = Shop::start().await.unwrap();
    let browser = Shop::browser();
    let site = |path: &str| shop.storefront.url(path);

    let home = page(&browser, &site("/")).await;
    assert!(home.contains("Featured"), "{home}");
    assert!(
        home.contains("href=\"/p/blue-mug\""),
        "the blue mug is featured"
    );
    let mugs = page(&browser, &site("/c/mugs?sort=price_asc")).await;
    assert!(mugs.contains("Blue mug") && mugs.contains("Red mug"));
    let search = page(&browser, &site("/search?q=mgu")).await;
    assert!(
        search.contains("Showing results for <strong>mug</strong>"),
        "{search}"
    );
    assert!(search.contains("Blue mug"));
    let exact = page(&browser, &site("/search?q=blue+mug")).await;
    assert!(exact.contains("Blue mug") && !exact.contains("Red mug"));

    let product = page(&browser, &site("/p/blue-mug")).await;
    assert!(product.contains("<h1>Blue mug</h1>"));
    assert!(
        product.contains("data:image/svg+xml;base64,"),
        "an inline picture"
    );
    let csrf = field(&product, "csrf");
    let variant = field(&product, "variant_id");
    let location = post(
        &browser,
        &site("/cart/add"),
        &[
            ("csrf", &csrf),
            ("slug", "blue-mug"),
            ("variant_id", &variant),
            ("quantity", "2"),
        ],
    )
    .await;
    assert_eq!(location, "/cart?notice=added");
    let cart = page(&browser, &site("/cart?notice=added")).await;
    assert!(cart.contains("Added to your cart."));
    assert!(
        cart.contains("Subtotal (2 items): <strong>$25.00</strong>"),
        "{cart}"
    );

    post(
        &browser,
        &site("/cart/update"),
        &[("csrf", &csrf), ("variant_id", &variant), ("quantity", "3")],
    )
    .await;
    let cart = page(&browser, &site("/cart")).await;
    assert!(
        cart.contains("Subtotal (3 items): <strong>$37.50</strong>"),
        "{cart}"
    );
    let too_many = post(
        &browser,
        &site("/cart/update"),
        &[
            ("csrf", &csrf),
            ("variant_id", &variant),
            ("quantity", "99"),
        ],
    )
    .await;
    assert_eq!(too_many, "/cart?notice=stock", "bounded by stock");

    // A form from elsewhere changes nothing.
    let forged = browser
        .post(site("/cart/remove"))
        .form(&[("csrf", "0000"), ("variant_id", variant.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Sign up: the guest cart becomes the account's.
    let email = format!("shopper-{}@example.com", unique());
    let password = "correct horse battery staple";
    let welcome = post(
        &browser,
        &site("/signup"),
        &[
            ("csrf", &csrf),
            ("email", &email),
            ("password", password),
            ("next", "/cart"),
        ],
    )
    .await;
    assert_eq!(welcome, "/cart?notice=welcome");
    let cart = page(&browser, &site("/cart")).await;
    assert!(cart.contains(&email), "signed in");
    assert!(cart.contains("Subtotal (3 items)"), "{cart}");

    // Sign out: a fresh, empty guest cart.
    let signed_out = post(
        &browser,
        &site("/signout"),
        &[("csrf", &field(&cart, "csrf"))],
    )
    .await;
    assert_eq!(signed_out, "/?notice=signed-out");
    let cart = page(&browser, &site("/cart")).await;
    assert!(
        cart.contains("Your cart is empty") && !cart.contains(&email),
        "{cart}"
    );

    // Sign in again, later: the same cart.
    let signin = page(&browser, &site("/signin?next=/cart")).await;
    let back = post(
        &browser,
        &site("/signin"),
        &[
            ("csrf", &field(&signin, "csrf")),
            ("email", &email),
            ("password", password),
            ("next", "/cart"),
        ],
    )
    .await;
    assert_eq!(back, "/cart?notice=signed-in");
    let cart = page(&browser, &site("/cart")).await;
    assert!(cart.contains("Subtotal (3 items)"), "{cart}");

    let remove = post(
        &browser,
        &site("/cart/remove"),
        &[("csrf", &field(&cart, "csrf")), ("variant_id", &variant)],
    )
    .await;
    assert_eq!(remove, "/cart?notice=removed");
    assert!(
        page(&browser, &site("/cart"))
            .await
            .contains("Your cart is empty")
    );

    let wrong = browser
        .post(site("/signin"))
        .form(&[
            ("csrf", field(&cart, "csrf").as_str()),
            ("email", &email),
            ("password", "wrong password!!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The e-mail address or the password is wrong.")
    );
}

/// Cookies kept by hand, to drop one as a browser does when it expires.
#[derive(Default)]
struct Jar(std::collections::BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Applies the response's `Set-Cookie` headers; returns their names.
    fn update(&mut self, response: &reqwest::Response) -> Vec<String> {
        let mut names = Vec::new();
        for header in response.headers().get_all("set-cookie") {
            let text = header.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
            names.push(name.to_owned());
        }
        names
    }

    async fn get(&mut self, client: &reqwest::Client, url: &str) -> (Vec<String>, String) {
        let response = client
            .get(url)
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        let names = self.update(&response);
        (names, response.text().await.unwrap())
    }

    async fn post(&mut self, client: &reqwest::Client, url: &str, form: &[(&str, &str)]) {
        let response = client
            .post(url)
            .header("cookie", self.header())
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        self.update(&response);
    }
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_without_the_visitor_noticing() {
    let shop = Shop::start().await.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut jar = Jar::default();
    let email = format!("refresh-{}@example.com", unique());
    let (_, signup) = jar.get(&client, &shop.storefront.url("/signup")).await;
    jar.post(
        &client,
        &shop.storefront.url("/signup"),
        &[
            ("csrf", &field(&signup, "csrf")),
            ("email", &email),
            ("password", "correct horse battery staple"),
        ],
    )
    .await;
    let (set, html) = jar.get(&client, &shop.storefront.url("/cart")).await;
    assert!(html.contains(&email));
    assert!(
        !set.contains(&"sf_access".to_owned()),
        "no refresh while the token is good"
    );

    // The access cookie expires in the browser; the refresh token remains.
    jar.0.remove("sf_access");
    let old_refresh = jar.0["sf_refresh"].clone();
    let (set, html) = jar.get(&client, &shop.storefront.url("/cart")).await;
    assert!(html.contains(&email), "still signed in");
    assert!(
        set.contains(&"sf_access".to_owned()),
        "a new access token: {set:?}"
    );
    assert_ne!(
        jar.0["sf_refresh"], old_refresh,
        "the refresh token rotated"
    );

    // A refresh token that no longer works signs the visitor out instead of failing the page.
    jar.0.remove("sf_access");
    jar.0.insert("sf_refresh".into(), old_refresh);
    let (_, html) = jar.get(&client, &shop.storefront.url("/cart")).await;
    assert!(!html.contains(&email), "signed out");
    assert!(!jar.0.contains_key("sf_refresh"));
}

#[tokio::test]
async fn with_a_payment_page_the_shopper_pays_there_and_the_providers_event_pays_the_order() {
    let stripe = order::testing::FakeStripe::start().await;
    let origin = "https://shop.test";
    let shop = Shop::start_paying_with(stripe.settings(), Some(origin.to_owned()))
        .await
        .unwrap();
    let browser = Shop::browser();
    let site = |path: &str| shop.storefront.url(path);

    let product = page(&browser, &site("/p/blue-mug")).await;
    let csrf = field(&product, "csrf");
    let variant = field(&product, "variant_id");
    let add = [
        ("csrf", csrf.as_str()),
        ("slug", "blue-mug"),
        ("variant_id", variant.as_str()),
        ("quantity", "2"),
    ];
    post(&browser, &site("/cart/add"), &add).await;
    let email = format!("payer-{}@example.com", unique());
    let signed_up = post(
        &browser,
        &site("/signup"),
        &[
            ("csrf", &csrf),
            ("email", &email),
            ("password", "correct horse battery staple"),
            ("next", "/checkout"),
        ],
    )
    .await;
    assert!(signed_up.starts_with("/checkout"), "{signed_up}");
    let address_page = page(&browser, &site("/checkout")).await;
    let review_at = post(
        &browser,
        &site("/checkout/address"),
        &[
            ("csrf", &field(&address_page, "csrf")),
            ("name", "Ada Lovelace"),
            ("line1", "12 Analytical Row"),
            ("city", "London"),
            ("postal_code", "NW1 6XE"),
            ("country", "GB"),
        ],
    )
    .await;
    let review = page(&browser, &site(&review_at)).await;
    assert!(
        !review.contains("name=\"number\"") && !review.contains("cc-number"),
        "the shop's page asks for no card: {review}"
    );
    assert!(review.contains("Place order and pay: $25.00"), "{review}");

    let place = [
        ("csrf", field(&review, "csrf")),
        ("token", field(&review, "token")),
        ("address", field(&review, "address")),
        ("lines", field(&review, "lines")),
    ];
    let to = post(
        &browser,
        &site("/checkout/place"),
        &place.each_ref().map(|(k, v)| (*k, v.as_str())),
    )
    .await;
    assert!(
        to.starts_with("https://checkout.stripe.test/c/pay/cs_test_"),
        "{to}"
    );
    let session_id = to.rsplit('/').next().unwrap();
    let orders = page(&browser, &site("/orders")).await;
    let order_id = stripe
        .calls()
        .iter()
        .find_map(|(_, path, key)| (path == "/v1/checkout/sessions").then(|| key.clone().unwrap()))
        .unwrap()
        .trim_end_matches("/authorize")
        .to_owned();
    assert!(orders.contains(&order_id[..8]), "in the history: {orders}");
    let session = stripe.session_of(&order_id);
    assert_eq!(session.id, session_id);
    assert_eq!(
        session.form["success_url"],
        format!("{origin}/orders/{order_id}?notice=placed"),
        "Stripe sends the shopper back to the confirmation"
    );
    let waiting = page(&browser, &site(&format!("/orders/{order_id}"))).await;
    assert!(
        waiting.contains(&to),
        "a link back to the payment page: {waiting}"
    );

    // The shopper pays on Stripe's page; Stripe's signed event comes in through the gateway,
    // without a token.
    stripe.pay(session_id);
    let (body, signature) = stripe.event("checkout.session.completed", session_id);
    let delivered = reqwest::Client::new()
        .post(shop.gateway.url("/v1/orders/payment-events"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), StatusCode::NO_CONTENT);
    let confirmation = page(
        &browser,
        &site(&format!("/orders/{order_id}?notice=placed")),
    )
    .await;
    assert!(confirmation.contains("Thank you for your order"));
    assert!(
        confirmation.contains("Paid: preparing to ship"),
        "{confirmation}"
    );
    assert!(!confirmation.contains(&to), "nothing left to pay");
}

fn unique() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
