//! `cargo xtask load`: drives a running platform through its API gateway with weighted shopper
//! journeys, after Online Boutique's load generator: a bounded number of virtual users, each
//! picking its next step by weight (browse a product ten times as often as it checks out) for a
//! bounded time, with a progress line, then a summary per step: requests per second, p50, p95
//! and p99 latency, and errors by status.
//!
//! | step | weight | requests |
//! |---|---:|---|
//! | home | 1 | `GET /v1/products?featured=true` |
//! | browse | 3 | `GET /v1/products?category=…` |
//! | search | 2 | `GET /v1/products?q=…` |
//! | product | 10 | `GET /v1/products/{id}` |
//! | add to cart | 2 | `POST /v1/carts/{cart}/items` |
//! | view cart | 3 | `GET /v1/carts/{cart}` |
//! | sign in | 1 | `POST /v1/auth/signup` (once per user), `POST /v1/auth/signin` |
//! | checkout | 1 | `POST /v1/orders` (test card, `Idempotency-Key`), `DELETE /v1/carts/mine` |
//!
//! A user signs in once (after that, "sign in" is skipped) and checks out only when signed in
//! with something in the cart; its accounts are `load-<n>@load.example.com`, made on first use.
//! Locally (`cargo xtask up`) the per-IP rate limits are lifted, because every client is
//! 127.0.0.1; against another platform its limits apply and their 429s show in the summary.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use rand::Rng as _;
use serde_json::{Value, json};
use uuid::Uuid;

/// Arguments of `cargo xtask load`.
#[derive(Debug, Args)]
pub struct Load {
    /// The API gateway to drive (default: the local one `cargo xtask up` starts).
    #[arg(long)]
    pub api: Option<String>,
    /// Virtual users, each running one journey step after another.
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// How long to run, e.g. `30s`, `2m`.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
}

/// A journey step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Home,
    Browse,
    Search,
    Product,
    AddToCart,
    ViewCart,
    SignIn,
    Checkout,
}

/// Steps with their weights (Online Boutique's proportions, with search and sign-in added).
const WEIGHTS: &[(Step, u32)] = &[
    (Step::Home, 1),
    (Step::Browse, 3),
    (Step::Search, 2),
    (Step::Product, 10),
    (Step::AddToCart, 2),
    (Step::ViewCart, 3),
    (Step::SignIn, 1),
    (Step::Checkout, 1),
];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Browse => "browse",
            Self::Search => "search",
            Self::Product => "product",
            Self::AddToCart => "add to cart",
            Self::ViewCart => "view cart",
            Self::SignIn => "sign in",
            Self::Checkout => "checkout",
        }
    }

    /// A step drawn by weight.
    fn draw(rng: &mut impl rand::Rng) -> Self {
        let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut pick = rng.gen_range(0..total);
        for (step, weight) in WEIGHTS {
            if pick < *weight {
                return *step;
            }
            pick -= weight;
        }
        Step::Product
    }
}

/// Words a shopper searches for (some misspelt, as people type).
const SEARCHES: &[&str] = &[
    "mug", "blue", "shirt", "poster", "notebook", "sock", "cap", "bag", "mgu",
];

/// What every user shares: the catalogue to pick from, and the outcomes.
struct Shared {
    api: String,
    http: reqwest::Client,
    categories: Vec<String>,
    /// Product ids with a variant in stock: (product, variant).
    products: Vec<(String, String)>,
    outcomes: Mutex<BTreeMap<Step, Outcomes>>,
}

/// The outcomes of one step: latencies of answers under 400, and statuses of the others.
#[derive(Default)]
struct Outcomes {
    ok_ms: Vec<f64>,
    errors: BTreeMap<String, u64>,
}

impl Shared {
    fn record(&self, step: Step, started: Instant, outcome: Result<u16, String>) {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut outcomes = self.outcomes.lock().expect("not poisoned");
        let entry = outcomes.entry(step).or_default();
        match outcome {
            Ok(status) if status < 400 => entry.ok_ms.push(ms),
            Ok(status) => *entry.errors.entry(status.to_string()).or_default() += 1,
            Err(kind) => *entry.errors.entry(kind).or_default() += 1,
        }
    }

