//! Every resource bound of the crate, shown at its edge: the largest input that is still
//! handled and the smallest that is refused (or ignored). The table in `docs/HARDENING.md`
//! lists them.

mod common;

use std::time::{Duration, Instant};

use common::{app, get_with, send};
use http::StatusCode;
use jwks_auth::AuthReason;
use jwks_auth::jwks::{KeySet, MAX_KEYS};
use jwks_auth::testing::{Fault, MockIdp};
use jwks_auth::{Algorithm, Algorithms, JwksAuthLayer, JwksVerifier, MAX_COOKIES, TokenSource};
use serde_json::{Value, json};

/// Default token cap (`max_token_bytes`).
const MAX_TOKEN: usize = 16 * 1024;
/// Longest kid, in a token or a JWK.
const MAX_KID: usize = 256;
/// Most members of a JOSE header.
const MAX_HEADER_MEMBERS: usize = 16;
/// serde_json's recursion limit (128) allows 127 nested levels, the outer object included.
const MAX_JSON_DEPTH: usize = 127;
/// Default JWKS body cap (`max_jwks_bytes`).
const MAX_JWKS_BYTES: usize = 1024 * 1024;

fn verifier(idp: &MockIdp) -> JwksVerifier {
    JwksVerifier::builder()
        .static_jwks(idp.jwks_json().to_string())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config")
}

/// Signs the mock's default claims plus one member given as raw JSON text, with RS256.
fn signed_with_raw_member(idp: &MockIdp, name: &str, raw_value: &str) -> String {
    let defaults = idp.token().sign();
    let mut body = decode(defaults.split('.').nth(1).expect("payload")).to_string();
    body.pop();
    body.push_str(&format!(",\"{name}\":{raw_value}}}"));
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": idp.kid(Algorithm::RS256) });
    idp.sign_raw(Algorithm::RS256, &header.to_string(), &body)
}

