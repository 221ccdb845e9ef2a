//! Property tests (proptest): time boundaries to the second with an injected clock, audience
//! any-of, issuer exactness, token-source precedence, `kid.version` resolution, and the
//! mint -> verify round trip for every algorithm with random claims.
//!
//! Each property runs a modest number of cases (`CASES`) so that the suite stays fast; raise
//! it with `PROPTEST_CASES=1000 cargo test --all-features --test properties`.

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{app, get_with, send};
use http::StatusCode;
use jwks_auth::AuthReason;
use jwks_auth::testing::{ALGORITHMS, MockIdp};
use jwks_auth::{
    Algorithm, AuthError, JwksAuthLayer, JwksVerifier, ManualClock, TokenSource, User,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

/// The injected clock's second (2023-11-14T22:13:20Z).
const NOW: i64 = 1_700_000_000;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn config() -> Config {
    Config {
        cases: cases(),
        // Shrinking re-verifies tokens; keep failures quick to report.
        max_shrink_iters: 256,
        ..Config::default()
    }
}

/// One runtime and one mock identity provider for the whole file (key generation is the slow
/// part). The mock is only used to sign; verifiers get its keys as a static JWKS.
struct World {
    runtime: tokio::runtime::Runtime,
    idp: MockIdp,
    jwks: String,
    /// Building a verifier builds an HTTP client (TLS roots) unless given one: share one.
    client: reqwest::Client,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let idp = runtime.block_on(MockIdp::start());
        let jwks = idp.jwks_json().to_string();
        let client = reqwest::Client::new();
        World {
            runtime,
            idp,
            jwks,
            client,
        }
    })
}

fn verify(verifier: &JwksVerifier, token: &str) -> Result<User, AuthError> {
    world().runtime.block_on(verifier.verify(token))
}

/// A verifier over the mock's keys (static JWKS), its issuer and audience, at `clock`.
fn verifier_at(clock: &ManualClock, leeway: u64) -> JwksVerifier {
    let w = world();
    JwksVerifier::builder()
        .http_client(world().client.clone())
        .static_jwks(w.jwks.clone())
        .issuer(w.idp.issuer())
        .audience(w.idp.audience())
        .leeway(Duration::from_secs(leeway))
        .clock(clock.clone())
        .build()
        .expect("config")
}

