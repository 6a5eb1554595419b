//! `spawn_app`: notification on a free port against fresh stores (see `kit::testing`), sending to
//! a mail sink of its own; and the events it consumes, as their producers publish them.

use kit::mailsink::MailSink;
pub use kit::testing::TestApp;
use notification::{Application, Settings};

pub struct App {
    pub app: TestApp,
    pub sink: MailSink,
    pub mailer: notification::emails::Mailer,
}

pub async fn spawn_app() -> App {
    let shutdown = kit::Shutdown::new();
    let sink = MailSink::start(0, &shutdown).await.expect("a mail sink");
    let settings = Settings {
        smtp_relay: sink.url().into(),
        mail_from: "Shop <no-reply@shop.example.com>".to_owned(),
    };
    let mailer =
        notification::emails::Mailer::new(&settings.smtp_relay, &settings.mail_from).unwrap();
    let app = TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await;
    // The sink lives as long as the test process.
    std::mem::forget(shutdown);
    App { app, sink, mailer }
}

/// `payload` in an envelope from `producer`, as the consumer reads it.
pub fn envelope<T: events::Event>(producer: &str, payload: T) -> events::RawEnvelope {
    let envelope = events::Envelope::new(producer, payload);
    serde_json::from_value(serde_json::to_value(envelope).unwrap()).unwrap()
}
