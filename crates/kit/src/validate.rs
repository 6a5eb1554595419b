//! Checking several fields at once: every invalid field is reported in one 422 problem, so a
//! client fixes its request in one round trip.
//!
//! Parse each field into its domain type (`Email::parse`, `Quantity::parse`, ...) and hand the
//! results to [`fields`] with their names; it returns the parsed values, or [`Invalid`] listing
//! every field that failed:
//!
//! ```
//! # use kit::validate::{fields, Invalid};
//! fn quantity(n: i64) -> Result<u32, &'static str> {
//!     u32::try_from(n).ok().filter(|n| (1..=99).contains(n)).ok_or("must be between 1 and 99")
//! }
//! let ok: Result<(u32, u32), Invalid> = fields((("a", quantity(2)), ("b", quantity(3))));
//! assert_eq!(ok.unwrap(), (2, 3));
//! let bad = fields((("a", quantity(0)), ("b", quantity(100)))).unwrap_err();
//! assert_eq!(bad.fields.len(), 2);
//! ```

use std::fmt::Display;

use crate::problem::{FieldError, Problem};

/// Some fields of a request are invalid; each with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fields: {}", names(.fields))]
pub struct Invalid {
    pub fields: Vec<FieldError>,
}

fn names(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| f.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Invalid {
    /// One invalid field.
    pub fn field(field: impl Into<String>, message: impl Display) -> Self {
        Self {
            fields: vec![FieldError {
                field: field.into(),
                message: message.to_string(),
            }],
        }
    }

    /// The 422 problem listing every field.
    pub fn problem(&self) -> Problem {
        Problem::invalid("Some fields are invalid.", self.fields.clone())
    }
}

/// Named results to check together; implemented for tuples of up to eight
/// `(&str, Result<T, E>)` pairs.
pub trait Fields {
    type Output;
    fn check(self) -> Result<Self::Output, Invalid>;
}

/// Every value when all fields parsed, otherwise every field that did not.
pub fn fields<F: Fields>(fields: F) -> Result<F::Output, Invalid> {
    fields.check()
}

macro_rules! tuple_fields {
    ($($t:ident $e:ident $v:ident),+) => {
        impl<$($t, $e: Display),+> Fields for ($((&str, Result<$t, $e>),)+) {
            type Output = ($($t,)+);
            fn check(self) -> Result<Self::Output, Invalid> {
                let ($($v,)+) = self;
                let mut errors = Vec::new();
                $(
                    let $v = match $v.1 {
                        Ok(value) => Some(value),
                        Err(e) => {
                            errors.push(FieldError { field: $v.0.to_owned(), message: e.to_string() });
                            None
                        }
                    };
                )+
                match ($($v,)+) {
                    ($(Some($v),)+) => Ok(($($v,)+)),
                    _ => Err(Invalid { fields: errors }),
                }
            }
        }
    };
}

tuple_fields!(A EA a);
tuple_fields!(A EA a, B EB b);
tuple_fields!(A EA a, B EB b, C EC c);
tuple_fields!(A EA a, B EB b, C EC c, D ED d);
tuple_fields!(A EA a, B EB b, C EC c, D ED d, E EE e);
tuple_fields!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f);
tuple_fields!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g);
tuple_fields!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g, H EH h);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_bad_field_in_order() {
        let result = fields((
            ("email", Err::<(), _>("is not an e-mail address")),
            ("name", Ok::<_, &str>("Ada")),
            ("password", Err::<(), _>("is too short")),
        ));
        let invalid = result.unwrap_err();
        assert_eq!(invalid.to_string(), "invalid fields: email, password");
        let problem = invalid.problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[1].message, "is too short");
    }
}
