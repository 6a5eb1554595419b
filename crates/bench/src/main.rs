//! `bench-server bare|kit`: the two servers `cargo xtask bench` compares to find what the kit's
//! stack costs per request.
//!
//! - `bare`: axum alone, one handler answering `GET /v1/static` with a small static JSON body:
//!   the baseline, as fast as axum serves on this machine.
//! - `kit`: the same handler as a kit service (`kit::app::main`, no stores): request ids, trace
//!   context, the request span, the timeout, per-route metrics, the access log, panic catching
//!   and the body limit, exactly as every service runs them.
//!
//! Both listen on `PORT` on 127.0.0.1; the kit one reads the rest of its settings as services do.

use axum::Router;
use axum::routing::get;
use kit::app::{Api, Dependencies, Manifest, Opened, Runtime, Server, Tokens};
use kit::openapi::Conventions;
use utoipa::OpenApi as _;

/// The body both answer.
fn body() -> serde_json::Value {
    serde_json::json!({"id": "0192f0c1-7a3e-7c4d-8e5f-000000000001", "name": "Blue mug", "price": {"amount": 1250, "currency": "USD"}})
}

#[utoipa::path(get, path = "/v1/static", responses((status = 200, description = "A static body")))]
async fn static_json() -> kit::extract::Json<serde_json::Value> {
    kit::extract::Json(body())
}

#[derive(utoipa::OpenApi)]
#[openapi(info(title = "bench-server"), paths(static_json), modifiers(&Conventions))]
struct ApiDoc;

/// A service that declares nothing.
#[derive(Clone)]
struct Platform {
    runtime: Runtime,
}

impl Dependencies for Platform {
    const MANIFEST: Manifest = Manifest {
        name: "bench-server",
        postgres: false,
        migrations: None,
        redis: false,
        produces: &[],
        consumes: &[],
        calls: &[],
        tokens: Tokens::None,
    };

    fn assemble(opened: Opened) -> Self {
        Self {
            runtime: opened.runtime,
        }
    }
}

async fn build(config: kit::config::Config<()>, platform: Platform) -> anyhow::Result<Server> {
    let api = Api::new(
        ApiDoc::openapi(),
        Router::new().route("/v1/static", get(static_json)),
    );
    Server::bind(api, &config.common, &platform.runtime).await
}

async fn bare() -> anyhow::Result<()> {
    #[allow(clippy::disallowed_methods)] // the baseline reads its port as plainly as it serves
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8079);
    let router = Router::new().route("/v1/static", get(|| async { axum::Json(body()) }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
            }
        })
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("bare") => match bare().await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("bench-server bare: {error:#}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("kit") => kit::app::main(build, Server::run_until_stopped).await,
        _ => {
            eprintln!("usage: bench-server bare|kit");
            std::process::ExitCode::from(2)
        }
    }
}
