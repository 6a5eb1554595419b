//! The shopper's journey in a real browser: headless Chromium driven over WebDriver (chromedriver,
//! from Debian's `chromium` and `chromium-driver`; `.ci/run` installs them). Home, a category, a
//! search with a typo, a product, add to the cart as a guest, sign up on the way to checkout (the
//! cart comes along), a shipping address, an expired coupon then a good one, a declined card then
//! a good one with "Place order" sent twice, the confirmation, the order history (one order), the
//! saved address on the account page, and cancelling the order. Every page is checked for what
//! assistive technology needs (landmarks, labels, alt text, a heading) and saved as a screenshot
//! under `<target>/screenshots/`. JavaScript runs only in the test's checks: the pages have none.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use e2e::Shop;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots`, or the workspace's `target/`.
fn screenshots() -> PathBuf {
    #[allow(clippy::disallowed_methods)] // the test reads where cargo builds
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    _process: tokio::process::Child,
    url: String,
}

async fn chromedriver() -> Driver {
    let port = free_port();
    let process = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver is not installed: apt-get install chromium chromium-driver");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return Driver {
                _process: process,
                url,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    let capabilities = json!({
        "goog:chromeOptions": {
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--window-size=1280,1000",
            ],
        },
    });
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities.as_object().unwrap().clone())
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// What assistive technology needs of every page: the landmarks, one `h1`, alt text on every
/// image, a label for every field. Returns the problems found.
const ACCESSIBILITY: &str = r#"
const problems = [];
for (const landmark of ["header", "nav", "main", "footer"]) {
  if (!document.querySelector(landmark)) problems.push("no <" + landmark + ">");
}
if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
for (const img of document.querySelectorAll("img")) {
  if (!img.hasAttribute("alt") || img.getAttribute("alt").trim() === "") problems.push("img without alt");
}
for (const field of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
  const labelled = (field.id && document.querySelector('label[for="' + field.id + '"]'))
    || field.closest("label") || field.getAttribute("aria-label");
  if (!labelled) problems.push("field without label: " + (field.name || field.id));
}
if (!document.documentElement.lang) problems.push("no lang");
return problems;
"#;