proptest! {
    #![proptest_config(config())]

    /// exp: valid while `now < exp + leeway` (exclusive, RFC 7519 section 4.1.4), compared in
    /// milliseconds: the clock is not rounded (before issue 13 points 2 and 10 it was read to
    /// the whole second and `exp` itself was still valid), and `exp`
    /// may be fractional (`frac` eighths of a second: exactly representable, so the expected
    /// bound is exact).
    #[test]
    fn exp_is_exact_to_the_millisecond(leeway in 0u64..=300, offset in -400i64..=400, ms in 0i64..1000, frac in 0i64..8) {
        let w = world();
        let clock = ManualClock::at_unix(NOW);
        clock.advance(Duration::from_millis(ms.unsigned_abs()));
        let verifier = verifier_at(&clock, leeway);
        let token = w.idp.token().alg(Algorithm::ES256)
            .claim("exp", numeric_date(NOW + offset, frac * 125)).claim("nbf", json!(NOW - 1000)).sign();
        let result = verify(&verifier, &token);
        let leeway = i64::try_from(leeway).expect("small");
        let expected = NOW * 1000 + ms < (NOW + offset + leeway) * 1000 + frac * 125;
        prop_assert_eq!(result.is_ok(), expected, "exp={}+{}ms leeway={} +{}ms: {:?}", offset, frac * 125, leeway, ms, result.err());
        if !expected {
            prop_assert_eq!(result.expect_err("refused").reason(), AuthReason::Expired);
        }
    }

    /// nbf: valid from `nbf - leeway`, in milliseconds (a fractional nbf is never rounded down).
    #[test]
    fn nbf_is_exact_to_the_millisecond(leeway in 0u64..=300, offset in -400i64..=400, ms in 0i64..1000, frac in 0i64..8) {
        let w = world();
        let clock = ManualClock::at_unix(NOW);
        clock.advance(Duration::from_millis(ms.unsigned_abs()));
        let verifier = verifier_at(&clock, leeway);
        let token = w.idp.token().alg(Algorithm::EdDSA)
            .claim("nbf", numeric_date(NOW + offset, frac * 125)).claim("exp", json!(NOW + 10_000)).sign();
        let result = verify(&verifier, &token);
        let leeway = i64::try_from(leeway).expect("small");
        let expected = (NOW + offset - leeway) * 1000 + frac * 125 <= NOW * 1000 + ms;
        prop_assert_eq!(result.is_ok(), expected, "nbf={}+{}ms leeway={} +{}ms: {:?}", offset, frac * 125, leeway, ms, result.err());
        if !expected {
            prop_assert_eq!(result.expect_err("refused").reason(), AuthReason::NotYetValid);
        }
    }

    /// The same token, as the clock moves across exp + leeway: valid until the millisecond
    /// before, refused at it (the verified-token cache must not extend a token's life). Before
    /// issue 13 this asserted validity through the whole second `exp + leeway` (the clock was
    /// read to the second, `exp` inclusive); the rule is now exact and `exp` exclusive.
    #[test]
    fn a_cached_token_expires_on_the_millisecond(leeway in 0u64..=120, lifetime in 1i64..=600, frac in 0i64..8) {
        let w = world();
        let clock = ManualClock::at_unix(NOW);
        let verifier = verifier_at(&clock, leeway);
        let token = w.idp.token().alg(Algorithm::RS256)
            .claim("exp", numeric_date(NOW + lifetime, frac * 125)).claim("nbf", json!(NOW)).sign();
        prop_assert!(verify(&verifier, &token).is_ok());
        let exp_plus_leeway = NOW + lifetime + i64::try_from(leeway).expect("small");
        clock.set_unix(exp_plus_leeway - 1);
        clock.advance(Duration::from_millis((999 + frac * 125).unsigned_abs()));
        prop_assert!(verify(&verifier, &token).is_ok(), "valid until exp + leeway");
        clock.advance(Duration::from_millis(1));
        let err = verify(&verifier, &token).expect_err("expired");
        prop_assert_eq!(err.reason(), AuthReason::Expired);
    }

    /// `aud` is any-of: a string in the configured set, or a non-empty array of strings one
    /// of which is configured. Non-string members or an empty array refuse the token.
    #[test]
    fn audience_is_any_of(
        configured in proptest::collection::btree_set("[abc]{1,2}", 1..4),
        aud in prop_oneof![
            "[abc]{1,2}".prop_map(Value::from),
            proptest::collection::vec("[abc]{1,2}", 0..4).prop_map(Value::from),
            (proptest::collection::vec("[abc]{1,2}", 0..3), any::<i32>())
                .prop_map(|(v, n)| { let mut a: Vec<Value> = v.into_iter().map(Value::from).collect(); a.push(n.into()); Value::Array(a) }),
        ],
    ) {
        let w = world();
        let mut builder = JwksVerifier::builder()
            .http_client(w.client.clone())
            .static_jwks(w.jwks.clone())
            .issuer(w.idp.issuer());
        for a in &configured {
            builder = builder.audience(a.clone());
        }
        let verifier = builder.build().expect("config");
        let token = w.idp.token().alg(Algorithm::ES384).audience(aud.clone()).sign();
        let expected = match &aud {
            Value::String(s) => configured.contains(s),
            Value::Array(items) => {
                !items.is_empty()
                    && items.iter().all(Value::is_string)
                    && items.iter().filter_map(Value::as_str).any(|s| configured.contains(s))
            }
            _ => false,
        };
        let result = verify(&verifier, &token);
        prop_assert_eq!(result.is_ok(), expected, "aud={} configured={:?}", aud, configured);
        if !expected {
            prop_assert_eq!(result.expect_err("refused").reason(), AuthReason::AudienceMismatch);
        }
    }

    /// `iss` must equal the configured issuer byte for byte: no trailing-slash, case or
    /// whitespace normalisation.
    #[test]
    fn issuer_is_exact(
        host in "[a-z]{1,8}",
        path in "(/[a-zA-Z0-9]{1,4}){0,2}",
        mutation in 0u8..7,
    ) {
        let w = world();
        let configured = format!("https://{host}.example{path}");
        let iss = match mutation {
            0 => configured.clone(),
            1 => format!("{configured}/"),
            2 => configured.to_uppercase(),
            3 => format!(" {configured}"),
            4 => configured.replacen("https", "http", 1),
            5 => format!("{configured}.evil"),
            _ => configured[..configured.len() - 1].to_owned(),
        };
        let verifier = JwksVerifier::builder().http_client(world().client.clone())
            .static_jwks(w.jwks.clone())
            .issuer(configured.clone())
            .audience(w.idp.audience())
            .build()
            .expect("config");
        let token = w.idp.token().alg(Algorithm::PS256).claim("iss", json!(iss)).sign();
        let result = verify(&verifier, &token);
        prop_assert_eq!(result.is_ok(), iss == configured, "iss={:?} configured={:?}", iss, configured);
    }

    /// With `versioned_kids`, `kid` without version resolves to the highest `kid.N` published
    /// (versions count from 1, as the issuer writes them); an unpublished version never falls
    /// back to another one.
    #[test]
    fn kid_versions_resolve_to_the_highest_and_never_fall_back(
        versions in proptest::collection::btree_set(1u64..200, 1..6),
        signer_pick in any::<proptest::sample::Index>(),
        missing in 0u64..200,
    ) {
        let keys = versioned_keys();
        let versions: Vec<u64> = versions.into_iter().collect();
        // The signing key is published under version `signer`; the others get other keys.
        let signer = versions[signer_pick.index(versions.len())];
        let mut others = keys.others.iter().cycle();
        let jwks: Vec<Value> = versions
            .iter()
            .map(|v| {
                let mut jwk = if *v == signer { keys.signer.clone() } else { others.next().expect("cycle").clone() };
                jwk["kid"] = json!(format!("svc.{v}"));
                jwk
            })
            .collect();
        let w = world();
        let verifier = JwksVerifier::builder().http_client(world().client.clone())
            .static_jwks(json!({ "keys": jwks }).to_string())
            .issuer(w.idp.issuer())
            .audience(w.idp.audience())
            .unknown_kid_cooldown(Duration::from_secs(30))
            .versioned_kids(true)
            .build()
            .expect("config");
        let sign = |kid: &str| w.idp.token().alg(Algorithm::RS256).kid(kid).sign();
        let highest = *versions.last().expect("non-empty");
        // The bare base name: the highest version's key.
        let bare = verify(&verifier, &sign("svc"));
        prop_assert_eq!(bare.is_ok(), signer == highest, "versions={:?} signer={}", versions, signer);
        // The exact version: always its own key.
        let exact = sign(&format!("svc.{signer}"));
        prop_assert!(verify(&verifier, &exact).is_ok(), "exact version {}", signer);
        // An unpublished version: unknown, never the latest or a neighbour.
        if !versions.contains(&missing) {
            let err = verify(&verifier, &sign(&format!("svc.{missing}"))).expect_err("unpublished");
            prop_assert_eq!(err.reason(), AuthReason::UnknownKeyId);
        }
    }

    /// Duplicate kids (issue 13 point 1): a set listing entries under one kid, each either the
    /// signing key (possibly repeated byte for byte) or another RSA key. Identical entries are
    /// one key; the token verifies iff the signer is among the first `MAX_KEYS_PER_KID`
    /// distinct keys, and is otherwise an invalid signature (never ambiguous, never a refresh).
    #[test]
    fn duplicate_kids_verify_iff_the_signer_is_among_the_first_distinct_keys(
        entries in proptest::collection::vec(0usize..4, 1..8),
    ) {
        let keys = versioned_keys();
        // 0: the signer; 1..=3: other keys.
        let jwk_of = |pick: usize| {
            let mut jwk = if pick == 0 { keys.signer.clone() } else { keys.others[pick - 1].clone() };
            jwk["kid"] = json!("dup");
            jwk
        };
        let jwks: Vec<Value> = entries.iter().map(|&p| jwk_of(p)).collect();
        let mut distinct: Vec<usize> = Vec::new();
        for &p in &entries {
            if !distinct.contains(&p) {
                distinct.push(p);
            }
        }
        let expected = distinct.iter().take(jwks_auth::jwks::MAX_KEYS_PER_KID).any(|&p| p == 0);
        let w = world();
        let verifier = JwksVerifier::builder().http_client(world().client.clone())
            .static_jwks(json!({ "keys": jwks }).to_string())
            .issuer(w.idp.issuer())
            .audience(w.idp.audience())
            .build()
            .expect("config");
        let token = w.idp.token().alg(Algorithm::RS256).kid("dup").sign();
        let result = verify(&verifier, &token);
        prop_assert_eq!(result.is_ok(), expected, "entries={:?}: {:?}", entries, result.as_ref().err());
        if !expected {
            prop_assert_eq!(result.expect_err("refused").reason(), AuthReason::InvalidSignature);
        }
        prop_assert_eq!(verifier.status().kids.len(), distinct.len(), "identical entries merged");
    }

    /// Mint -> verify for every algorithm, with random extra claims that come back unchanged.
    #[test]
    fn round_trip_every_algorithm_with_random_claims(
        claims in proptest::collection::btree_map("x_[a-z0-9_]{1,12}", claim_value(), 0..6),
        sub in "\\PC{0,40}",
    ) {
        let w = world();
        let verifier = JwksVerifier::builder().http_client(world().client.clone())
            .static_jwks(w.jwks.clone())
            .issuer(w.idp.issuer())
            .audience(w.idp.audience())
            .token_cache_capacity(0)
            .build()
            .expect("config");
        for alg in ALGORITHMS {
            let mut builder = w.idp.token().alg(alg).subject(&sub);
            for (name, value) in &claims {
                builder = builder.claim(name, value.clone());
            }
            let token = builder.sign();
            let user = verify(&verifier, &token);
            prop_assert!(user.is_ok(), "{:?}: {:?}", alg, user.err());
            let user = user.expect("ok");
            prop_assert_eq!(user.sub(), Some(sub.as_str()));
            for (name, value) in &claims {
                prop_assert_eq!(user.claim(name), Some(value), "{:?} claim {}", alg, name);
            }
        }
    }

    /// Nothing invalid is let in: a minted token with any single signature bit flipped, or any
    /// other last character, is refused (no base64 or signature malleability).
    #[test]
    fn any_signature_change_is_refused(alg_pick in any::<proptest::sample::Index>(), bit in any::<proptest::sample::Index>()) {
        let w = world();
        let verifier = verifier_at(&ManualClock::now(), 30);
        let alg = ALGORITHMS[alg_pick.index(ALGORITHMS.len())];
        let token = w.idp.mint(alg);
        prop_assert!(verify(&verifier, &token).is_ok());
        let (input, signature) = token.rsplit_once('.').expect("compact");
        let mut raw = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        let bit = bit.index(raw.len() * 8);
        raw[bit / 8] ^= 1 << (bit % 8);
        let flipped = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&raw));
        prop_assert!(verify(&verifier, &flipped).is_err(), "{:?} bit {}", alg, bit);
        let last = signature.chars().last().expect("non-empty");
        for c in BASE64URL.chars().filter(|c| *c != last) {
            let other = format!("{input}.{}{c}", &signature[..signature.len() - 1]);
            prop_assert!(verify(&verifier, &other).is_err(), "{:?}: last char {}", alg, c);
        }
    }

    /// The first configured source that holds a token decides, whatever the order and
    /// whatever other cookies surround the token cookie.
    #[test]
    fn token_source_precedence_follows_the_configured_order(
        present in proptest::collection::vec(any::<bool>(), 3),
        order in Just(vec![0usize, 1, 2]).prop_shuffle(),
        junk_cookies in 0usize..20,
    ) {
        let w = world();
        let verifier = JwksVerifier::builder().http_client(world().client.clone())
            .static_jwks(w.jwks.clone())
            .issuer(w.idp.issuer())
            .audience(w.idp.audience())
            .build()
            .expect("config");
        let all = [
            TokenSource::AuthorizationBearer,
            TokenSource::cf_access_header(),
            TokenSource::cf_authorization_cookie(),
        ];
        let sources: Vec<TokenSource> = order.iter().map(|i| all[*i].clone()).collect();
        let app = app(JwksAuthLayer::new(verifier).token_sources(sources));
        let token = |who: &str| w.idp.token().alg(Algorithm::ES256).subject(who).sign();
        let (bearer, header, cookie) = (token("bearer"), token("header"), token("cookie"));
        let bearer = format!("Bearer {bearer}");
        let junk: String = (0..junk_cookies).map(|i| format!("j{i}=v{i}; ")).collect();
        let cookie = format!("{junk}CF_Authorization={cookie}; after=1");
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if present[0] { headers.push(("authorization", &bearer)); }
        if present[1] { headers.push(("cf-access-jwt-assertion", &header)); }
        if present[2] { headers.push(("cookie", &cookie)); }
        let reply = w.runtime.block_on(send(&app, get_with("/me", &headers)));
        let names = ["bearer", "header", "cookie"];
        match order.iter().find(|i| present[**i]) {
            Some(first) => {
                prop_assert_eq!(reply.status, StatusCode::OK);
                prop_assert_eq!(reply.body.as_str(), names[*first]);
            }
            None => prop_assert_eq!(reply.status, StatusCode::UNAUTHORIZED),
        }
    }
}

