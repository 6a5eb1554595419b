//! Typed ids: a `ProductId` cannot be passed where a `CartId` is expected, though both are
//! UUIDs on the wire.
//!
//! Declare a marker type per entity and an alias, `pub type ProductId = kit::Id<Product>;`.
//! An [`Id`] serialises as the UUID string, parses from one (a path parameter that is not a
//! UUID is a 400 through [`crate::extract::Path`]), and is documented as `format: uuid` in
//! OpenAPI. New ids are UUIDv7, so they sort by creation time (good for B-tree indexes).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The id of an entity of type `T`.
pub struct Id<T> {
    uuid: Uuid,
    entity: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }

    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self {
            uuid,
            entity: PhantomData,
        }
    }

    pub const fn uuid(&self) -> Uuid {
        self.uuid
    }
}

impl<T> Default for Id<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Id<T> {}

impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}

impl<T> Eq for Id<T> {}

impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state);
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.uuid, f)
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.uuid, f)
    }
}

/// Why a string is not an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID in its canonical form (8-4-4-4-12 hexadecimal digits)")]
pub struct InvalidId;

impl<T> FromStr for Id<T> {
    type Err = InvalidId;
    /// Only the hyphenated form (`format: uuid` in JSON Schema): the braced, URN and plain-hex
    /// spellings `uuid` also reads are refused, so one id has one spelling in URLs and caches.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 36 {
            return Err(InvalidId);
        }
        Uuid::try_parse(s)
            .map(Self::from_uuid)
            .map_err(|_| InvalidId)
    }
}

impl<T> From<Uuid> for Id<T> {
    fn from(uuid: Uuid) -> Self {
        Self::from_uuid(uuid)
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.uuid.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl<T> sqlx::Type<sqlx::Postgres> for Id<T> {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Uuid as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<T> sqlx::Encode<'_, sqlx::Postgres> for Id<T> {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <Uuid as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.uuid, buf)
    }
}

impl<T> sqlx::Decode<'_, sqlx::Postgres> for Id<T> {
    fn decode(value: sqlx::postgres::PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
        <Uuid as sqlx::Decode<sqlx::Postgres>>::decode(value).map(Self::from_uuid)
    }
}

impl<T> sqlx::postgres::PgHasArrayType for Id<T> {
    fn array_type_info() -> sqlx::postgres::PgTypeInfo {
        <Uuid as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
}

impl<T> utoipa::PartialSchema for Id<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Uuid,
            )))
            .into()
    }
}

impl<T> utoipa::ToSchema for Id<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Product;

    #[test]
    fn round_trips_as_a_uuid_string() {
        let id = Id::<Product>::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.uuid()));
        assert_eq!(serde_json::from_str::<Id<Product>>(&json).unwrap(), id);
        assert!("not-a-uuid".parse::<Id<Product>>().is_err());
        let canonical = "0192f0c1-7a3e-7c4d-8e5f-000000000001";
        assert!(canonical.parse::<Id<Product>>().is_ok());
        assert!(canonical.to_uppercase().parse::<Id<Product>>().is_ok());
        for other in [
            "0192f0c17a3e7c4d8e5f000000000001",
            "{0192f0c1-7a3e-7c4d-8e5f-000000000001}",
            "urn:uuid:0192f0c1-7a3e-7c4d-8e5f-000000000001",
        ] {
            assert!(other.parse::<Id<Product>>().is_err(), "{other}");
            assert!(serde_json::from_str::<Id<Product>>(&format!("\"{other}\"")).is_err());
        }
        assert!(Id::<Product>::new() > id, "time-ordered");
    }
}
