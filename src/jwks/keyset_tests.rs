//! Unit tests of [`KeySet`](super::KeySet) parsing and key selection.

use super::*;

fn rsa_jwk(n: &str) -> String {
    format!(
        r#"{{"keys":[{{"kty":"RSA","kid":"k","alg":"RS256","use":"sig","n":"{n}","e":"AQAB"}}]}}"#
    )
}

fn rsa_key(kid: &str, n: &[u8], alg: &str) -> String {
    format!(
        r#"{{"kty":"RSA","kid":"{kid}","alg":"{alg}","n":"{}","e":"AQAB"}}"#,
        URL_SAFE_NO_PAD.encode(n)
    )
}

#[test]
fn identical_keys_merge_and_different_ones_sharing_a_kid_are_all_candidates() {
    let (a, b) = ([0xf1; 256], [0xf2; 256]);
    let doc = format!(
        r#"{{"keys":[{},{},{},{}]}}"#,
        rsa_key("k", &a, "RS256"),
        rsa_key("k", &a, "RS256"),
        rsa_key("k", &a, "PS256"),
        rsa_key("k", &b, "RS256"),
    );
    let set = KeySet::from_jwks(doc.as_bytes(), Algorithms::ASYMMETRIC).expect("set");
    assert_eq!((set.len(), set.skipped()), (2, 0));
    let Selection::Found(keys) = set.select(Some("k"), Algorithm::RS256, false) else {
        panic!("found")
    };
    assert_eq!(keys.iter().count(), 2);
    // The merged entry verifies both algorithms its two listings named; `b` only RS256.
    let Selection::Found(keys) = set.select(Some("k"), Algorithm::PS256, false) else {
        panic!("found")
    };
    assert_eq!(keys.iter().count(), 1);
    // Without a kid, several fitting keys stay ambiguous.
    assert!(matches!(
        set.select(None, Algorithm::RS256, true),
        Selection::Refused(AuthReason::AmbiguousKeyId)
    ));
    assert!(matches!(
        set.select(None, Algorithm::PS256, true),
        Selection::Found(_)
    ));
    // More than MAX_KEYS_PER_KID: only the first ones are candidates.
    let many: Vec<String> = (0..5u8)
        .map(|i| rsa_key("m", &[0xf0 | i; 256], "RS256"))
        .collect();
    let doc = format!(r#"{{"keys":[{}]}}"#, many.join(","));
    let set = KeySet::from_jwks(doc.as_bytes(), Algorithms::ASYMMETRIC).expect("set");
    assert_eq!(set.len(), 5);
    let Selection::Found(keys) = set.select(Some("m"), Algorithm::RS256, false) else {
        panic!("found")
    };
    assert_eq!(keys.iter().count(), MAX_KEYS_PER_KID);
}

/// Found by the `jwks` fuzz target: `"n": ""` made the bit count underflow (a panic with
/// debug assertions, a huge "size" without).
#[test]
fn an_empty_or_short_rsa_modulus_is_skipped_not_a_panic() {
    let short = URL_SAFE_NO_PAD.encode([0xff; 255]);
    for n in ["", "AA", "AAAA", short.as_str()] {
        let err = KeySet::from_jwks(rsa_jwk(n).as_bytes(), Algorithms::ASYMMETRIC)
            .expect_err("no usable key");
        assert_eq!(err, KeySetError::NoUsableKeys { skipped: 1 }, "n = {n:?}");
    }
    let full = URL_SAFE_NO_PAD.encode([0xff; 256]);
    let ok = KeySet::from_jwks(rsa_jwk(&full).as_bytes(), Algorithms::ASYMMETRIC)
        .expect("a 2048-bit modulus is usable");
    assert_eq!(ok.len(), 1);
}