const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// JSON claim values: strings (any Unicode), integers, booleans, null and small nestings.
/// `secs` plus `millis` as a JSON NumericDate: an integer when `millis` is 0, else a decimal
/// fraction (`1700000000.125`).
fn numeric_date(secs: i64, millis: i64) -> Value {
    if millis == 0 {
        json!(secs)
    } else {
        serde_json::from_str(&format!("{secs}.{millis:03}")).expect("a JSON number")
    }
}

fn claim_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// RS256 keys for the `kid.version` property: the mock's current RS256 key (which signs) and
/// a few others (which do not), as public JWKs.
struct VersionedKeys {
    signer: Value,
    others: Vec<Value>,
}

fn versioned_keys() -> &'static VersionedKeys {
    static KEYS: OnceLock<VersionedKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // A second mock whose RS256 key rotates: its old keys become the "others". The first
        // mock's key (which signs) stays as it is.
        let w = world();
        let other = w.runtime.block_on(MockIdp::start());
        other.keep_previous(true);
        let mut kids: BTreeSet<String> = BTreeSet::new();
        kids.insert(other.kid(Algorithm::RS256));
        for _ in 0..3 {
            kids.insert(other.rotate(Algorithm::RS256));
        }
        let signer_kid = w.idp.kid(Algorithm::RS256);
        let signer = w.idp.public_jwk(&signer_kid).expect("published");
        let others: Vec<Value> = kids
            .iter()
            .filter_map(|k| other.public_jwk(k))
            .filter(|jwk| jwk["n"] != signer["n"])
            .collect();
        assert!(others.len() >= 3, "distinct RS256 keys");
        VersionedKeys { signer, others }
    })
}

