//! Cloudflare Access get-identity documents (`jwks_auth::cloudflare::Identity`), parsed both
//! directly and the way the identity client does (JSON value first, then the type).
#![no_main]

use jwks_auth::cloudflare::Identity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(identity) = serde_json::from_slice::<Identity>(data) {
        let _ = identity.group_names();
        let _ = identity.is_service_token();
        // What we serialize (the `Identity` extractor's JSON) reads back the same.
        let value = serde_json::to_value(&identity).expect("serializable");
        let back: Identity = serde_json::from_value(value).expect("round trip parses");
        assert_eq!(back, identity);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(identity) = serde_json::from_value::<Identity>(value) {
            let _ = identity.group_names();
        }
    }
});