    fn totals(&self) -> (u64, u64) {
        let outcomes = self.outcomes.lock().expect("not poisoned");
        outcomes.values().fold((0, 0), |(ok, err), o| {
            (
                ok + o.ok_ms.len() as u64,
                err + o.errors.values().sum::<u64>(),
            )
        })
    }
}

/// One virtual user.
struct User {
    n: usize,
    cart: Uuid,
    token: Option<String>,
    in_cart: Vec<String>,
}

pub fn run(args: &Load) -> anyhow::Result<()> {
    if args.users == 0 || args.duration.is_zero() {
        bail!("--users and --duration must be more than zero");
    }
    let api = match &args.api {
        Some(api) => api.trim_end_matches('/').to_owned(),
        None => {
            let platform = crate::load_platform()?;
            let gateway = &platform.services[&platform.gateway];
            format!("http://127.0.0.1:{}", gateway.port)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(drive(args, api))
}

async fn drive(args: &Load, api: String) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let (categories, products) = catalogue(&http, &api).await?;
    let shared = Arc::new(Shared {
        api,
        http,
        categories,
        products,
        outcomes: Mutex::new(BTreeMap::new()),
    });
    eprintln!(
        "==> {} users for {} against {} ({} products in stock to pick from)",
        args.users,
        humantime::format_duration(args.duration),
        shared.api,
        shared.products.len()
    );
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut users = tokio::task::JoinSet::new();
    for n in 0..args.users {
        let shared = shared.clone();
        users.spawn(async move {
            let mut user = User {
                n,
                cart: Uuid::new_v4(),
                token: None,
                in_cart: Vec::new(),
            };
            while Instant::now() < deadline {
                let step = Step::draw(&mut rand::thread_rng());
                user.step(&shared, step).await;
            }
        });
    }
    let tty = std::io::stderr().is_terminal();
    let mut last_line = Instant::now();
    while !users.is_empty() {
        let tick = tokio::time::sleep(Duration::from_millis(250));
        tokio::select! {
            _ = users.join_next() => {}
            () = tick => {}
        }
        let elapsed = started.elapsed().min(args.duration);
        let (ok, errors) = shared.totals();
        let line = progress(elapsed, args.duration, ok, errors);
        if tty {
            eprint!("\r{line}");
            let _ = std::io::stderr().flush();
        } else if last_line.elapsed() >= Duration::from_secs(5) {
            eprintln!("{line}");
            last_line = Instant::now();
        }
    }
    if tty {
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    let outcomes = shared.outcomes.lock().expect("not poisoned");
    println!("{}", summary(&outcomes, seconds));
    let (ok, errors) = outcomes.values().fold((0u64, 0u64), |(ok, err), o| {
        (
            ok + o.ok_ms.len() as u64,
            err + o.errors.values().sum::<u64>(),
        )
    });
    if ok == 0 {
        bail!("no request succeeded ({errors} failed)");
    }
    Ok(())
}

/// `[#####.....] 12s/30s  1234 ok  5 errors  98 req/s`
fn progress(elapsed: Duration, total: Duration, ok: u64, errors: u64) -> String {
    const WIDTH: usize = 30;
    let done = (elapsed.as_secs_f64() / total.as_secs_f64()).clamp(0.0, 1.0);
    let filled = (done * WIDTH as f64).round() as usize;
    let rate = (ok + errors) as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "[{}{}] {:>4}s/{}s  {ok} ok  {errors} errors  {rate:.0} req/s ",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        elapsed.as_secs(),
        total.as_secs(),
    )
}

/// The per-step table.
fn summary(outcomes: &BTreeMap<Step, Outcomes>, seconds: f64) -> String {
    let mut out = String::from(
        "\n| step | requests | req/s | p50 | p95 | p99 | errors |\n|---|---:|---:|---:|---:|---:|---|\n",
    );
    for (step, o) in outcomes {
        let mut ms = o.ok_ms.clone();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if ms.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.1} ms", crate::bench::percentile(&ms, q))
            }
        };
        let failed: u64 = o.errors.values().sum();
        let total = ms.len() as u64 + failed;
        let errors = if o.errors.is_empty() {
            "-".to_owned()
        } else {
            o.errors
                .iter()
                .map(|(status, n)| format!("{status}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | {total} | {:.1} | {} | {} | {} | {errors} |\n",
            step.name(),
            total as f64 / seconds,
            at(0.5),
            at(0.95),
            at(0.99),
        ));
    }
    out
}