/// ECDSA signatures are malleable: (r, n - s) is a second valid signature over the same
/// input, and JOSE (RFC 7518) does not require low-s, so real IdPs emit both halves and
/// refusing high-s would refuse valid tokens. The twin carries the same header and claims
/// byte for byte, so nothing can be forged with it; it only means that token bytes are not a
/// unique identity (the verified-token cache treats a twin as a miss, and a revocation list
/// must key on `jti`, never on the token string).
#[test]
fn an_ecdsa_twin_signature_carries_the_same_claims() {
    let w = world();
    let verifier = verifier_at(&ManualClock::now(), 30);
    for (alg, n) in [
        (Algorithm::ES256, P256_N.as_slice()),
        (Algorithm::ES384, P384_N.as_slice()),
        (Algorithm::ES512, P521_N.as_slice()),
    ] {
        let token = w.idp.token().alg(alg).subject("twin").sign();
        let (input, signature) = token.rsplit_once('.').expect("compact");
        let raw = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        let half = raw.len() / 2;
        let twin_s = sub_be(n, &raw[half..]);
        let twin = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode([&raw[..half], &twin_s[..]].concat())
        );
        assert_ne!(twin, token);
        let original = verify(&verifier, &token).expect("original");
        match verify(&verifier, &twin) {
            Ok(user) => assert_eq!(user.claims(), original.claims(), "{alg:?}"),
            Err(e) => assert_eq!(e.kind(), jwks_auth::AuthErrorKind::InvalidToken),
        }
    }
}

