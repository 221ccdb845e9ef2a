//! JWKS document parsing (`KeySet::from_jwks`), as every fetch runs it.
#![no_main]

use jwks_auth::jwks::{KeySet, MAX_KEYS};
use jwks_auth::{Algorithm, Algorithms};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for allowed in [Algorithms::ASYMMETRIC, Algorithms::from(Algorithm::RS256)] {
        let Ok(set) = KeySet::from_jwks(data, allowed) else {
            continue;
        };
        assert!(!set.is_empty() && set.len() <= MAX_KEYS);
        for kid in set.kids() {
            // `""` is a kid like any other (issue 13 point 9).
            assert!(kid.len() <= jwks_auth::fuzzing::MAX_KID_LEN);
        }
        // What we republish parses back to the same keys.
        let again = serde_json::to_vec(&set.to_jwks()).expect("serializable");
        let reparsed = KeySet::from_jwks(&again, allowed).expect("republished set parses");
        assert_eq!(reparsed.len(), set.len());
        assert!(reparsed.kids().eq(set.kids()));
    }
});
