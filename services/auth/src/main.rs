//! The auth binary: configuration, telemetry, then the application until a stop signal.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    kit::app::main::<auth::Application>().await
}