/// Ed25519 is not malleable: s + L (the group order) is refused (RFC 8032 section 5.1.7).
#[test]
fn an_ed25519_signature_with_s_plus_l_is_refused() {
    let w = world();
    let verifier = verifier_at(&ManualClock::now(), 30);
    let token = w.idp.mint(Algorithm::EdDSA);
    verify(&verifier, &token).expect("original");
    let (input, signature) = token.rsplit_once('.').expect("compact");
    let mut raw = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    // s is little-endian in the last 32 bytes; add L.
    let mut carry = 0u16;
    for (i, l) in ED25519_L.iter().enumerate() {
        let sum = u16::from(raw[32 + i]) + u16::from(*l) + carry;
        raw[32 + i] = u8::try_from(sum & 0xFF).expect("byte");
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&raw));
    assert!(verify(&verifier, &forged).is_err());
}

/// RSA signatures must be exactly the modulus length: a leading zero byte added or the
/// signature cut short is refused.
#[test]
fn rsa_signatures_of_the_wrong_length_are_refused() {
    let w = world();
    let verifier = verifier_at(&ManualClock::now(), 30);
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        let token = w.idp.mint(alg);
        let (input, signature) = token.rsplit_once('.').expect("compact");
        let raw = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        let longer = [&[0u8][..], &raw].concat();
        for bad in [longer, raw[1..].to_vec()] {
            let t = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bad));
            assert!(verify(&verifier, &t).is_err(), "{alg:?}");
        }
    }
}

