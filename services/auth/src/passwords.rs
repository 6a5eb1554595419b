//! Password hashing with Argon2id, off the async runtime and bounded in memory.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`): they carry their own
//! parameters, so raising the cost later still verifies old hashes. Each hash takes ~19 MiB and
//! tens of milliseconds of CPU, so it runs on the blocking pool behind a semaphore of one permit
//! per core: a burst of sign-ins queues instead of exhausting the pod's memory. Verifying for an
//! unknown account checks against a dummy hash made at start, so "no such user" and "wrong
//! password" take the same time.

use std::sync::Arc;

use anyhow::Context as _;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::domain::NewPassword;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordCost {
    /// OWASP's recommended minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest parameters Argon2 allows. Only for tests: every test signs users up and in,
    /// and unoptimised debug builds hash far slower than release ones.
    pub const INSECURE_FOR_TESTS: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    dummy_hash: Arc<str>,
    permits: Arc<Semaphore>,
}

impl Passwords {
    /// Sets up hashing with `cost` and computes the dummy hash (blocking; call at start).
    pub fn new(cost: PasswordCost) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash_with(&argon2, "dummy password for unknown accounts")?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            argon2,
            dummy_hash: dummy_hash.into(),
            permits: Arc::new(Semaphore::new(cores)),
        })
    }

    /// The PHC string to store for `password`.
    pub async fn hash(&self, password: &NewPassword) -> anyhow::Result<String> {
        let password = SecretString::from(password.expose());
        let argon2 = self.argon2.clone();
        self.blocking(move || hash_with(&argon2, password.expose_secret()))
            .await?
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown account) it does the
    /// same work against the dummy hash and answers false.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.clone();
        let argon2 = self.argon2.clone();
        let matches = self
            .blocking(move || {
                let parsed = PasswordHash::new(&hash).map_err(|e| {
                    anyhow::anyhow!("stored password hash is not a PHC string: {e}")
                })?;
                Ok::<_, anyhow::Error>(
                    argon2
                        .verify_password(password.expose_secret().as_bytes(), &parsed)
                        .is_ok(),
                )
            })
            .await??;
        Ok(known && matches)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password hashing is shutting down")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing task failed")
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_password(text: &str) -> NewPassword {
        NewPassword::parse(text.to_owned().into(), None).expect("meets the policy")
    }

    #[tokio::test]
    async fn hashes_with_argon2id_at_the_configured_cost() {
        let passwords = Passwords::new(PasswordCost::OWASP).expect("valid");
        let hash = passwords
            .hash(&new_password("a long passphrase"))
            .await
            .expect("hashes");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let passwords = Passwords::new(PasswordCost::INSECURE_FOR_TESTS).expect("valid");
        let hash = passwords
            .hash(&new_password("a long passphrase"))
            .await
            .expect("hashes");
        let (right, wrong) = (
            SecretString::from("a long passphrase"),
            SecretString::from("a long passphrasE"),
        );
        assert!(
            passwords
                .verify(&right, Some(&hash))
                .await
                .expect("verifies")
        );
        assert!(
            !passwords
                .verify(&wrong, Some(&hash))
                .await
                .expect("verifies")
        );
        let unknown = passwords.verify(&right, None).await.expect("verifies");
        assert!(!unknown, "no account, no match");
    }
}