fn decode(segment: &str) -> Value {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

#[tokio::test]
async fn token_size_is_capped_at_16_kib_before_any_crypto() {
    let idp = MockIdp::start().await;
    let v = verifier(&idp);
    // A signed token padded up to the cap verifies; one byte more is refused unparsed.
    let padded = |n: usize| signed_with_raw_member(&idp, "pad", &format!("\"{}\"", "x".repeat(n)));
    let base = padded(0).len();
    let start = (MAX_TOKEN - base) * 3 / 4 - 4;
    let mut at_cap = None;
    for n in start..start + 16 {
        let t = padded(n);
        if t.len() > MAX_TOKEN {
            break;
        }
        at_cap = Some(t);
    }
    let at_cap = at_cap.expect("a token just under the cap");
    assert!(at_cap.len() >= MAX_TOKEN - 1, "{}", at_cap.len());
    v.verify(&at_cap)
        .await
        .expect("a token at the cap verifies");
    let over = format!("{}{}", "a".repeat(MAX_TOKEN + 1 - 4), ".b.c");
    assert_eq!(over.len(), MAX_TOKEN + 1);
    let err = v.verify(&over).await.expect_err("over the cap");
    assert_eq!(err.reason(), AuthReason::TokenTooLarge);
    // A 1 MiB bearer header costs no more than a length check.
    let huge = "a".repeat(1024 * 1024);
    let started = Instant::now();
    for _ in 0..1000 {
        assert_eq!(
            v.verify(&huge).await.expect_err("huge").reason(),
            AuthReason::TokenTooLarge
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The cap is configurable.
    let small = JwksVerifier::builder()
        .static_jwks(idp.jwks_json().to_string())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .max_token_bytes(256)
        .build()
        .expect("config");
    let normal = idp.mint(Algorithm::RS256);
    assert!(normal.len() > 256);
    assert_eq!(
        small
            .verify(&normal)
            .await
            .expect_err("over 256 bytes")
            .reason(),
        AuthReason::TokenTooLarge
    );
}

#[tokio::test]
async fn kid_is_capped_at_256_bytes_in_tokens_and_in_key_sets() {
    let idp = MockIdp::start().await;
    let v = verifier(&idp);
    let at = idp.token().kid("k".repeat(MAX_KID)).sign();
    assert_eq!(
        v.verify(&at).await.expect_err("unknown").reason(),
        AuthReason::UnknownKeyId
    );
    let over = idp.token().kid("k".repeat(MAX_KID + 1)).sign();
    assert_eq!(
        v.verify(&over).await.expect_err("too long").reason(),
        AuthReason::InvalidKeyId
    );
    // In a JWKS: a 256-byte kid is usable, a 257-byte one is skipped.
    let mut jwk = idp.public_jwk(&idp.kid(Algorithm::ES256)).expect("jwk");
    jwk["kid"] = json!("k".repeat(MAX_KID));
    let mut long = jwk.clone();
    long["kid"] = json!("l".repeat(MAX_KID + 1));
    let doc = json!({ "keys": [jwk, long] }).to_string();
    let set = KeySet::from_jwks(doc.as_bytes(), Algorithms::ASYMMETRIC).expect("one usable");
    assert_eq!((set.len(), set.skipped()), (1, 1));
}

#[tokio::test]
async fn jose_header_holds_at_most_16_members() {
    let idp = MockIdp::start().await;
    let v = verifier(&idp);
    let header = |members: usize| {
        let mut h = json!({ "alg": "RS256", "typ": "JWT", "kid": idp.kid(Algorithm::RS256) });
        for i in 3..members {
            h[format!("x{i}")] = json!(i);
        }
        h.to_string()
    };
    let payload = decode(
        idp.mint(Algorithm::RS256)
            .split('.')
            .nth(1)
            .expect("payload"),
    )
    .to_string();
    let at = idp.sign_raw(Algorithm::RS256, &header(MAX_HEADER_MEMBERS), &payload);
    v.verify(&at).await.expect("16 members verify");
    let over = idp.sign_raw(Algorithm::RS256, &header(MAX_HEADER_MEMBERS + 1), &payload);
    assert_eq!(
        v.verify(&over).await.expect_err("17").reason(),
        AuthReason::MalformedHeader
    );
}

/// Nesting is bounded by serde_json's recursion limit (127 levels, the outer object
/// included), in the header and in the claims; the crate adds no bound of its own. The claims
/// are only parsed after the signature verified, so only the issuer can send deep claims.
#[tokio::test]
async fn json_nesting_is_bounded_at_127_levels() {
    let idp = MockIdp::start().await;
    let v = verifier(&idp);
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    // The claims object is level 1: 126 nested arrays make 127 levels.
    let at = signed_with_raw_member(&idp, "deep", &nested(MAX_JSON_DEPTH - 1));
    let user = v.verify(&at).await.expect("127 levels verify");
    assert!(user.claim("deep").is_some());
    let over = signed_with_raw_member(&idp, "deep", &nested(MAX_JSON_DEPTH));
    assert_eq!(
        v.verify(&over).await.expect_err("128").reason(),
        AuthReason::MalformedPayload
    );
    // The header: the same limit, before any key lookup.
    let payload = decode(
        idp.mint(Algorithm::RS256)
            .split('.')
            .nth(1)
            .expect("payload"),
    )
    .to_string();
    let kid = idp.kid(Algorithm::RS256);
    let header =
        |levels: usize| format!(r#"{{"alg":"RS256","kid":"{kid}","x":{}}}"#, nested(levels));
    v.verify(&idp.sign_raw(Algorithm::RS256, &header(MAX_JSON_DEPTH - 1), &payload))
        .await
        .expect("127 levels in the header");
    let err = v
        .verify(&idp.sign_raw(Algorithm::RS256, &header(MAX_JSON_DEPTH), &payload))
        .await
        .expect_err("128 in the header");
    assert_eq!(err.reason(), AuthReason::MalformedHeader);
    // A JWKS document: the same limit (document, `keys`, the JWK, then the member's levels).
    let jwk = idp.public_jwk(&kid).expect("jwk").to_string();
    let doc = |levels: usize| {
        let member = format!(r#""x5c":{},"#, nested(levels));
        format!(r#"{{"keys":[{{{member}{}]}}"#, &jwk[1..])
    };
    KeySet::from_jwks(doc(MAX_JSON_DEPTH - 3).as_bytes(), Algorithms::ASYMMETRIC)
        .expect("127 levels");
    let err = KeySet::from_jwks(doc(MAX_JSON_DEPTH - 2).as_bytes(), Algorithms::ASYMMETRIC)
        .expect_err("128 levels");
    assert!(err.to_string().contains("recursion limit"), "{err}");
}

#[test]
fn a_jwks_contributes_at_most_256_keys() {
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    });
    let keys: Vec<Value> = (0..MAX_KEYS + 44)
        .map(|i| {
            let mut k = jwk.clone();
            k["kid"] = json!(format!("k{i}"));
            k
        })
        .collect();
    let doc = json!({ "keys": keys }).to_string();
    let set = KeySet::from_jwks(doc.as_bytes(), Algorithms::ASYMMETRIC).expect("usable");
    assert_eq!((set.len(), set.skipped()), (MAX_KEYS, 44));
    assert_eq!(
        set.kids().last(),
        Some(format!("k{}", MAX_KEYS - 1).as_str())
    );
    // 10,000 keys under distinct kids: parsed in bounded time, still 256 kept.
    let many: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut k = jwk.clone();
            k["kid"] = json!(format!("m{i}"));
            k
        })
        .collect();
    let doc = json!({ "keys": many }).to_string();
    let started = Instant::now();
    let set = KeySet::from_jwks(doc.as_bytes(), Algorithms::ASYMMETRIC).expect("usable");
    assert_eq!(set.len(), MAX_KEYS);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // 10,000 copies of one key: identical entries are merged when the set is built (issue 13
    // point 1), so one key is kept, in bounded time too.
    let same: Vec<Value> = (0..10_000).map(|_| jwk.clone()).collect();
    let doc = json!({ "keys": same }).to_string();
    let started = Instant::now();
    let set = KeySet::from_jwks(doc.as_bytes(), Algorithms::ASYMMETRIC).expect("usable");
    assert_eq!((set.len(), set.skipped()), (1, 0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn jwks_body_is_capped_at_1_mib() {
    let idp = MockIdp::start().await;
    let build = || {
        common::builder(&idp)
            .failure_backoff(Duration::ZERO)
            .build()
            .expect("config")
    };
    idp.set_fault(Fault::Oversized(MAX_JWKS_BYTES));
    let at = build();
    at.verify(&idp.mint(Algorithm::ES256))
        .await
        .expect("exactly 1 MiB is fetched");
    idp.set_fault(Fault::Oversized(MAX_JWKS_BYTES + 1));
    let over = build();
    let err = over
        .verify(&idp.mint(Algorithm::ES256))
        .await
        .expect_err("1 MiB + 1");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    let status = over.status();
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("body larger than 1048576 bytes")),
        "{status:?}"
    );
    // The same cap bounds the discovery document (same fetcher).
    let oidc = JwksVerifier::builder()
        .oidc_issuer(idp.issuer())
        .audience(idp.audience())
        .http_retries(0)
        .build()
        .expect("config");
    let err = oidc.refresh().await.expect_err("oversized discovery");
    assert!(err.to_string().contains("body larger than"), "{err}");
}

#[tokio::test]
async fn at_most_100_cookies_are_examined() {
    let idp = MockIdp::start().await;
    let app =
        app(JwksAuthLayer::new(verifier(&idp))
            .token_sources([TokenSource::cf_authorization_cookie()]));
    let token = idp.token().subject("from-cookie").sign();
    let cookies = |before: usize| {
        let junk: String = (0..before).map(|i| format!("c{i}=v; ")).collect();
        format!("{junk}CF_Authorization={token}")
    };
    // The token as the 100th cookie is found; as the 101st it is refused (present but not
    // read: never "no token", which an optional layer would let through anonymous).
    let found = send(
        &app,
        get_with("/me", &[("cookie", &cookies(MAX_COOKIES - 1))]),
    )
    .await;
    assert_eq!(
        (found.status, found.body.as_str()),
        (StatusCode::OK, "from-cookie")
    );
    let refused = send(&app, get_with("/me", &[("cookie", &cookies(MAX_COOKIES))])).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers["www-authenticate"],
        r#"Bearer error="invalid_token", error_description="too many cookies""#,
    );
    // The count spans all Cookie headers.
    let first: String = (0..60).map(|i| format!("a{i}=v; ")).collect();
    let second: String = (0..40).map(|i| format!("b{i}=v; ")).collect();
    let split = send(
        &app,
        get_with(
            "/me",
            &[
                ("cookie", first.trim_end_matches("; ")),
                ("cookie", &format!("{second}CF_Authorization={token}")),
            ],
        ),
    )
    .await;
    assert_eq!(
        split.status,
        StatusCode::UNAUTHORIZED,
        "101st cookie across two headers"
    );
    // A 1 MiB cookie header with 150,000 cookies: past the first 100 only names are compared.
    let huge: String = (0..150_000).map(|i| format!("z{i}=v; ")).collect();
    let huge = format!("{huge}CF_Authorization={token}");
    assert!(huge.len() > 1024 * 1024);
    let huge = http::HeaderValue::from_str(&huge).expect("visible ASCII");
    let started = Instant::now();
    for _ in 0..20 {
        let request = http::Request::get("/me")
            .header("cookie", huge.clone())
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(send(&app, request).await.status, StatusCode::UNAUTHORIZED);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_cookie_token_is_held_to_the_same_size_cap() {
    let idp = MockIdp::start().await;
    let app =
        app(JwksAuthLayer::new(verifier(&idp))
            .token_sources([TokenSource::cf_authorization_cookie()]));
    let big = format!("CF_Authorization={}.b.c", "a".repeat(MAX_TOKEN));
    let reply = send(&app, get_with("/me", &[("cookie", &big)])).await;
    reply.assert_invalid();
    assert!(reply.body.contains("token too large"), "{}", reply.body);
}
