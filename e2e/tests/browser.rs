//! The browse journey in a real browser: headless Chromium driven over WebDriver (chromedriver,
//! from Debian's `chromium` and `chromium-driver`; `.ci/run` installs them). Home, a category, a
//! search with a typo, a product, add to the cart as a guest, sign up, and the cart still holds
//! the line. Every page is checked for what assistive technology needs (landmarks, labels, alt
//! text, a heading) and saved as a screenshot under `<target>/screenshots/`.

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
async fn a_guest_browses_fills_a_cart_and_keeps_it_after_signing_up() {
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
        .find(Locator::LinkText("create an account"))
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
    client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(&email)
        .await
        .unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("correct horse battery staple")
        .await
        .unwrap();
    client
        .find(Locator::Css(".account-form button[type=submit]"))
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
    assert!(
        cart.contains("Subtotal (2 items): $25.00"),
        "the guest's cart is the account's: {cart}"
    );
    let header = client
        .find(Locator::Css("header"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(header.contains(&email), "signed in: {header}");
    check(&client, "07-cart-signed-in").await;

    client.close().await.unwrap();
}
