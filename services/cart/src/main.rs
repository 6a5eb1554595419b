//! The cart binary: the kit reads the configuration, opens what the service declares and
//! runs the application until a stop signal.

use cart::Application;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    kit::app::main(Application::build, Application::run_until_stopped).await
}
