//! Graceful shutdown: one [`Shutdown`] per process fans a stop signal out to every task.
//!
//! Workers (HTTP server, consumers, relays) are spawned on its [`TaskTracker`] and watch its
//! [`CancellationToken`]. On SIGTERM or Ctrl-C the token is cancelled: servers stop accepting and
//! drain, consumers commit and leave their group; `wait` then gives them the grace period before
//! the process exits anyway.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The process's stop signal and the set of tasks that must finish before exit.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// The token workers watch.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Resolves when shutdown has begun.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// Begins shutdown.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Spawns a tracked task: shutdown waits for it.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        #[allow(clippy::disallowed_methods)] // the one tracked spawner
        self.tracker.spawn(task)
    }

    /// Triggers shutdown on SIGTERM or Ctrl-C. Call once, from `main`.
    pub fn listen_for_signals(&self) {
        let token = self.token.clone();
        self.spawn(async move {
            tokio::select! {
                () = signal() => {
                    tracing::info!("shutdown signal received, draining");
                    token.cancel();
                }
                () = token.cancelled() => {}
            }
        });
    }

    /// Waits for every tracked task, at most `grace` after shutdown begins. Returns false when the
    /// grace period ran out first.
    pub async fn wait(&self, grace: Duration) -> bool {
        self.tracker.close();
        self.token.cancelled().await;
        match tokio::time::timeout(grace, self.tracker.wait()).await {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!(
                    remaining = self.tracker.len(),
                    "grace period over, exiting with tasks still running"
                );
                false
            }
        }
    }
}

async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