/// The categories, and the products with a variant in stock.
async fn catalogue(
    http: &reqwest::Client,
    api: &str,
) -> anyhow::Result<(Vec<String>, Vec<(String, String)>)> {
    let categories: Value = http
        .get(format!("{api}/v1/categories"))
        .send()
        .await
        .with_context(|| format!("no API at {api}: is `cargo xtask up` running?"))?
        .error_for_status()
        .with_context(|| format!("{api}/v1/categories failed"))?
        .json()
        .await?;
    let categories: Vec<String> = categories
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["slug"].as_str().map(str::to_owned))
        .collect();
    let products = in_stock(http, api, 50).await?;
    if products.is_empty() {
        bail!("the catalogue at {api} has no product in stock: load it with `cargo xtask seed`");
    }
    Ok((categories, products))
}

/// Up to `limit` products with a variant in stock: (product id, variant id).
pub(crate) async fn in_stock(
    http: &reqwest::Client,
    api: &str,
    limit: u32,
) -> anyhow::Result<Vec<(String, String)>> {
    let page: Value = http
        .get(format!("{api}/v1/products?in_stock=true&limit={limit}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut products = Vec::new();
    for item in page["items"].as_array().into_iter().flatten() {
        let Some(id) = item["id"].as_str() else {
            continue;
        };
        let product: Value = http
            .get(format!("{api}/v1/products/{id}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let variant = product["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["stock"].as_i64().is_some_and(|s| s > 0))
            .and_then(|v| v["id"].as_str());
        if let Some(variant) = variant {
            products.push((id.to_owned(), variant.to_owned()));
        }
    }
    Ok(products)
}

impl User {
    /// Runs `step` (or the one it needs first), recording each request.
    async fn step(&mut self, shared: &Shared, step: Step) {
        let api = &shared.api;
        let pick = |items: usize| rand::thread_rng().gen_range(0..items.max(1));
        match step {
            Step::Home => {
                let url = format!("{api}/v1/products?featured=true&limit=12");
                self.get(shared, step, &url).await;
            }
            Step::Browse if !shared.categories.is_empty() => {
                let category = &shared.categories[pick(shared.categories.len())];
                let url = format!("{api}/v1/products?category={category}&limit=12");
                self.get(shared, step, &url).await;
            }
            Step::Browse | Step::Search => {
                let q = SEARCHES[pick(SEARCHES.len())];
                let url = format!("{api}/v1/products?q={q}&limit=12");
                self.get(shared, Step::Search, &url).await;
            }
            Step::Product => {
                let (product, _) = &shared.products[pick(shared.products.len())];
                self.get(shared, step, &format!("{api}/v1/products/{product}"))
                    .await;
            }
            Step::AddToCart => {
                let (_, variant) = &shared.products[pick(shared.products.len())];
                let body = json!({"variant_id": variant, "quantity": 1});
                let url = format!("{}/items", self.cart_url(api));
                let request = self.authorized(shared.http.post(&url)).json(&body);
                if self.send(shared, step, request).await.is_some() {
                    self.in_cart.push(variant.clone());
                }
            }
            Step::ViewCart => {
                let url = self.cart_url(api);
                self.get(shared, step, &url).await;
            }
            Step::SignIn if self.token.is_none() => self.sign_in(shared).await,
            Step::SignIn => {}
            Step::Checkout if self.token.is_none() => self.sign_in(shared).await,
            Step::Checkout if self.in_cart.is_empty() => {}
            Step::Checkout => self.checkout(shared).await,
        }
    }

    fn cart_url(&self, api: &str) -> String {
        if self.token.is_some() {
            format!("{api}/v1/carts/mine")
        } else {
            format!("{api}/v1/carts/{}", self.cart)
        }
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn get(&self, shared: &Shared, step: Step, url: &str) -> Option<Value> {
        let request = self.authorized(shared.http.get(url));
        self.send(shared, step, request).await
    }

    /// Sends `request` and records it under `step`; the answer's JSON when it succeeded.
    async fn send(
        &self,
        shared: &Shared,
        step: Step,
        request: reqwest::RequestBuilder,
    ) -> Option<Value> {
        let started = Instant::now();
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.json::<Value>().await.ok();
                shared.record(step, started, Ok(status));
                (status < 400).then(|| body.unwrap_or(Value::Null))
            }
            Err(error) => {
                let kind = if error.is_timeout() {
                    "timeout"
                } else {
                    "connection"
                };
                shared.record(step, started, Err(kind.to_owned()));
                None
            }
        }
    }

    /// Signs up (the first time; an account that exists is fine) and in; the guest cart is then
    /// left behind, as a shopper on a new device would.
    async fn sign_in(&mut self, shared: &Shared) {
        let api = &shared.api;
        let email = format!("load-{}@load.example.com", self.n);
        let body = json!({"email": email, "password": "correct horse battery staple"});
        let started = Instant::now();
        let signup = shared
            .http
            .post(format!("{api}/v1/auth/signup"))
            .json(&body)
            .send()
            .await;
        match signup {
            // 409: the account is there from an earlier run.
            Ok(r) if r.status().is_success() || r.status() == 409 => {}
            Ok(r) => {
                shared.record(Step::SignIn, started, Ok(r.status().as_u16()));
                return;
            }
            Err(_) => {
                shared.record(Step::SignIn, started, Err("connection".to_owned()));
                return;
            }
        }
        let request = shared
            .http
            .post(format!("{api}/v1/auth/signin"))
            .json(&body);
        if let Some(tokens) = self.send(shared, Step::SignIn, request).await {
            self.token = tokens["access_token"].as_str().map(str::to_owned);
            self.in_cart.clear();
        }
    }

    /// Checks out the cart's lines with the test card that is authorized, then empties it.
    async fn checkout(&mut self, shared: &Shared) {
        let api = &shared.api;
        let mut lines: BTreeMap<&str, u32> = BTreeMap::new();
        for variant in &self.in_cart {
            *lines.entry(variant).or_default() += 1;
        }
        let body = json!({
            "lines": lines.iter().map(|(v, q)| json!({"variant_id": v, "quantity": q})).collect::<Vec<_>>(),
            "shipping_address": {"name": "Load Tester", "line1": "1 Test Street", "city": "London",
                                 "postal_code": "NW1 6XE", "country": "GB"},
            "payment": {"number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123"},
        });
        let request = self
            .authorized(shared.http.post(format!("{api}/v1/orders")))
            .header("idempotency-key", Uuid::new_v4().to_string())
            .json(&body);
        self.send(shared, Step::Checkout, request).await;
        // Placed or refused (sold out), the next journey starts from an empty cart.
        let clear = self.authorized(shared.http.delete(format!("{api}/v1/carts/mine")));
        let _ = clear.send().await;
        self.in_cart.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_drawn_by_weight() {
        let mut rng = rand::thread_rng();
        let mut counts: BTreeMap<Step, u32> = BTreeMap::new();
        for _ in 0..23_000 {
            *counts.entry(Step::draw(&mut rng)).or_default() += 1;
        }
        // Weights sum to 23: product (10) about 10 000 times, checkout (1) about 1 000.
        assert!(
            (9_000..11_000).contains(&counts[&Step::Product]),
            "{counts:?}"
        );
        assert!(
            (700..1_300).contains(&counts[&Step::Checkout]),
            "{counts:?}"
        );
    }

    #[test]
    fn the_summary_has_a_row_per_step_with_errors_by_status() {
        let mut outcomes = BTreeMap::new();
        outcomes.insert(
            Step::Product,
            Outcomes {
                ok_ms: (1..=100).map(f64::from).collect(),
                errors: BTreeMap::from([("429".to_owned(), 3)]),
            },
        );
        let table = summary(&outcomes, 10.0);
        assert!(
            table.contains("| product | 103 | 10.3 | 51.0 ms | 95.0 ms | 99.0 ms | 429: 3 |"),
            "{table}"
        );
        assert!(
            progress(Duration::from_secs(15), Duration::from_secs(30), 90, 10).starts_with(
                "[###############...............]   15s/30s  90 ok  10 errors  7 req/s"
            )
        );
    }
}
