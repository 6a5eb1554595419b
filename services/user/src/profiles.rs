//! Profiles and addresses, and the events that make and erase them.
//!
//! A profile is made from `user.registered`, or on the user's first request if that event has
//! not arrived yet (from the token's claims): both insert if absent, so the order they come in
//! does not matter, and a redelivery changes nothing. Erasing deletes the profile with its
//! addresses, remembers only the id (so a late `user.registered` cannot bring it back) and
//! publishes `user.erased` in the same transaction.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use events::user::{UserErased, UserRegistered};
use kit::kafka::HandleError;
use kit::postal::Address;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// Most saved addresses per user.
pub const MAX_ADDRESSES: i64 = 20;

/// Marker of saved address ids.
#[derive(Debug)]
pub enum AddressTag {}
pub type AddressId = kit::Id<AddressTag>;

/// A user's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub phone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a user may change of their profile.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ProfileInput {
    #[serde(default)]
    #[schema(
        example = "Ada",
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub display_name: String,
    #[serde(default)]
    #[schema(
        example = "+44 20 7946 0958",
        max_length = 30,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub phone: String,
}

/// A saved address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SavedAddress {
    pub id: AddressId,
    /// The user's name for it (`Home`).
    pub label: String,
    #[serde(flatten)]
    pub address: Address,
    /// The one checkout offers first.
    pub is_default: bool,
}

/// An address to save.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AddressInput {
    #[serde(default)]
    #[schema(
        example = "Home",
        max_length = 50,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub label: String,
    #[serde(flatten)]
    pub address: Address,
    #[serde(default)]
    pub is_default: bool,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Invalid(#[from] kit::validate::Invalid),
    #[error("no such address")]
    NotFound,
    #[error("the account was erased")]
    Erased,
    #[error("too many addresses")]
    TooMany,
    #[error("profile request failed")]
    Unexpected(#[from] anyhow::Error),
}

type ProfileRow = (Uuid, String, String, String, DateTime<Utc>, DateTime<Utc>);

fn profile(row: ProfileRow) -> Profile {
    Profile {
        user_id: row.0,
        email: row.1,
        display_name: row.2,
        phone: row.3,
        created_at: row.4,
        updated_at: row.5,
    }
}

/// Inserts the profile unless it exists or the user erased themselves; whether it is there now.
async fn ensure(conn: &mut PgConnection, user: Uuid, email: &str) -> Result<bool, sqlx::Error> {
    let erased: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM erased_users WHERE user_id = $1)")
            .bind(user)
            .fetch_one(&mut *conn)
            .await?;
    if erased {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO profiles (user_id, email) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user)
    .bind(email)
    .execute(conn)
    .await?;
    Ok(true)
}

/// The user's profile, made from the token's claims if `user.registered` has not arrived yet.
pub async fn get(db: &PgPool, user: Uuid, email: &str) -> Result<Profile, ProfileError> {
    let mut conn = db.acquire().await.context("cannot connect")?;
    if !ensure(&mut conn, user, email)
        .await
        .context("cannot make the profile")?
    {
        return Err(ProfileError::Erased);
    }
    let row: ProfileRow = sqlx::query_as(
        "SELECT user_id, email, display_name, phone, created_at, updated_at FROM profiles WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(&mut *conn)
    .await
    .context("cannot read the profile")?;
    Ok(profile(row))
}

/// A single line of text of at most `max` printable characters, trimmed.
fn line(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max || value.chars().any(char::is_control) {
        Err(format!("must be at most {max} printable characters"))
    } else {
        Ok(value.to_owned())
    }
}

pub async fn update(
    db: &PgPool,
    user: Uuid,
    email: &str,
    input: &ProfileInput,
) -> Result<Profile, ProfileError> {
    let (display_name, phone) = kit::validate::fields((
        ("display_name", line(&input.display_name, 100)),
        ("phone", line(&input.phone, 30)),
    ))?;
    get(db, user, email).await?;
    sqlx::query(
        "UPDATE profiles SET display_name = $2, phone = $3, updated_at = now() WHERE user_id = $1",
    )
    .bind(user)
    .bind(&display_name)
    .bind(&phone)
    .execute(db)
    .await
    .context("cannot update the profile")?;
    get(db, user, email).await
}

type AddressRow = (
    AddressId,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
);

fn saved(row: AddressRow) -> SavedAddress {
    SavedAddress {
        id: row.0,
        label: row.1,
        address: Address {
            name: row.2,
            line1: row.3,
            line2: row.4,
            city: row.5,
            postal_code: row.6,
            country: row.7,
        },
        is_default: row.8,
    }
}

const ADDRESS_COLUMNS: &str =
    "id, label, name, line1, line2, city, postal_code, country, is_default";

pub async fn addresses(
    db: &PgPool,
    user: Uuid,
    email: &str,
) -> Result<Vec<SavedAddress>, ProfileError> {
    get(db, user, email).await?;
    let rows: Vec<AddressRow> = sqlx::query_as(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = $1 ORDER BY is_default DESC, created_at"
    ))
    .bind(user)
    .fetch_all(db)
    .await
    .context("cannot list addresses")?;
    Ok(rows.into_iter().map(saved).collect())
}

