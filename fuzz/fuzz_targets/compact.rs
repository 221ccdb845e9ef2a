//! The strict compact parse and the payload decode on arbitrary strings.
#![no_main]

use jwks_auth::fuzzing::{self, MAX_KID_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parts) = fuzzing::parse_compact(token) {
        assert!(token.len() <= fuzzing::DEFAULT_MAX_TOKEN_BYTES);
        assert_eq!(
            format!("{}.{}", parts.signing_input, parts.signature),
            token
        );
        assert!(
            parts
                .signing_input
                .ends_with(&format!(".{}", parts.payload))
        );
        assert!(!parts.signature.is_empty() && !parts.payload.is_empty());
        assert!(
            parts
                .kid
                .as_ref()
                .is_none_or(|k| k.len() <= MAX_KID_LEN)
        );
        assert_eq!(token.split('.').count(), 3);
        if let Ok(claims) = fuzzing::decode_payload(&parts.payload) {
            check_dates(&claims);
        }
    }
    // The payload decoder alone, on the whole input.
    if let Ok(claims) = fuzzing::decode_payload(token) {
        check_dates(&claims);
    }
});

/// NumericDates (RFC 7519 section 2): any finite non-negative JSON number is read, to the
/// millisecond, rounded against the token (`nbf` up, the others down); integers exactly;
/// everything else refused.
fn check_dates(claims: &serde_json::Map<String, serde_json::Value>) {
    for name in ["exp", "nbf", "iat", "auth_time"] {
        let read = fuzzing::numeric_date_millis(claims, name);
        let Some(value) = claims.get(name) else {
            assert!(matches!(read, Ok(None)), "{name}: absent is not a date");
            continue;
        };
        let Ok(Some(ms)) = read else {
            // Refused: then it is not a number, or negative, or beyond the millisecond clock.
            assert!(read.is_err(), "{name}: present is never None");
            assert!(value.as_f64().is_none_or(|v| v < 0.0 || v * 1000.0 >= 9.2e18));
            continue;
        };
        assert!(ms >= 0, "{name}: {value} read as {ms}");
        if let Some(secs) = value.as_u64() {
            assert_eq!(u64::try_from(ms).ok(), secs.checked_mul(1000), "{name}: integers exact");
        }
        let exact = value.as_f64().expect("a number") * 1000.0;
        #[allow(clippy::cast_precision_loss)]
        let got = ms as f64;
        // Within a millisecond, on the token's losing side (up to f64 rounding of huge values).
        let slack = exact.abs() * 1e-15;
        if name == "nbf" {
            assert!(got + slack >= exact && got < exact + 1.0 + slack, "{name}: {value} -> {ms}");
        } else {
            assert!(got <= exact + slack && got > exact - 1.0 - slack, "{name}: {value} -> {ms}");
        }
    }
}