const P256_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];
const P384_N: [u8; 48] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF,
    0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73,
];
/// The order of P-521, big-endian, 66 bytes (ES512's scalar length).
const P521_N: [u8; 66] = [
    0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFA, 0x51, 0x86, 0x87, 0x83, 0xBF, 0x2F, 0x96, 0x6B, 0x7F, 0xCC, 0x01, 0x48, 0xF7, 0x09,
    0xA5, 0xD0, 0x3B, 0xB5, 0xC9, 0xB8, 0x89, 0x9C, 0x47, 0xAE, 0xBB, 0x6F, 0xB7, 0x1E, 0x91, 0x38,
    0x64, 0x09,
];
/// The Ed25519 group order L, little-endian.
const ED25519_L: [u8; 32] = [
    0xED, 0xD3, 0xF5, 0x5C, 0x1A, 0x63, 0x12, 0x58, 0xD6, 0x9C, 0xF7, 0xA2, 0xDE, 0xF9, 0xDE, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// `a - b` for big-endian numbers of the same length, `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = u8::try_from(d.rem_euclid(256)).expect("byte");
    }
    out
}

/// The `verify` fuzz target's oracle, checked in `cargo test`: every line of
/// `fuzz/fixtures/accept.txt` verifies against `fuzz/fixtures/jwks.json` at the fixture clock,
/// and every line of `refuse.txt` (validly signed, yet invalid) is refused. A rule change that
/// makes the fixtures stale (as issue 13's fractional dates, exclusive `exp` and ES512 did)
/// fails here, not only in a fuzz run.
#[test]
fn the_fuzz_fixtures_hold_their_oracle() {
    const FIXTURE_NOW: i64 = 1_700_000_000;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fixtures");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("fixture");
    let verifier = JwksVerifier::builder()
        .http_client(world().client.clone())
        .static_jwks(read("jwks.json"))
        .issuer("https://idp.example.test")
        .audience("fuzz-api")
        .algorithms(jwks_auth::Algorithms::ASYMMETRIC.union(Algorithm::HS256.into()))
        .hmac_secret(Some("hs-1"), "fuzz-fixture-hmac-secret-0123456789abcdef")
        .unknown_kid_cooldown(Duration::from_secs(30))
        .clock(ManualClock::at_unix(FIXTURE_NOW))
        .build()
        .expect("fixture verifier");
    let accept = read("accept.txt");
    let accept: Vec<&str> = accept.lines().filter(|l| !l.is_empty()).collect();
    assert!(accept.len() >= 20);
    let algs: BTreeSet<String> = accept
        .iter()
        .map(|t| {
            let header = URL_SAFE_NO_PAD
                .decode(t.split('.').next().unwrap())
                .unwrap();
            serde_json::from_slice::<Value>(&header).unwrap()["alg"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(algs.contains("ES512"), "every algorithm minted: {algs:?}");
    for token in &accept {
        verify(&verifier, token).unwrap_or_else(|e| panic!("accept.txt refused ({e}): {token}"));
    }
    for token in read("refuse.txt").lines().filter(|l| !l.is_empty()) {
        assert!(
            verify(&verifier, token).is_err(),
            "refuse.txt accepted: {token}"
        );
    }
}