fn checked(input: &AddressInput) -> Result<AddressInput, kit::validate::Invalid> {
    let mut fields = input.address.problems("address");
    let label = line(&input.label, 50);
    if let Err(message) = &label {
        fields.insert(
            0,
            kit::problem::FieldError {
                field: "label".into(),
                message: message.clone(),
            },
        );
    }
    if !fields.is_empty() {
        return Err(kit::validate::Invalid { fields });
    }
    Ok(AddressInput {
        label: label.unwrap_or_default(),
        address: input.address.trimmed(),
        is_default: input.is_default,
    })
}

/// Saves an address; the first one, or one marked default, becomes the default.
pub async fn add(
    db: &PgPool,
    user: Uuid,
    email: &str,
    input: &AddressInput,
) -> Result<SavedAddress, ProfileError> {
    let input = checked(input)?;
    get(db, user, email).await?;
    let mut tx = db.begin().await.context("cannot begin")?;
    // One writer per user at a time, so the count and the default stay right.
    sqlx::query("SELECT 1 FROM profiles WHERE user_id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut *tx)
        .await
        .context("cannot lock the profile")?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM addresses WHERE user_id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await
        .context("cannot count addresses")?;
    if count >= MAX_ADDRESSES {
        return Err(ProfileError::TooMany);
    }
    let is_default = input.is_default || count == 0;
    if is_default {
        sqlx::query("UPDATE addresses SET is_default = false WHERE user_id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await
            .context("cannot move the default")?;
    }
    let a = &input.address;
    let row: AddressRow = sqlx::query_as(&format!(
        "INSERT INTO addresses (id, user_id, label, name, line1, line2, city, postal_code, country, is_default) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {ADDRESS_COLUMNS}"
    ))
    .bind(AddressId::new())
    .bind(user)
    .bind(&input.label)
    .bind(&a.name)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.postal_code)
    .bind(&a.country)
    .bind(is_default)
    .fetch_one(&mut *tx)
    .await
    .context("cannot save the address")?;
    tx.commit().await.context("cannot commit the address")?;
    Ok(saved(row))
}

/// Deletes one of the user's addresses; someone else's is [`ProfileError::NotFound`].
pub async fn remove(db: &PgPool, user: Uuid, id: AddressId) -> Result<(), ProfileError> {
    let deleted = sqlx::query("DELETE FROM addresses WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user)
        .execute(db)
        .await
        .context("cannot delete the address")?;
    if deleted.rows_affected() == 0 {
        return Err(ProfileError::NotFound);
    }
    Ok(())
}

/// Erases the user: profile and addresses deleted, the id remembered, `user.erased` published.
pub async fn erase(db: &PgPool, user: Uuid) -> Result<(), ProfileError> {
    let mut tx = db.begin().await.context("cannot begin")?;
    sqlx::query("DELETE FROM profiles WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await
        .context("cannot delete the profile")?;
    let first =
        sqlx::query("INSERT INTO erased_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(user)
            .execute(&mut *tx)
            .await
            .context("cannot remember the erasure")?
            .rows_affected()
            == 1;
    if first {
        kit::outbox::enqueue(
            &mut tx,
            crate::platform::MANIFEST.name,
            UserErased { user_id: user },
        )
        .await
        .context("cannot enqueue user.erased")?;
    }
    tx.commit().await.context("cannot commit the erasure")?;
    Ok(())
}

/// Handles one event of `user.v1`: `user.registered` makes the profile; others are not ours.
pub async fn handle(db: &PgPool, envelope: events::RawEnvelope) -> Result<(), HandleError> {
    if envelope.event_type != <UserRegistered as events::Event>::TYPE {
        return Ok(());
    }
    let event = envelope
        .decode::<UserRegistered>()
        .map_err(|e| HandleError::Poison(anyhow::Error::new(e)))?;
    let user = event.payload.user_id;
    kit::kafka::once(db, crate::platform::MANIFEST.name, event.id, |tx| {
        Box::pin(async move { ensure(tx, user, &event.payload.email).await.map(|_| ()) })
    })
    .await
}
