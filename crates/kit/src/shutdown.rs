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

    /// Spawns a tracked task that runs `work` after `first`, then every `then`, until shutdown:
    /// a sweeper, a pruner. A run under way when shutdown begins finishes (shutdown waits for it,
    /// within the grace period); none starts after.
    pub fn every<F, Fut>(&self, first: Duration, then: Duration, mut work: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = self.token.clone();
        self.spawn(async move {
            let mut pause = first;
            loop {
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                work().await;
                pause = then;
            }
        });
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn every_runs_after_a_first_pause_then_periodically_and_stops_at_shutdown() {
        let shutdown = Shutdown::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        shutdown.every(
            Duration::from_millis(200),
            Duration::from_millis(20),
            move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            },
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0, "not before the first pause");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(runs.load(Ordering::SeqCst) >= 3, "then every 20 ms");
        shutdown.trigger();
        assert!(shutdown.wait(Duration::from_secs(1)).await, "it stops");
        let after = runs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs.load(Ordering::SeqCst), after, "none after shutdown");
    }
}
