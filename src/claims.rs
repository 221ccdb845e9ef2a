//! The JWT claims set (RFC 7519 section 4): decoded once per verified token, strictly, and the
//! one time type the crate compares claim times in.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{AuthError, AuthReason};

/// A point in wall-clock time, as RFC 7519 section 2 defines a NumericDate: time since
/// 1970-01-01T00:00:00Z. Held in milliseconds so that claim times and the clock are compared
/// in one unit, without rounding either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NumericDate {
    millis: i64,
}

impl NumericDate {
    pub(crate) const fn from_millis(millis: i64) -> Self {
        Self { millis }
    }

    pub(crate) const fn from_secs(secs: i64) -> Self {
        Self {
            millis: secs.saturating_mul(1000),
        }
    }

    /// This time with its sub-second part dropped (rounded towards the past): claim times are
    /// whole seconds, and a clock reading is compared with them to the second.
    pub(crate) const fn whole_seconds(self) -> Self {
        Self {
            millis: self.millis.div_euclid(1000).saturating_mul(1000),
        }
    }

    pub(crate) const fn as_millis(self) -> i64 {
        self.millis
    }

    pub(crate) fn saturating_add(self, d: Duration) -> Self {
        Self::from_millis(self.millis.saturating_add(duration_millis(d)))
    }

    pub(crate) fn saturating_sub(self, d: Duration) -> Self {
        Self::from_millis(self.millis.saturating_sub(duration_millis(d)))
    }

    /// How long until `later` (zero if it is not later).
    pub(crate) fn until(self, later: Self) -> Duration {
        let ms = later.millis.saturating_sub(self.millis).max(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Decodes the payload into a JSON object, refusing duplicate top-level members (which
/// different parsers resolve differently, so a signed token could mean two things).
pub(crate) fn decode(payload_b64: &str) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| AuthError::new(AuthReason::MalformedPayload))?;
    let UniqueObject(map) =
        serde_json::from_slice(&bytes).map_err(|_| AuthError::new(AuthReason::MalformedPayload))?;
    Ok(map)
}

/// A JSON object whose top-level member names are unique.
struct UniqueObject(Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with unique member names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = Map::new();
                while let Some(name) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    if map.insert(name, value).is_some() {
                        return Err(de::Error::custom("duplicate member"));
                    }
                }
                Ok(UniqueObject(map))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Reads a NumericDate claim: whole seconds since the epoch, as a JSON integer.
///
/// Strings, fractions and out-of-range numbers are refused rather than rounded.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<NumericDate>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|secs| Some(NumericDate::from_secs(secs)))
            .ok_or(AuthError::new(AuthReason::InvalidTimeClaim)),
        Some(_) => Err(AuthError::new(AuthReason::InvalidTimeClaim)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn payload_refuses_duplicates_non_objects_and_deep_nesting() {
        assert!(decode(&b64(r#"{"sub":"a","sub":"b"}"#)).is_err());
        assert!(decode(&b64("[1]")).is_err());
        assert!(
            decode(&b64(&format!(
                "{{\"a\":{}1{}}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            )))
            .is_err()
        );
        assert!(decode(&b64(r#"{"exp":1e400}"#)).is_err());
        let ok = decode(&b64(r#"{"sub":"a","n":{"x":1}}"#)).expect("valid");
        assert_eq!(ok["sub"], "a");
    }

    #[test]
    fn numeric_dates_must_be_integers() {
        let m = decode(&b64(
            r#"{"a":1700000000,"b":"1700000000","c":1.5,"d":18446744073709551615}"#,
        ))
        .expect("valid");
        assert_eq!(
            numeric_date(&m, "a"),
            Ok(Some(NumericDate::from_secs(1_700_000_000)))
        );
        assert!(numeric_date(&m, "b").is_err());
        assert!(numeric_date(&m, "c").is_err());
        assert!(numeric_date(&m, "d").is_err());
        assert_eq!(numeric_date(&m, "missing"), Ok(None));
    }

    #[test]
    fn dates_compare_in_one_unit() {
        let t = NumericDate::from_secs(1000);
        assert_eq!(
            t.saturating_add(Duration::from_millis(500)).as_millis(),
            1_000_500
        );
        assert!(t.saturating_sub(Duration::from_secs(1)) < t);
        assert_eq!(
            t.until(NumericDate::from_secs(1002)),
            Duration::from_secs(2)
        );
        assert_eq!(NumericDate::from_secs(1002).until(t), Duration::ZERO);
        assert_eq!(
            NumericDate::from_millis(1_999).whole_seconds(),
            NumericDate::from_secs(1)
        );
        assert_eq!(
            NumericDate::from_millis(-1).whole_seconds(),
            NumericDate::from_secs(-1)
        );
    }
}