/// Checks the page and saves its screenshot as `name.png`.
async fn check(client: &Client, name: &str) {
    let problems = client.execute(ACCESSIBILITY, vec![]).await.unwrap();
    assert_eq!(problems, json!([]), "{name}: accessibility");
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Types into the field with id `id` (after clearing it).
async fn fill(client: &Client, id: &str, value: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Types a test card's number, a future expiry and a CVC.
async fn card(client: &Client, number: &str) {
    fill(client, "number", number).await;
    fill(client, "expiry", "12/30").await;
    fill(client, "cvc", "123").await;
}

/// Clicks the submit button of the form matching `form` and waits for `then`.
async fn submit(client: &Client, form: &str, then: &str) {
    client
        .find(Locator::Css(&format!("{form} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    if client.wait().for_element(Locator::Css(then)).await.is_err() {
        let png = client.screenshot().await.unwrap();
        std::fs::write(screenshots().join("failed.png"), png).unwrap();
        let url = client.current_url().await.unwrap();
        panic!("after {form}: no {then} on {url}: {}", text(client).await);
    }
}

async fn text(client: &Client) -> String {
    client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_browses_fills_a_cart_signs_up_checks_out_and_cancels() {
    let shop = Shop::start().await.unwrap();
    let driver = chromedriver().await;
    let client = browser(&driver).await;

    client.goto(&shop.storefront.url("/")).await.unwrap();
    assert!(text(&client).await.contains("Featured"));
    check(&client, "01-home").await;

    client
        .find(Locator::LinkText("Mugs"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client.wait().for_element(Locator::Css("h1")).await.unwrap();
    let category = text(&client).await;
    assert!(category.starts_with("Mugs"), "{category}");
    assert!(category.contains("Blue mug"));
    check(&client, "02-category").await;

    let search = client.find(Locator::Id("q")).await.unwrap();
    search.send_keys("mgu").await.unwrap();
    client
        .find(Locator::Css("form.search button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css(".corrected"))
        .await
        .unwrap();
    let results = text(&client).await;
    assert!(results.contains("Showing results for mug"), "{results}");
    check(&client, "03-search").await;

    client
        .find(Locator::Css("a[href='/p/blue-mug']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("form.buy"))
        .await
        .unwrap();
    assert!(text(&client).await.contains("Blue mug"));
    check(&client, "04-product").await;

    let quantity = client.find(Locator::Id("quantity")).await.unwrap();
    quantity.clear().await.unwrap();
    quantity.send_keys("2").await.unwrap();
    client
        .find(Locator::Css("form.buy button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("table.cart"))
        .await
        .unwrap();
    let cart = text(&client).await;
    assert!(cart.contains("Subtotal (2 items): $25.00"), "{cart}");
    check(&client, "05-cart-as-guest").await;

    client
        .find(Locator::LinkText("Create an account"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Id("email"))
        .await
        .unwrap();
    check(&client, "06-sign-up").await;
    let email = format!(
        "browser-{}@example.com",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    fill(&client, "email", &email).await;
    fill(&client, "password", "correct horse battery staple").await;
    // Signed up on the way to checkout: the guest's cart is the account's, and checkout asks
    // where to ship.
    submit(&client, ".account-form", "form.checkout").await;
    let header = client
        .find(Locator::Css("header"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(header.contains(&email), "signed in: {header}");
    let notice = client.find(Locator::Css(".notice")).await.unwrap();
    assert!(
        notice.text().await.unwrap().contains("Welcome!"),
        "told the account is ready"
    );
    check(&client, "07-checkout-address").await;

    fill(&client, "name", "Ada Lovelace").await;
    fill(&client, "line1", "12 Analytical Row").await;
    fill(&client, "city", "London").await;
    fill(&client, "postal_code", "NW1 6XE").await;
    fill(&client, "country", "gb").await;
    submit(&client, "form.checkout", "#coupon").await;
    let review = text(&client).await;
    assert!(
        review.contains("Ada Lovelace, 12 Analytical Row, London, NW1 6XE, GB"),
        "{review}"
    );
    assert!(review.contains("Blue mug"), "{review}");
    assert!(review.contains("$25.00"), "the cart's two mugs: {review}");

    // An expired coupon says so; a good one takes its share off.
    fill(&client, "coupon", "SPRING24").await;
    submit(&client, "form[action='/checkout/review']", "#coupon-error").await;
    let refused = text(&client).await;
    assert!(refused.to_lowercase().contains("expired"), "{refused}");
    check(&client, "08-coupon-expired").await;
    fill(&client, "coupon", "welcome10").await;
    submit(&client, "form[action='/checkout/review']", ".applied").await;
    let applied = text(&client).await;
    assert!(applied.contains("WELCOME10 takes $2.50 off"), "{applied}");
    assert!(applied.contains("Place order: $22.50"), "{applied}");
    check(&client, "09-checkout-review").await;

    // A declined card: a clear message, nothing placed, the coupon still applied.
    card(&client, "4000 0000 0000 0002").await;
    submit(&client, "form.checkout", ".errors").await;
    let declined = text(&client).await;
    assert!(declined.contains("Your card was declined."), "{declined}");
    assert!(declined.contains("WELCOME10 takes $2.50 off"), "{declined}");
    check(&client, "10-card-declined").await;

    // A good card, and "Place order" sent twice (a double click): one order, the confirmation.
    card(&client, "4242 4242 4242 4242").await;
    client
        .execute(
            "const form = document.querySelector('form[action=\"/checkout/place\"]');
             form.requestSubmit(); form.requestSubmit();",
            vec![],
        )
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css(".confirmation"))
        .await
        .unwrap();
    let confirmation = text(&client).await;
    assert!(
        confirmation.contains("Thank you for your order"),
        "{confirmation}"
    );
    assert!(confirmation.contains("$22.50"), "{confirmation}");
    let header = client
        .find(Locator::Css("header"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !header.contains("Cart ("),
        "the cart is empty after the order: {header}"
    );
    check(&client, "11-confirmation").await;
    // Reloading the confirmation shows the same order, nothing more.
    client.refresh().await.unwrap();
    client
        .wait()
        .for_element(Locator::Css(".confirmation"))
        .await
        .unwrap();

    client
        .find(Locator::LinkText("Orders"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("table.orders"))
        .await
        .unwrap();
    let rows = client
        .find_all(Locator::Css("table.orders tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one order for two clicks");
    check(&client, "12-order-history").await;

    client
        .find(Locator::LinkText("Account"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("ul.addresses"))
        .await
        .unwrap();
    let account = text(&client).await;
    assert!(
        account.contains("12 Analytical Row"),
        "the address is saved: {account}"
    );
    check(&client, "13-account").await;

    // Cancel the order from its page.
    client.back().await.unwrap();
    client
        .find(Locator::Css("table.orders tbody a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(&client, "form.cancel", ".status.cancelled").await;
    let cancelled = text(&client).await;
    assert!(cancelled.contains("You cancelled it."), "{cancelled}");
    assert!(
        client.find(Locator::Css("form.cancel")).await.is_err(),
        "a cancelled order cannot be cancelled again"
    );
    check(&client, "14-order-cancelled").await;

    client.close().await.unwrap();
}
