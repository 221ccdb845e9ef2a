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
                .is_none_or(|k| !k.is_empty() && k.len() <= MAX_KID_LEN)
        );
        assert_eq!(token.split('.').count(), 3);
        if let Ok(claims) = fuzzing::decode_payload(&parts.payload) {
            for name in ["exp", "nbf", "iat"] {
                let _ = fuzzing::numeric_date_millis(&claims, name);
            }
        }
    }
    // The payload decoder alone, on the whole input.
    if let Ok(claims) = fuzzing::decode_payload(token) {
        if let Ok(Some(exp_ms)) = fuzzing::numeric_date_millis(&claims, "exp") {
            assert_eq!(claims["exp"].as_i64().map(|s| s.saturating_mul(1000)), Some(exp_ms));
        }
    }
});
