//! Carts in Redis: one hash per cart, variant id → quantity, under the service's key prefix
//! (`cart:user:<user id>` or `cart:anonymous:<cart id>`), expiring [`crate::config::Settings::ttl`]
//! after the last use (every read and write pushes the expiry back).
//!
//! Every change is one Lua script, so concurrent changes to a cart never lose an update (50
//! concurrent adds of one unit make a quantity of 50) and the bounds hold under concurrency: at
//! most `cap` units of a line (the variant's stock, at most the configured maximum), at most
//! `max_lines` lines.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kit::redis::{RedisError, RedisStore};
use redis::Script;
use uuid::Uuid;

/// A cart's lines: variant id → quantity.
pub type Lines = BTreeMap<Uuid, u32>;

/// Lines as Redis keeps them (fields that are not variant ids are ignored).
fn parse_lines(raw: BTreeMap<String, u32>) -> Lines {
    raw.into_iter()
        .filter_map(|(variant, quantity)| Some((variant.parse().ok()?, quantity)))
        .collect()
}

/// Whose cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    User(Uuid),
    Anonymous(Uuid),
}

impl Owner {
    fn suffix(self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Anonymous(id) => format!("anonymous:{id}"),
        }
    }

    /// The cart as the `cart.v1` events name it.
    pub fn event_ref(self) -> events::cart::CartRef {
        match self {
            Self::User(id) => events::cart::CartRef {
                user_id: Some(id),
                anonymous_id: None,
            },
            Self::Anonymous(id) => events::cart::CartRef {
                user_id: None,
                anonymous_id: Some(id),
            },
        }
    }
}

/// Adds `ARGV[2]` units of `ARGV[1]` unless the line would exceed `ARGV[3]` or the cart would
/// exceed `ARGV[5]` lines. Returns `{status, quantity, lines}`: status 1 done (quantity after), 0
/// over the line cap (quantity now), -1 too many lines; the cart's lines after it.
const ADD: &str = include_str!("lua/add.lua");

/// Sets `ARGV[1]` to `ARGV[2]` units (0 removes it), with the same bounds as [`ADD`]. Returns
/// `{status, quantity before, lines}`.
const SET: &str = include_str!("lua/set.lua");

/// Moves the lines of `KEYS[2]` into `KEYS[1]`: each line's quantity becomes the sum, capped by
/// the cap given for it (`ARGV[3..]`, pairs of variant and cap); lines past `ARGV[2]` lines are
/// dropped. Deletes `KEYS[2]`. Returns how many lines changed.
const MERGE: &str = include_str!("lua/merge.lua");

/// What a bounded change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Done; the line's quantity before and after.
    Done { before: u32, after: u32 },
    /// The line would exceed its cap; its quantity now.
    OverCap(u32),
    /// The cart has as many lines as it may.
    TooManyLines,
}

/// The carts. Cheap to clone.
#[derive(Clone)]
pub struct Carts {
    redis: RedisStore,
    ttl_ms: u64,
    max_lines: u32,
    scripts: Arc<[Script; 3]>,
}

impl Carts {
    pub fn new(redis: RedisStore, ttl: Duration, max_lines: u32) -> Self {
        Self {
            redis,
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            max_lines,
            scripts: Arc::new([Script::new(ADD), Script::new(SET), Script::new(MERGE)]),
        }
    }

    fn key(&self, owner: Owner) -> String {
        self.redis.key(&owner.suffix())
    }

    /// The lines of a cart (pushing its expiry back).
    pub async fn lines(&self, owner: Owner) -> Result<BTreeMap<Uuid, u32>, RedisError> {
        let key = self.key(owner);
        let mut conn = self.redis.conn().await?;
        let (raw,): (BTreeMap<String, u32>,) = redis::pipe()
            .hgetall(&key)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(self.ttl_ms)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(parse_lines(raw))
    }

    /// Adds `quantity` units of `variant`, at most `cap` in the line. Returns what it did and
    /// the cart's lines after it.
    pub async fn add(
        &self,
        owner: Owner,
        variant: Uuid,
        quantity: u32,
        cap: u32,
    ) -> Result<(Change, Lines), RedisError> {
        let (status, count, lines) = self.run(0, owner, variant, quantity, cap).await?;
        let change = match status {
            1 => Change::Done {
                before: count - quantity,
                after: count,
            },
            0 => Change::OverCap(count),
            _ => Change::TooManyLines,
        };
        Ok((change, lines))
    }

    /// Sets the line of `variant` to `quantity` (0 removes it); raising it past `cap` is refused.
    /// Returns what it did and the cart's lines after it.
    pub async fn set(
        &self,
        owner: Owner,
        variant: Uuid,
        quantity: u32,
        cap: u32,
    ) -> Result<(Change, Lines), RedisError> {
        let (status, before, lines) = self.run(1, owner, variant, quantity, cap).await?;
        let change = match status {
            1 => Change::Done {
                before,
                after: quantity,
            },
            0 => Change::OverCap(before),
            _ => Change::TooManyLines,
        };
        Ok((change, lines))
    }

    async fn run(
        &self,
        script: usize,
        owner: Owner,
        variant: Uuid,
        quantity: u32,
        cap: u32,
    ) -> Result<(i64, u32, Lines), RedisError> {
        let mut conn = self.redis.conn().await?;
        let (status, count, raw): (i64, i64, BTreeMap<String, u32>) = self.scripts[script]
            .key(self.key(owner))
            .arg(variant.to_string())
            .arg(quantity)
            .arg(cap)
            .arg(self.ttl_ms)
            .arg(self.max_lines)
            .invoke_async(&mut conn)
            .await?;
        Ok((status, u32::try_from(count).unwrap_or(0), parse_lines(raw)))
    }

    /// Empties a cart; returns the lines it had.
    pub async fn clear(&self, owner: Owner) -> Result<BTreeMap<Uuid, u32>, RedisError> {
        let lines = self.lines(owner).await?;
        self.redis.delete(&owner.suffix()).await?;
        Ok(lines)
    }

    /// Moves an anonymous cart into a user's, each line capped by `caps` (variants missing from
    /// `caps` are dropped); returns how many lines changed.
    pub async fn merge(
        &self,
        user: Uuid,
        anonymous: Uuid,
        caps: &BTreeMap<Uuid, u32>,
    ) -> Result<u32, RedisError> {
        let mut conn = self.redis.conn().await?;
        let mut invocation = self.scripts[2].key(self.key(Owner::User(user)));
        invocation
            .key(self.key(Owner::Anonymous(anonymous)))
            .arg(self.ttl_ms)
            .arg(self.max_lines);
        for (variant, cap) in caps {
            invocation.arg(variant.to_string()).arg(*cap);
        }
        let changed: u32 = invocation.invoke_async(&mut conn).await?;
        Ok(changed)
    }
}
