//! The service's queries (its migrations are in `migrations/`, embedded by the rendered
//! `platform.rs` and applied by the kit at start).
//!
//! Tables: `users` (accounts), `refresh_tokens` (hashed refresh tokens grouped in families) and
//! the kit's `outbox` (events written in the same transaction as the change they record). Queries are
//! checked at run time (`sqlx::query_as`), so no offline query data has to be kept fresh.
//! Functions that must join a caller's transaction take `&mut PgConnection`.

use chrono::{DateTime, Utc};
use kit::jwt::Role;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::Email;

/// An account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    /// Normalised e-mail address.
    pub email: String,
    pub role: Role,
}

/// An account with its password hash, for sign-in only.
pub struct Credentials {
    pub user: User,
    /// PHC string of the Argon2id hash.
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    role: String,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;
    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let role = row
            .role
            .parse()
            .map_err(|e: String| sqlx::Error::Decode(e.into()))?;
        Ok(Self {
            id: row.id,
            email: row.email,
            role,
        })
    }
}

/// Inserts an account with the default role, inside the caller's transaction. Returns `None`
/// when the e-mail address is taken (a concurrent sign-up with the same address waits for the
/// first one's transaction, then gets `None`).
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn insert_user(
    conn: &mut PgConnection,
    id: Uuid,
    email: &Email,
    password_hash: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query_as::<_, UserRow>(
        "INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO NOTHING RETURNING id, email, role",
    )
    .bind(id)
    .bind(email.as_str())
    .bind(password_hash)
    .fetch_optional(conn)
    .await?;
    row.map(User::try_from).transpose()
}

/// The account with `email` and its password hash.
#[tracing::instrument(skip_all)]
pub async fn find_credentials(
    pool: &PgPool,
    email: &Email,
) -> Result<Option<Credentials>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: String,
    }
    let row = sqlx::query_as::<_, Row>(
        "SELECT id, email, role, password_hash FROM users WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Credentials {
            user: User::try_from(row.user)?,
            password_hash: row.password_hash,
        })
    })
    .transpose()
}

/// The account with `id`.
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn find_user(pool: &PgPool, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query_as::<_, UserRow>("SELECT id, email, role FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(User::try_from).transpose()
}

/// Stores a refresh token (by hash) in `family_id`.
#[tracing::instrument(skip_all, fields(user_id = %user_id, family_id = %family_id))]
pub async fn insert_refresh_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
    family_id: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(token_hash)
    .bind(family_id)
    .bind(user_id)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now rotated and its successor stored in the same family.
    Rotated { user: User, family_id: Uuid },
    /// The token had already been rotated: it was copied, so its family is now revoked.
    Reused { user_id: Uuid, family_id: Uuid },
    /// Unknown, expired or revoked.
    Rejected,
}

/// Rotates the refresh token hashed `old_hash` to `new_hash`, in one transaction that locks the
/// old token's row (`FOR UPDATE`): of two concurrent uses of one token, the second waits, then
/// sees it rotated and revokes the family.
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, family_id = tracing::field::Empty))]
pub async fn rotate_refresh_token(
    pool: &PgPool,
    old_hash: &[u8],
    new_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<Rotation, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        token_id: Uuid,
        family_id: Uuid,
        expired: bool,
        rotated: bool,
        revoked: bool,
        #[sqlx(flatten)]
        user: UserRow,
    }
    let mut tx = pool.begin().await?;
    let row = sqlx::query_as::<_, Row>(
        "SELECT t.id AS token_id, t.family_id, t.expires_at <= now() AS expired, \
                t.rotated_at IS NOT NULL AS rotated, t.revoked_at IS NOT NULL AS revoked, \
                u.id, u.email, u.role \
         FROM refresh_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 FOR UPDATE OF t",
    )
    .bind(old_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Rotation::Rejected);
    };
    let span = tracing::Span::current();
    span.record("user_id", tracing::field::display(row.user.id));
    span.record("family_id", tracing::field::display(row.family_id));
    if row.revoked {
        return Ok(Rotation::Rejected);
    }
    if row.rotated {
        revoke_family(&mut tx, row.family_id).await?;
        tx.commit().await?;
        return Ok(Rotation::Reused {
            user_id: row.user.id,
            family_id: row.family_id,
        });
    }
    if row.expired {
        return Ok(Rotation::Rejected);
    }
    sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1")
        .bind(row.token_id)
        .execute(&mut *tx)
        .await?;
    let user = User::try_from(row.user)?;
    insert_refresh_token(&mut tx, new_hash, row.family_id, user.id, expires_at).await?;
    tx.commit().await?;
    Ok(Rotation::Rotated {
        user,
        family_id: row.family_id,
    })
}

/// Revokes every token of the family of the token hashed `token_hash`; returns how many were
/// still live. Unknown tokens revoke nothing.
///
/// The token's row is locked first, so a rotation of it that is in flight finishes before the
/// family is revoked, and the revoking statement (a new snapshot) sees the token that rotation
/// issued: sign-out cannot leave a freshly rotated session alive.
#[tracing::instrument(skip_all)]
pub async fn revoke_family_of(pool: &PgPool, token_hash: &[u8]) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let family: Option<Uuid> =
        sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE")
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(family) = family else {
        return Ok(0);
    };
    let revoked = revoke_family(&mut tx, family).await?;
    tx.commit().await?;
    Ok(revoked)
}

async fn revoke_family(conn: &mut PgConnection, family_id: Uuid) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}
