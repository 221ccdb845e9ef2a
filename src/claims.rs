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
/// in one unit; a fractional claim is rounded to the millisecond against the token (see
/// [`Rounding`]), the clock is never rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NumericDate {
    millis: i64,
}

impl NumericDate {
    pub(crate) const fn from_millis(millis: i64) -> Self {
        Self { millis }
    }

    #[cfg(test)]
    pub(crate) const fn from_secs(secs: i64) -> Self {
        Self {
            millis: secs.saturating_mul(1000),
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

/// How a fractional NumericDate is brought to the millisecond: always against the token, so
/// that rounding can never make a token valid for longer or sooner than it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// Towards the past: `exp`, `iat`, `auth_time` (a token never lives longer, an
    /// authentication is never younger, than the claim says).
    Down,
    /// Towards the future: `nbf` (a token never becomes valid sooner).
    Up,
}

/// Reads a NumericDate claim (RFC 7519 section 2): seconds since the epoch as any finite,
/// non-negative JSON number, integer or not (`1700000000`, `1700000000.25`, `1.7e9`).
///
/// Strings, null, booleans, arrays, objects, negative numbers and values too large for the
/// millisecond clock are refused; a JSON number too large for an f64 (`1e400`) is refused
/// earlier, when the payload is parsed. Integers are exact; fractions are converted to
/// milliseconds with `rounding` (the f64 product is rounded once more in the same direction,
/// so at worst a token loses a millisecond, never gains one).
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
    rounding: Rounding,
) -> Result<Option<NumericDate>, AuthError> {
    let invalid = || AuthError::new(AuthReason::InvalidTimeClaim);
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let Value::Number(n) = value else {
        return Err(invalid());
    };
    if let Some(secs) = n.as_u64() {
        // Exact: no float involved for integers.
        return i64::try_from(secs)
            .ok()
            .and_then(|secs| secs.checked_mul(1000))
            .map(|millis| Some(NumericDate::from_millis(millis)))
            .ok_or_else(invalid);
    }
    let secs = n.as_f64().ok_or_else(invalid)?;
    // `-0.0 >= 0.0`: negative zero is zero. Negative integers (as_u64 failed) and NaN land here.
    if !secs.is_finite() || secs < 0.0 {
        return Err(invalid());
    }
    let millis = secs * 1000.0;
    let millis = match rounding {
        Rounding::Down => millis.floor(),
        Rounding::Up => millis.ceil(),
    };
    // 2^63 ms is far beyond any real date; refuse rather than saturate.
    if millis >= 9_223_372_036_854_775_807.0 {
        return Err(invalid());
    }
    #[allow(clippy::cast_possible_truncation)] // integral, in range: checked above
    Ok(Some(NumericDate::from_millis(millis as i64)))
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
    fn numeric_dates_are_finite_non_negative_numbers() {
        let m = decode(&b64(
            r#"{"a":1700000000,"b":"1700000000","c":1.5,"d":18446744073709551615,
                "e":1700003600.25,"f":1.7e9,"g":-1,"h":-0.5,"i":null,"j":true,"k":[1],
                "l":0.0001,"m":-0.0,"n":1700000000.0,"o":9.3e15}"#,
        ))
        .expect("valid");
        let get = |name, rounding| numeric_date(&m, name, rounding);
        let ms = |millis| Ok(Some(NumericDate::from_millis(millis)));
        for r in [Rounding::Down, Rounding::Up] {
            assert_eq!(get("a", r), ms(1_700_000_000_000));
            assert_eq!(get("c", r), ms(1_500));
            assert_eq!(get("e", r), ms(1_700_003_600_250));
            assert_eq!(get("f", r), ms(1_700_000_000_000));
            assert_eq!(get("m", r), ms(0));
            assert_eq!(get("n", r), ms(1_700_000_000_000));
            for bad in ["b", "d", "g", "h", "i", "j", "k", "o"] {
                assert_eq!(
                    get(bad, r),
                    Err(AuthError::new(AuthReason::InvalidTimeClaim)),
                    "{bad}"
                );
            }
            assert_eq!(get("missing", r), Ok(None));
        }
        // A tenth of a millisecond: exp rounds down, nbf up, never in the token's favour.
        assert_eq!(get("l", Rounding::Down), ms(0));
        assert_eq!(get("l", Rounding::Up), ms(1));
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
    }
}
