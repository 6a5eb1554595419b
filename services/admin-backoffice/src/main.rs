//! The admin-backoffice binary: configuration, telemetry, then the application until a stop signal.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    kit::app::main::<admin_backoffice::Application>().await
}
