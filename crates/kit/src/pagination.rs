//! Cursor pagination: stable pages over lists that change while a client walks them.
//!
//! A list query fetches `limit + 1` rows ordered by a unique key (say `(price, id)`) after the
//! cursor's key, and [`Paginated::from_rows`] keeps `limit` of them and, when there was one more,
//! makes the next cursor from the last kept row's key. A cursor is the key as base64url JSON:
//! opaque to clients, and harmless when forged (it only moves where the page starts). [`Page`]
//! parses `limit` and `cursor` from the query, with every problem as a field error (a page size
//! over [`MAX_LIMIT`] is refused, not silently cut).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validate::Invalid;

/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 100;
/// Page size when the client does not say.
pub const DEFAULT_LIMIT: u32 = 20;

/// Where a page starts and how long it is; `K` is the list's sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<K> {
    pub limit: u32,
    /// The key of the last row of the previous page; `None` for the first page.
    pub after: Option<K>,
}

impl<K: DeserializeOwned> Page<K> {
    /// Parses the `limit` and `cursor` query parameters.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, Invalid> {
        let mut fields = Vec::new();
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=i64::from(MAX_LIMIT)).contains(&n) => n as u32,
            Some(_) => {
                fields.push(("limit", format!("must be between 1 and {MAX_LIMIT}")));
                DEFAULT_LIMIT
            }
        };
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => match decode(cursor) {
                Some(key) => Some(key),
                None => {
                    fields.push(("cursor", "is not a cursor this list gave out".to_owned()));
                    None
                }
            },
        };
        if fields.is_empty() {
            return Ok(Self { limit, after });
        }
        Err(Invalid {
            fields: fields
                .into_iter()
                .map(|(field, message)| crate::problem::FieldError {
                    field: field.to_owned(),
                    message,
                })
                .collect(),
        })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

fn decode<K: DeserializeOwned>(cursor: &str) -> Option<K> {
    if cursor.len() > 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The cursor that starts the page after the row with `key`.
pub fn cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("a sort key serializes"))
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Paginated<T> {
    /// The page from `rows` fetched with [`Page::fetch`]; `key` gives a row's sort key.
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = more
            .then(|| rows.last().map(|row| cursor(&key(row))))
            .flatten();
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with each item transformed.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paginated<U> {
        Paginated {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_rows_with_cursors() {
        let rows: Vec<(i64, u32)> = (1..=5).map(|i| (i * 10, i as u32)).collect();
        let first = Paginated::from_rows(rows[..3].to_vec(), 2, |r| *r);
        assert_eq!(first.items.len(), 2);
        let next: Page<(i64, u32)> = Page::parse(Some(2), first.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after, Some((20, 2)));
        let last = Paginated::from_rows(rows[4..].to_vec(), 2, |r| *r);
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn refuses_bad_limits_and_cursors_together() {
        let invalid = Page::<(i64, u32)>::parse(Some(500), Some("garbage!")).unwrap_err();
        let fields: Vec<&str> = invalid.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["limit", "cursor"]);
        assert!(Page::<(i64, u32)>::parse(Some(0), None).is_err());
        assert_eq!(
            Page::<(i64, u32)>::parse(None, None).unwrap().limit,
            DEFAULT_LIMIT
        );
    }
}
