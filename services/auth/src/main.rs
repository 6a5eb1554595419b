//! The auth binary: reads configuration, starts the application, waits for a stop signal.

use auth::{Application, Config, NAME};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{NAME}: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let _telemetry = kit::telemetry::init(&config.common);
    let shutdown = kit::Shutdown::new();
    shutdown.listen_for_signals();
    let outcome = match Application::build(config, shutdown).await {
        Ok(app) => app.run_until_stopped().await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "{NAME} failed");
            eprintln!("{NAME}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
