//! The shop, started for a test: auth, product, cart, offer, order, user, notification, the API
//! gateway and the storefront, each the real application on a free port against its own fresh
//! stores (`kit::testing::TestApp`) and the test's embedded Kafka broker, wired as platform.toml
//! wires them (the storefront calls the gateway, the gateway the services, cart calls product,
//! order calls product and offer, every verifier fetches auth's JWKS, notification sends to a
//! local mail sink), with the demo catalogue loaded through the API by `cargo xtask seed`'s own
//! code.

use std::time::Duration;

use kit::config::TokenSettings;
use kit::testing::TestApp;
use secrecy::ExposeSecret as _;

/// The running shop.
pub struct Shop {
    pub auth: TestApp,
    pub product: TestApp,
    pub cart: TestApp,
    pub offer: TestApp,
    pub order: TestApp,
    pub user: TestApp,
    pub notification: TestApp,
    /// Where notification's e-mail goes.
    pub mail: kit::mailsink::MailSink,
    pub gateway: TestApp,
    pub storefront: TestApp,
    /// The admin account seeded, and its password.
    pub admin: (String, String),
}

impl Shop {
    /// Starts every service and loads the demo catalogue; order pays with the local test-mode
    /// provider (cards typed into the storefront).
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_paying_with(order::Settings::local(), None).await
    }

    /// The shop with order's payment provider configured by `payments` (e.g. Stripe's stand-in,
    /// `order::testing::FakeStripe`), and the storefront at `public_origin` (where a payment
    /// page sends shoppers back).
    pub async fn start_paying_with(
        payments: order::Settings,
        public_origin: Option<String>,
    ) -> anyhow::Result<Self> {
        let mut auth_settings = auth_settings();
        auth_settings.password_cost = auth::passwords::PasswordCost::INSECURE_FOR_TESTS;
        let auth = TestApp::builder(auth_settings)
            .configure(|c| c.trusted_proxy_hops = 1)
            .spawn(
                auth::Application::build,
                auth::Application::run_until_stopped,
            )
            .await;
        let signer = auth.signer();
        let tokens = TokenSettings {
            issuer: signer.issuer.clone(),
            audience: signer.audience.clone(),
            jwks_url: Some(auth.url("/.well-known/jwks.json")),
        };
        let product = TestApp::builder(product::Settings::default())
            .tokens(tokens.clone())
            .configure(|c| c.trusted_proxy_hops = 1)
            .spawn(
                product::Application::build,
                product::Application::run_until_stopped,
            )
            .await;
        let cart = TestApp::builder(cart::Settings::default())
            .tokens(tokens.clone())
            .call("product", &product.address)
            .configure(|c| c.trusted_proxy_hops = 1)
            .spawn(
                cart::Application::build,
                cart::Application::run_until_stopped,
            )
            .await;
        let offer = TestApp::builder(offer::Settings {})
            .tokens(tokens.clone())
            .configure(|c| c.trusted_proxy_hops = 1)
            .spawn(
                offer::Application::build,
                offer::Application::run_until_stopped,
            )
            .await;
        let shop_origin = public_origin.clone();
        let order = TestApp::builder(payments)
            .configure(move |c| c.storefront_origin = shop_origin)
            .tokens(tokens.clone())
            .call("product", &product.address)
            .call("offer", &offer.address)
            .configure(|c| c.trusted_proxy_hops = 1)
            .spawn(
                order::Application::build,
                order::Application::run_until_stopped,
            )
            .await;
        let user = TestApp::builder(user::Settings {})
            .tokens(tokens.clone())
            .configure(|c| c.trusted_proxy_hops = 1)
            .spawn(
                user::Application::build,
                user::Application::run_until_stopped,
            )
            .await;
        let mail_shutdown = kit::Shutdown::new();
        let mail = kit::mailsink::MailSink::start(0, &mail_shutdown).await?;
        // The sink lives as long as the test process.
        std::mem::forget(mail_shutdown);
        let notification = TestApp::builder(notification::Settings {
            smtp_relay: mail.url().into(),
            mail_from: "Shop <no-reply@shop.example.com>".to_owned(),
        })
        .spawn(
            notification::Application::build,
            notification::Application::run_until_stopped,
        )
        .await;
        let gateway = TestApp::builder(api_gateway::Settings::default())
            .tokens(tokens.clone())
            .call("auth", &auth.address)
            .call("product", &product.address)
            .call("cart", &cart.address)
            .call("offer", &offer.address)
            .call("order", &order.address)
            .call("user", &user.address)
            .spawn(
                api_gateway::Application::build,
                api_gateway::Application::run_until_stopped,
            )
            .await;
        let storefront = TestApp::builder(storefront::Settings {
            session_key: "e2e-storefront-session-key-of-at-least-32-bytes"
                .to_owned()
                .into(),
        })
        .tokens(tokens)
        .call("api-gateway", &gateway.address)
        .configure(move |c| c.public_origin = public_origin)
        .spawn(
            storefront::Application::build,
            storefront::Application::run_until_stopped,
        )
        .await;

        let auth_database_url = auth
            .db
            .as_ref()
            .expect("auth has a database")
            .url
            .expose_secret()
            .to_owned();
        let target = xtask::seed::target(gateway.address.clone(), auth_database_url)?;
        xtask::seed::seed(&target, &mut |_| {}).await?;
        Ok(Self {
            auth,
            product,
            cart,
            offer,
            order,
            user,
            notification,
            mail,
            gateway,
            storefront,
            admin: (target.admin_email, target.admin_password),
        })
    }

    /// A client that keeps cookies, as a browser does, and does not follow redirects (a test
    /// checks each).
    pub fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client builds")
    }
}

fn auth_settings() -> auth::Settings {
    let key = auth::domain::SigningKey::generate();
    let mut env = kit::config::Env::from_map(
        [(
            "AUTH_SIGNING_KEY".to_owned(),
            key.to_pem().expose_secret().to_owned(),
        )]
        .into(),
    );
    let settings =
        <auth::Settings as kit::config::Settings>::read(&mut env).expect("valid auth settings");
    env.finish().expect("valid auth settings");
    settings
}
