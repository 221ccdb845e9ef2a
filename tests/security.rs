//! The security checklist (`docs/SECURITY.md`), row by row, against the in-process mock IdP.
//!
//! Every refusal asserts the status and the `WWW-Authenticate` challenge, and the mock's JWKS
//! fetch count wherever a row is about fetches ("refused before any key lookup" means a fresh
//! verifier never fetched). Four tests (crit/b64 null, duplicate unread header members, a
//! non-object header, deep nesting in an unread header member) were written as reproductions
//! of header-parser defects, and pass since the header is parsed as a unique-member object.

mod common;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Reply, app, bearer, builder, get_with, send, send_token};
use http::{HeaderValue, Request, StatusCode};
use jwks_auth::testing::{Fault, MockIdp, foreign_token};
use jwks_auth::{
    Algorithm, Algorithms, DefaultRejection, DevBypass, JwksAuthLayer, JwksVerifier,
    JwksVerifierBuilder, MAX_COOKIES, ManualClock, TokenSource, User,
};
use serde_json::{Value, json};
use tokio::task::JoinSet;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Order of the P-256 group.
const P256_N: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
/// Order of the P-384 group.
const P384_N: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973";
/// The order of P-521 (SEC 2 section 2.6.1), as 66 bytes (ES512's `r` and `s` length).
const P521_N: &str = "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409";

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("system clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit in i64")
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The three segments of a compact JWS.
fn segments(token: &str) -> [&str; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    [parts[0], parts[1], parts[2]]
}

/// `token` with its signature replaced by `signature`.
fn with_signature(token: &str, signature: &[u8]) -> String {
    let [header, payload, _] = segments(token);
    format!("{header}.{payload}.{}", b64(signature))
}

/// An unsigned token: exactly these header and payload bytes, and this signature text.
fn forge(header: &str, payload: &str, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header), b64(payload))
}

/// The header the mock puts on an RS256 token, as JSON text.
fn rs256_header(idp: &MockIdp) -> String {
    json!({"alg": "RS256", "typ": "JWT", "kid": idp.kid(Algorithm::RS256)}).to_string()
}

/// Minimal valid claims for the mock's issuer and audience, as JSON text.
fn payload_json(idp: &MockIdp) -> String {
    json!({"iss": idp.issuer(), "sub": "user-1", "aud": "test-api", "exp": now() + 3600})
        .to_string()
}

fn build(builder: JwksVerifierBuilder) -> (JwksVerifier, Router) {
    let verifier = builder.build().expect("config");
    let router = app(JwksAuthLayer::new(verifier.clone()));
    (verifier, router)
}

/// A 401 `invalid_token` refusal, with the failing case named.
#[track_caller]
fn assert_refused(reply: &Reply, case: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{case}: {}",
        reply.body
    );
    assert!(
        reply
            .challenge()
            .is_some_and(|c| c.contains(r#"error="invalid_token""#)),
        "{case}: challenge {:?}",
        reply.challenge()
    );
    reply.assert_invalid();
}

/// A 401 refusal for this exact reason (body and challenge both say it).
#[track_caller]
fn assert_refused_because(reply: &Reply, case: &str, description: &str) {
    assert_refused(reply, case);
    assert_eq!(
        reply.body,
        json!({ "detail": description }).to_string(),
        "{case}"
    );
    let expected = format!(r#"Bearer error="invalid_token", error_description="{description}""#);
    assert_eq!(reply.challenge(), Some(expected.as_str()), "{case}");
}

#[track_caller]
fn assert_accepted(reply: &Reply, case: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{case}: {}", reply.body);
    assert_eq!(reply.challenge(), None, "{case}");
}

/// A 401 for a request that carries no token: bare `Bearer` challenge, no error code.
#[track_caller]
fn assert_missing(reply: &Reply, case: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{case}: {}",
        reply.body
    );
    assert_eq!(reply.challenge(), Some("Bearer"), "{case}");
}

/// A 503 with `Retry-After` and no challenge.
#[track_caller]
fn assert_unavailable(reply: &Reply, case: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{case}: {}",
        reply.body
    );
    assert_eq!(reply.challenge(), None, "{case}");
    let retry = reply.headers.get("retry-after").expect("Retry-After");
    let secs: u64 = retry.to_str().expect("ascii").parse().expect("seconds");
    assert!(secs >= 1, "{case}: Retry-After {secs}");
    assert_eq!(
        reply.body, r#"{"detail":"signing keys unavailable"}"#,
        "{case}"
    );
}

fn request(headers: Vec<(&'static str, HeaderValue)>) -> Request<Body> {
    let mut request = Request::get("/me");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(Body::empty()).expect("request")
}

/// A big-endian scalar of `len` bytes holding `value`.
fn scalar(value: u8, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    bytes[len - 1] = value;
    bytes
}

/// DER `INTEGER`.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut value = bytes[start..].to_vec();
    if value[0] & 0x80 != 0 {
        value.insert(0, 0);
    }
    let mut out = vec![0x02, u8::try_from(value.len()).expect("short")];
    out.extend(value);
    out
}

/// DER `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (what JWS must NOT accept).
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut body = der_integer(r);
    body.extend(der_integer(s));
    let len = u8::try_from(body.len()).expect("short");
    // P-521 signatures exceed 127 bytes: DER's long form, one length byte.
    let mut out = if len < 0x80 {
        vec![0x30, len]
    } else {
        vec![0x30, 0x81, len]
    };
    out.extend(body);
    out
}

/// Captures everything logged (at every level) on this thread while the guard lives.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

/// A deterministic pseudo-random 64-bit value (splitmix64).
fn pseudo_random(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------------
// alg: none, unknown algs, empty signature
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_in_any_case_and_unknown_algs_are_refused_before_any_fetch() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let kid = idp.kid(Algorithm::RS256);
    let payload = payload_json(&idp);
    let real = idp.mint(Algorithm::RS256);
    let [real_header, real_payload, real_signature] = segments(&real);

    let mut cases: Vec<(String, String)> = Vec::new();
    for alg in ["none", "None", "NoNe", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string();
        cases.push((
            format!("{alg}, empty signature"),
            forge(&header, &payload, ""),
        ));
        cases.push((
            format!("{alg}, with a signature"),
            forge(&header, &payload, real_signature),
        ));
        let bare = json!({ "alg": alg }).to_string();
        cases.push((format!("{alg}, no kid"), forge(&bare, &payload, "")));
        // The real key's RS256 signature over a header that says `none`.
        cases.push((
            format!("{alg}, signed"),
            idp.sign_raw(Algorithm::RS256, &header, &payload),
        ));
    }
    for alg in [
        json!("rs256"),
        json!("RS256 "),
        json!(" RS256"),
        json!("RS256\u{0}"),
        json!("HS1"),
        json!("ES256K"),
        json!("ES999"),
        json!("RSA-OAEP"),
        json!("dir"),
        json!(""),
        json!(null),
        json!(256),
        json!(["RS256"]),
        json!({ "name": "RS256" }),
    ] {
        let header = json!({"alg": alg, "kid": kid}).to_string();
        cases.push((
            format!("alg {alg}"),
            idp.sign_raw(Algorithm::RS256, &header, &payload),
        ));
    }
    let no_alg = json!({"kid": kid, "typ": "JWT"}).to_string();
    cases.push((
        "no alg member".into(),
        idp.sign_raw(Algorithm::RS256, &no_alg, &payload),
    ));
    cases.push((
        "RS256, trailing dot (a.b.)".into(),
        format!("{real_header}.{real_payload}."),
    ));

    for (case, token) in &cases {
        assert_refused(&send_token(&app, token).await, case);
    }
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");

    // `none` (or no alg) and an algorithm we do not implement say different things, and the
    // second never echoes the header's text (issue 13 point 6).
    const NONE: &str = "unsupported algorithm (none or missing)";
    const UNKNOWN: &str = "unsupported algorithm (not implemented by this verifier)";
    for (alg, description) in [
        (json!("none"), NONE),
        (json!("NoNe"), NONE),
        (json!(""), NONE),
        (json!(null), NONE),
        (json!("ES999"), UNKNOWN),
        (json!("ES256K"), UNKNOWN),
        (json!("rs256"), UNKNOWN),
        (json!("ES999\"\r\nX-Injected: 1"), UNKNOWN),
    ] {
        let header = json!({"alg": alg, "kid": kid}).to_string();
        let token = idp.sign_raw(Algorithm::RS256, &header, &payload);
        let reply = send_token(&app, &token).await;
        assert_refused_because(&reply, &format!("alg {alg}"), description);
    }
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");
}

// ---------------------------------------------------------------------------------------------
// Key confusion: HS* with the RSA public key as secret
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hmac_signed_with_the_rsa_public_key_is_refused_without_fetch() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let kid = idp.kid(Algorithm::RS256);
    let pem = idp.rsa_public_pem(&kid).expect("RSA public PEM");
    let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(pem_body).expect("PEM body is base64");
    let jwk = idp.public_jwk(&kid).expect("published JWK");
    let n_text = jwk["n"].as_str().expect("n").to_owned();
    let n = unb64(&n_text);
    let jwk_text = jwk.to_string();
    let secrets: [(&str, &[u8]); 6] = [
        ("PEM", pem.as_bytes()),
        ("PEM without final newline", pem.trim_end().as_bytes()),
        ("DER", &der),
        ("raw n", &n),
        ("n as base64url text", n_text.as_bytes()),
        ("JWK JSON", jwk_text.as_bytes()),
    ];
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        for (what, secret) in secrets {
            let with_kid = idp
                .token()
                .alg(alg)
                .kid(kid.clone())
                .hmac_secret(secret)
                .sign();
            let case = format!("{alg:?} keyed with the {what}, kid {kid}");
            assert_refused(&send_token(&app, &with_kid).await, &case);
            let without_kid = idp.token().alg(alg).hmac_secret(secret).sign();
            let case = format!("{alg:?} keyed with the {what}, no kid");
            assert_refused(&send_token(&app, &without_kid).await, &case);
        }
    }
    assert_eq!(idp.jwks_fetches(), 0, "HS* never reaches the key set");
}

#[tokio::test]
async fn hmac_never_verifies_against_the_key_set_even_with_an_oct_key_published() {
    let idp = MockIdp::start().await;
    let oct_secret = b"a secret published in the JWKS as an oct key";
    let mut jwks = idp.jwks_json();
    jwks["keys"].as_array_mut().expect("keys").push(json!({
        "kty": "oct", "kid": "oct-1", "alg": "HS256", "use": "sig", "k": b64(oct_secret)
    }));
    idp.set_jwks_override(Some(jwks));
    let local_secret = [7_u8; 32];
    let (verifier, app) = build(
        builder(&idp)
            .algorithms(Algorithms::from_iter([Algorithm::HS256, Algorithm::RS256]))
            .hmac_secret(Some("local-1"), local_secret.to_vec()),
    );
    let rs_kid = idp.kid(Algorithm::RS256);
    let pem = idp.rsa_public_pem(&rs_kid).expect("PEM");

    let oct_token = idp
        .token()
        .alg(Algorithm::HS256)
        .kid("oct-1")
        .hmac_secret(oct_secret)
        .sign();
    let cases = [
        ("HS256 with the published oct key", oct_token.clone()),
        (
            "HS256 keyed with the RSA PEM, RSA kid",
            idp.token()
                .alg(Algorithm::HS256)
                .kid(rs_kid.clone())
                .hmac_secret(&pem)
                .sign(),
        ),
        (
            "HS256 keyed with the RSA PEM, local kid",
            idp.token()
                .alg(Algorithm::HS256)
                .kid("local-1")
                .hmac_secret(&pem)
                .sign(),
        ),
        (
            "HS256 keyed with the RSA PEM, no kid",
            idp.token().alg(Algorithm::HS256).hmac_secret(&pem).sign(),
        ),
    ];
    for (case, token) in &cases {
        assert_refused(&send_token(&app, token).await, case);
    }
    // Control: HS256 does work with the locally configured secret, so the refusals above are
    // about the key, not a blanket ban.
    let local = idp
        .token()
        .alg(Algorithm::HS256)
        .kid("local-1")
        .hmac_secret(local_secret)
        .sign();
    assert_accepted(&send_token(&app, &local).await, "locally configured secret");
    assert_eq!(idp.jwks_fetches(), 0, "HS* never reaches the key set");

    // Once the set is loaded, the oct key is not in it, and still not used.
    assert_accepted(
        &send_token(&app, &idp.mint(Algorithm::RS256)).await,
        "RS256 control",
    );
    let kids = verifier.status().kids;
    assert!(kids.contains(&rs_kid), "{kids:?}");
    assert!(
        !kids.iter().any(|k| k == "oct-1"),
        "oct key skipped: {kids:?}"
    );
    assert_refused(&send_token(&app, &oct_token).await, "oct key, set loaded");
    assert_eq!(idp.jwks_fetches(), 1);
}

// ---------------------------------------------------------------------------------------------
// The token's alg must fit the key it names
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_alg_must_fit_the_key_it_names_and_a_misfit_does_not_refresh() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    assert_accepted(
        &send_token(&app, &idp.mint(Algorithm::RS256)).await,
        "control",
    );
    let signed_as =
        |alg: Algorithm, naming: Algorithm| idp.token().alg(alg).kid(idp.kid(naming)).sign();
    let cases = [
        (
            "PS256 naming the RS256 key",
            signed_as(Algorithm::PS256, Algorithm::RS256),
        ),
        (
            "RS256 naming the PS256 key",
            signed_as(Algorithm::RS256, Algorithm::PS256),
        ),
        (
            "PS512 naming the RS512 key",
            signed_as(Algorithm::PS512, Algorithm::RS512),
        ),
        (
            "RS384 naming the RS256 key",
            signed_as(Algorithm::RS384, Algorithm::RS256),
        ),
        (
            "ES384 naming the P-256 key",
            signed_as(Algorithm::ES384, Algorithm::ES256),
        ),
        (
            "ES256 naming the P-384 key",
            signed_as(Algorithm::ES256, Algorithm::ES384),
        ),
        (
            "EdDSA naming the P-256 key",
            signed_as(Algorithm::EdDSA, Algorithm::ES256),
        ),
        (
            "ES256 naming the Ed25519 key",
            signed_as(Algorithm::ES256, Algorithm::EdDSA),
        ),
        (
            "RS256 naming the Ed25519 key",
            signed_as(Algorithm::RS256, Algorithm::EdDSA),
        ),
        (
            "ES512 naming the P-384 key",
            signed_as(Algorithm::ES512, Algorithm::ES384),
        ),
        (
            "ES384 naming the P-521 key",
            signed_as(Algorithm::ES384, Algorithm::ES512),
        ),
        (
            "RS256 naming the P-521 key",
            signed_as(Algorithm::RS256, Algorithm::ES512),
        ),
    ];
    for (case, token) in &cases {
        let reply = send_token(&app, token).await;
        assert_refused_because(&reply, case, "algorithm not allowed for this key");
    }
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "a misfit alg is not an unknown kid: no refresh"
    );
}

#[tokio::test]
async fn a_correctly_signed_token_is_refused_when_its_jwk_pins_another_alg() {
    let idp = MockIdp::start().await;
    let ps_kid = idp.kid(Algorithm::PS256);
    let es_kid = idp.kid(Algorithm::ES256);
    let ps_token = idp.mint(Algorithm::PS256);
    let es_token = idp.mint(Algorithm::ES256);
    let (_, control) = build(builder(&idp));
    assert_accepted(&send_token(&control, &ps_token).await, "PS256 as published");
    assert_accepted(&send_token(&control, &es_token).await, "ES256 as published");

    // Same keys, republished: the PS256 key pinned to RS256, the P-256 key claiming ES384.
    let mut jwks = idp.jwks_json();
    for key in jwks["keys"].as_array_mut().expect("keys") {
        if key["kid"] == ps_kid {
            key["alg"] = json!("RS256");
        }
        if key["kid"] == es_kid {
            key["alg"] = json!("ES384");
        }
    }
    idp.set_jwks_override(Some(jwks));
    let (verifier, app) = build(builder(&idp));
    let reply = send_token(&app, &ps_token).await;
    assert_refused_because(
        &reply,
        "PS256 token, key pinned to RS256",
        "algorithm not allowed for this key",
    );
    // A JWK whose alg does not fit its key type is skipped, so its kid is unknown.
    assert!(!verifier.status().kids.contains(&es_kid));
    let reply = send_token(&app, &es_token).await;
    assert_refused_because(
        &reply,
        "ES256 token, P-256 key claiming ES384",
        "unknown key id",
    );
    let es384_on_p256 = idp.token().alg(Algorithm::ES384).kid(es_kid.clone()).sign();
    assert_refused(
        &send_token(&app, &es384_on_p256).await,
        "ES384 token naming the P-256 key",
    );

    // Algorithms outside the configured set are refused even with a valid signature.
    let (_, rs_only) = build(builder(&idp).algorithms(Algorithm::RS256));
    assert_accepted(
        &send_token(&rs_only, &idp.mint(Algorithm::RS256)).await,
        "RS256 allowed",
    );
    for alg in [
        Algorithm::PS256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS512,
    ] {
        let case = format!("{alg:?} with only RS256 configured");
        assert_refused(&send_token(&rs_only, &idp.mint(alg)).await, &case);
    }
}

// ---------------------------------------------------------------------------------------------
// Forged signatures (CVE-2022-21449 class and friends)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ecdsa_signatures_with_zero_or_out_of_range_scalars_or_der_encoding_are_refused() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    for (alg, order, len) in [
        (Algorithm::ES256, P256_N, 32),
        (Algorithm::ES384, P384_N, 48),
        (Algorithm::ES512, P521_N, 66),
    ] {
        let token = idp.mint(alg);
        assert_accepted(&send_token(&app, &token).await, &format!("{alg:?} control"));
        let signature = unb64(segments(&token)[2]);
        assert_eq!(signature.len(), 2 * len);
        let (r, s) = signature.split_at(len);
        let n = hex(order);
        let (zero, one) = (vec![0; len], scalar(1, len));
        let mut n_minus_one = n.clone();
        n_minus_one[len - 1] -= 1;
        let mut last_flipped = signature.clone();
        last_flipped[2 * len - 1] ^= 1;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "r = 0, s = 0 (all zero bytes)",
                [zero.clone(), zero.clone()].concat(),
            ),
            ("r = 0, s = real", [zero.clone(), s.to_vec()].concat()),
            ("r = real, s = 0", [r.to_vec(), zero.clone()].concat()),
            ("r = n, s = 1", [n.clone(), one.clone()].concat()),
            ("r = 1, s = n", [one.clone(), n.clone()].concat()),
            ("r = n, s = n", [n.clone(), n.clone()].concat()),
            (
                "r = n - 1, s = n - 1",
                [n_minus_one.clone(), n_minus_one.clone()].concat(),
            ),
            ("r = real, s = n", [r.to_vec(), n.clone()].concat()),
            ("all 0xff bytes", vec![0xff; 2 * len]),
            ("DER-encoded r = n, s = 1", der_signature(&n, &one)),
            ("DER-encoded real r, s", der_signature(r, s)),
            ("r and s swapped", [s.to_vec(), r.to_vec()].concat()),
            ("real signature, last byte flipped", last_flipped),
            (
                "real signature, one byte short",
                signature[..2 * len - 1].to_vec(),
            ),
            (
                "real signature plus a zero byte",
                [signature.clone(), vec![0]].concat(),
            ),
            (
                "real signature twice",
                [signature.clone(), signature.clone()].concat(),
            ),
        ];
        for (case, forged) in &cases {
            let reply = send_token(&app, &with_signature(&token, forged)).await;
            assert_refused_because(&reply, &format!("{alg:?}: {case}"), "invalid signature");
        }
    }
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "forged signatures on a known kid never refresh"
    );
}

#[tokio::test]
async fn forged_spliced_and_foreign_signatures_are_refused_for_every_algorithm() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    for alg in jwks_auth::testing::ALGORITHMS {
        let token = idp.token().alg(alg).subject("alice").sign();
        assert_accepted(&send_token(&app, &token).await, &format!("{alg:?} control"));
        let signature = unb64(segments(&token)[2]);
        // Another token's valid signature on this header and payload.
        let other = idp.token().alg(alg).subject("mallory").sign();
        let [header, _, _] = segments(&token);
        let [_, other_payload, _] = segments(&other);
        let [_, _, own_signature] = segments(&token);
        let foreign = foreign_token(
            alg,
            &idp.kid(alg),
            json!({"iss": idp.issuer(), "sub": "mallory", "aud": "test-api", "exp": now() + 3600}),
        );
        let cases = [
            (
                "zero signature",
                with_signature(&token, &vec![0; signature.len()]),
            ),
            (
                "payload swapped under a valid signature",
                format!("{header}.{other_payload}.{own_signature}"),
            ),
            (
                "signed by an unpublished key naming a published kid",
                foreign,
            ),
        ];
        for (case, forged) in &cases {
            let reply = send_token(&app, forged).await;
            assert_refused_because(&reply, &format!("{alg:?}: {case}"), "invalid signature");
        }
    }
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "bad signatures on known kids never refresh"
    );
}

#[tokio::test]
async fn signatures_in_non_canonical_base64_are_refused() {
    // 64 signature bytes take 86 base64 characters; the last one carries 2 unused bits. A
    // decoder that ignores them would accept several spellings of one signature.
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let token = idp.mint(alg);
        assert_accepted(&send_token(&app, &token).await, &format!("{alg:?} control"));
        let [header, payload, signature] = segments(&token);
        assert_eq!(signature.len(), 86);
        let last = signature.as_bytes()[85];
        let index = ALPHABET
            .iter()
            .position(|c| *c == last)
            .expect("base64url character");
        assert_eq!(
            index & 0b11,
            0,
            "canonical encoding leaves the unused bits at zero"
        );
        let spelled = format!("{}{}", &signature[..85], ALPHABET[index | 1] as char);
        let cases = [
            ("unused bits set", format!("{header}.{payload}.{spelled}")),
            ("padded", format!("{header}.{payload}.{signature}==")),
            (
                "standard alphabet",
                format!("{header}.{payload}.{}", STANDARD.encode(unb64(signature))),
            ),
        ];
        for (case, token) in &cases {
            assert_refused(&send_token(&app, token).await, &format!("{alg:?}: {case}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kid
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn kid_is_an_opaque_length_capped_lookup_key() {
    let idp = MockIdp::start().await;
    let rs = idp.kid(Algorithm::RS256);
    // (case, kid, JWKS fetches by a fresh verifier: 0 = refused before any key lookup)
    let cases: Vec<(&str, Value, usize)> = vec![
        ("path traversal", json!("../../../../etc/passwd"), 1),
        (
            "path traversal ending in a known kid",
            json!(format!("../{rs}")),
            1,
        ),
        ("SQL", json!("' OR '1'='1' --"), 1),
        ("NUL after a known kid", json!(format!("{rs}\u{0}")), 1),
        ("NUL", json!("\u{0}"), 1),
        ("known kid in another case", json!(rs.to_uppercase()), 1),
        (
            "known kid with a trailing space",
            json!(format!("{rs} ")),
            1,
        ),
        ("prefix of a known kid", json!("rs256"), 1),
        ("wildcard", json!("*"), 1),
        (
            "homoglyph of a known kid",
            json!(rs.replace('s', "\u{0455}")),
            1,
        ),
        (
            "URL",
            json!(format!("{}/.well-known/jwks.json", idp.url())),
            1,
        ),
        ("256 bytes (the cap)", json!("k".repeat(256)), 1),
        ("257 bytes", json!("k".repeat(257)), 0),
        ("10 KB", json!("k".repeat(10 * 1024)), 0),
        ("86 characters, 258 bytes", json!("\u{20ac}".repeat(86)), 0),
        // `""` is a kid like any other (issue 13 point 9): looked up, unknown in this set.
        ("empty", json!(""), 1),
        ("number", json!(7), 0),
        ("array", json!([rs]), 0),
        ("object", json!({ "kid": rs }), 0),
        ("boolean", json!(true), 0),
    ];
    for (case, kid, fetches) in cases {
        let (_, app) = build(builder(&idp));
        let before = idp.jwks_fetches();
        let token = idp.token().header("kid", kid).sign();
        assert!(
            token.len() < 16 * 1024,
            "{case}: under the size cap, so the kid check decides"
        );
        assert_refused(&send_token(&app, &token).await, case);
        assert_eq!(idp.jwks_fetches() - before, fetches, "{case}: fetches");
    }
}

#[tokio::test]
async fn tokens_without_kid_are_refused_by_default() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let no_kid = idp.token().no_kid().sign();
    let null_kid = idp.token().header("kid", Value::Null).sign();
    for (case, token) in [("no kid", &no_kid), ("kid null", &null_kid)] {
        assert_refused_because(&send_token(&app, token).await, case, "token has no key id");
    }
    // Control: allowed when configured, since exactly one published key fits RS256.
    let (_, lenient) = build(builder(&idp).allow_missing_kid(true));
    assert_accepted(&send_token(&lenient, &no_kid).await, "allow_missing_kid");
}

// ---------------------------------------------------------------------------------------------
// Unknown kids: one refresh, then a cooldown
// ---------------------------------------------------------------------------------------------

/// A token naming `kid` (never published); its signature never gets checked.
fn unknown_kid_token(idp: &MockIdp, kid: &str) -> String {
    forge(
        &json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string(),
        &payload_json(idp),
        "c2ln",
    )
}

#[tokio::test]
async fn unknown_kid_refreshes_once_then_is_refused() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    assert_accepted(&send_token(&app, &idp.mint(Algorithm::RS256)).await, "warm");
    let reply = send_token(&app, &unknown_kid_token(&idp, "rotated-away")).await;
    assert_refused_because(&reply, "unknown kid", "unknown key id");
    assert_eq!(idp.jwks_fetches(), 2, "one refresh for the unknown kid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_flood_during_the_cooldown_costs_no_fetch() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let (verifier, app) = build(
        builder(&idp)
            .clock(clock.clone())
            .unknown_kid_cooldown(Duration::from_secs(60)),
    );
    assert_accepted(&send_token(&app, &idp.mint(Algorithm::RS256)).await, "warm");
    let reply = send_token(&app, &unknown_kid_token(&idp, "first-unknown")).await;
    assert_refused(&reply, "first unknown kid");
    assert_eq!(
        idp.jwks_fetches(),
        2,
        "the first unknown kid refreshes once"
    );
    let rejections_before = verifier.status().cooldown_rejections;

    let mut flood = JoinSet::new();
    for i in 0..1_000_u64 {
        let app = app.clone();
        let token = unknown_kid_token(&idp, &format!("{:016x}", pseudo_random(i)));
        flood.spawn(async move { send_token(&app, &token).await });
    }
    let mut refused = 0;
    while let Some(reply) = flood.join_next().await {
        assert_refused(&reply.expect("no panic"), "flood");
        refused += 1;
    }
    assert_eq!(refused, 1_000);
    assert_eq!(idp.jwks_fetches(), 2, "no fetch during the cooldown");
    assert_eq!(
        verifier.status().cooldown_rejections - rejections_before,
        1_000
    );
    // Known kids are unaffected by the cooldown.
    assert_accepted(
        &send_token(&app, &idp.mint(Algorithm::ES256)).await,
        "known kid",
    );

    // After the cooldown: exactly one more refresh, and a new cooldown.
    clock.advance(Duration::from_secs(61));
    assert_refused(
        &send_token(&app, &unknown_kid_token(&idp, "after-1")).await,
        "after",
    );
    assert_refused(
        &send_token(&app, &unknown_kid_token(&idp, "after-2")).await,
        "after",
    );
    assert_eq!(idp.jwks_fetches(), 3, "one fetch per cooldown period");
}

#[tokio::test]
async fn concurrent_unknown_kids_share_a_single_refresh() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp).unknown_kid_cooldown(Duration::from_secs(60)));
    assert_accepted(&send_token(&app, &idp.mint(Algorithm::RS256)).await, "warm");
    let mut flood = JoinSet::new();
    for i in 0..1_000_u64 {
        let app = app.clone();
        let token = unknown_kid_token(&idp, &format!("cold-{:016x}", pseudo_random(i)));
        flood.spawn(async move { send_token(&app, &token).await });
    }
    while let Some(reply) = flood.join_next().await {
        assert_refused(&reply.expect("no panic"), "concurrent unknown kid");
    }
    assert_eq!(
        idp.jwks_fetches(),
        2,
        "1,000 concurrent unknown kids: one single-flight refresh"
    );
}

// ---------------------------------------------------------------------------------------------
// Header members that point at keys: jku, x5u, jwk, x5c
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn jku_and_x5u_are_never_fetched() {
    let idp = MockIdp::start().await;
    let attacker = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let pointers = [
        ("jku", attacker.jwks_url()),
        ("jku", attacker.discovery_url()),
        ("x5u", attacker.jwks_url()),
        ("x5u", attacker.url()),
    ];
    for (member, url) in &pointers {
        // A known kid: the member is simply ignored.
        let known = idp.token().header(member, json!(url)).sign();
        assert_accepted(
            &send_token(&app, &known).await,
            &format!("{member}, known kid"),
        );
        // An unknown kid: the configured source is refreshed; the URL in the token is not.
        let unknown = idp
            .token()
            .kid("attacker-1")
            .header(member, json!(url))
            .sign();
        assert_refused(
            &send_token(&app, &unknown).await,
            &format!("{member}, unknown kid"),
        );
    }
    assert_eq!(attacker.jwks_fetches(), 0, "jku/x5u never fetched");
    assert_eq!(attacker.discovery_fetches(), 0, "jku/x5u never fetched");
}

#[tokio::test]
async fn embedded_jwk_and_x5c_keys_are_ignored() {
    let idp = MockIdp::start().await;
    // The ES256 key plays the attacker's: not in the served set, its public JWK in the token.
    let attacker_kid = idp.kid(Algorithm::ES256);
    let attacker_jwk = idp.public_jwk(&attacker_kid).expect("JWK");
    let mut jwks = idp.jwks_json();
    jwks["keys"]
        .as_array_mut()
        .expect("keys")
        .retain(|k| k["kid"] != attacker_kid);
    idp.set_jwks_override(Some(jwks));
    let (_, app) = build(builder(&idp));
    let attacker = || idp.token().alg(Algorithm::ES256);
    let x5c = json!([STANDARD.encode(b"not a certificate, and never parsed")]);
    let cases = [
        (
            "jwk, its own kid",
            attacker().header("jwk", attacker_jwk.clone()).sign(),
        ),
        (
            "jwk, no kid",
            attacker()
                .no_kid()
                .header("jwk", attacker_jwk.clone())
                .sign(),
        ),
        (
            "jwk, kid of a published RSA key",
            attacker()
                .kid(idp.kid(Algorithm::RS256))
                .header("jwk", attacker_jwk.clone())
                .sign(),
        ),
        ("x5c", attacker().header("x5c", x5c.clone()).sign()),
        (
            "jwk, x5c and jku together",
            attacker()
                .header("jwk", attacker_jwk.clone())
                .header("x5c", x5c)
                .header("jku", json!(idp.jwks_url()))
                .sign(),
        ),
    ];
    for (case, token) in &cases {
        assert_refused(&send_token(&app, token).await, case);
    }
}

// ---------------------------------------------------------------------------------------------
// crit, b64
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn crit_and_b64_headers_are_refused_before_any_fetch() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let members = [
        ("crit with a registered name", "crit", json!(["exp"])),
        ("crit naming alg", "crit", json!(["alg"])),
        (
            "crit with an unknown extension",
            "crit",
            json!(["https://example.invalid/ext"]),
        ),
        ("crit naming b64", "crit", json!(["b64"])),
        ("empty crit", "crit", json!([])),
        ("crit as a string", "crit", json!("exp")),
        ("b64 false", "b64", json!(false)),
        ("b64 true", "b64", json!(true)),
    ];
    for (case, name, value) in members {
        let token = idp.token().header(name, value).sign();
        let reply = send_token(&app, &token).await;
        assert_refused_because(&reply, case, "unsupported critical header");
    }
    let both = idp
        .token()
        .header("crit", json!(["b64"]))
        .header("b64", json!(false))
        .sign();
    assert_refused(&send_token(&app, &both).await, "crit b64 with b64 false");
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn crit_or_b64_null_is_refused() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    for name in ["crit", "b64"] {
        let token = idp.token().header(name, Value::Null).sign();
        assert_refused(&send_token(&app, &token).await, &format!("{name}: null"));
    }
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");
}

// ---------------------------------------------------------------------------------------------
// Duplicate JSON members
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_members_in_header_or_payload_are_refused() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let kid = idp.kid(Algorithm::RS256);
    let payload = payload_json(&idp);
    let headers = [
        (
            "two alg",
            format!(r#"{{"alg":"RS256","alg":"HS256","kid":"{kid}"}}"#),
        ),
        (
            "two alg, same value",
            format!(r#"{{"alg":"RS256","kid":"{kid}","alg":"RS256"}}"#),
        ),
        (
            "two kid",
            format!(r#"{{"alg":"RS256","kid":"es256-1","kid":"{kid}"}}"#),
        ),
        (
            "two typ",
            format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT","typ":"at+jwt"}}"#),
        ),
        (
            "escaped duplicate alg",
            format!(r#"{{"alg":"RS256","kid":"{kid}","\u0061lg":"RS256"}}"#),
        ),
    ];
    for (case, header) in &headers {
        let token = idp.sign_raw(Algorithm::RS256, header, &payload);
        assert_refused(&send_token(&app, &token).await, &format!("header: {case}"));
    }
    assert_eq!(
        idp.jwks_fetches(),
        0,
        "header duplicates are refused before any key lookup"
    );

    let header = rs256_header(&idp);
    let (iss, exp) = (idp.issuer(), now() + 3600);
    let payloads = [
        (
            "two sub",
            format!(
                r#"{{"iss":"{iss}","sub":"user-1","sub":"admin","aud":"test-api","exp":{exp}}}"#
            ),
        ),
        (
            "two exp, expired first",
            format!(r#"{{"iss":"{iss}","sub":"user-1","aud":"test-api","exp":1,"exp":{exp}}}"#),
        ),
        (
            "two aud",
            format!(
                r#"{{"iss":"{iss}","sub":"user-1","aud":"other","aud":"test-api","exp":{exp}}}"#
            ),
        ),
        (
            "two iss",
            format!(
                r#"{{"iss":"https://evil.example","iss":"{iss}","aud":"test-api","exp":{exp}}}"#
            ),
        ),
        (
            "escaped duplicate sub",
            format!(
                r#"{{"iss":"{iss}","sub":"user-1","\u0073ub":"admin","aud":"test-api","exp":{exp}}}"#
            ),
        ),
    ];
    for (case, payload) in &payloads {
        let token = idp.sign_raw(Algorithm::RS256, &header, payload);
        let reply = send_token(&app, &token).await;
        assert_refused_because(
            &reply,
            &format!("payload: {case}"),
            "malformed token payload",
        );
    }
    // Control: the same header and a clean payload pass.
    let clean = idp.sign_raw(Algorithm::RS256, &header, &payload);
    assert_accepted(&send_token(&app, &clean).await, "clean");
}

#[tokio::test]
async fn duplicate_unread_header_members_are_refused() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let kid = idp.kid(Algorithm::RS256);
    let headers = [
        format!(
            r#"{{"alg":"RS256","kid":"{kid}","jku":"https://a.example","jku":"https://b.example"}}"#
        ),
        format!(r#"{{"alg":"RS256","kid":"{kid}","x-tenant":"a","x-tenant":"b"}}"#),
    ];
    for header in &headers {
        let token = idp.sign_raw(Algorithm::RS256, header, &payload_json(&idp));
        assert_refused(&send_token(&app, &token).await, header);
    }
}

#[tokio::test]
async fn header_that_is_not_a_json_object_is_refused() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let header = json!(["RS256", idp.kid(Algorithm::RS256)]).to_string();
    let token = idp.sign_raw(Algorithm::RS256, &header, &payload_json(&idp));
    assert_refused(&send_token(&app, &token).await, "array header");
}

// ---------------------------------------------------------------------------------------------
// Size, nesting, huge numbers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn oversized_tokens_are_refused_before_decoding() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let cases = [
        (
            "64 KiB",
            idp.token()
                .claim("pad", json!("a".repeat(48 * 1024)))
                .sign(),
        ),
        (
            "just over 16 KiB",
            idp.token()
                .claim("pad", json!("a".repeat(12 * 1024)))
                .sign(),
        ),
        ("64 KiB of dots", ".".repeat(64 * 1024)),
        ("64 KiB of garbage", "x".repeat(64 * 1024)),
    ];
    for (case, token) in &cases {
        assert!(token.len() > 16 * 1024, "{case}: {} bytes", token.len());
        assert_refused_because(&send_token(&app, token).await, case, "token too large");
    }
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");

    // The cap is exact.
    let token = idp.mint(Algorithm::RS256);
    let (_, at_cap) = build(builder(&idp).max_token_bytes(token.len()));
    assert_accepted(&send_token(&at_cap, &token).await, "exactly at the cap");
    let (_, under) = build(builder(&idp).max_token_bytes(token.len() - 1));
    assert_refused_because(
        &send_token(&under, &token).await,
        "one byte over",
        "token too large",
    );
}

#[tokio::test]
async fn deep_nesting_and_out_of_range_numbers_are_refused_without_panic() {
    let idp = MockIdp::start().await;
    // A raised cap, so that the nesting reaches the parser instead of the size check.
    let (_, app) = build(builder(&idp).max_token_bytes(256 * 1024));
    let (iss, exp) = (idp.issuer(), now() + 3600);
    let base = format!(r#""iss":"{iss}","sub":"user-1","aud":"test-api""#);
    let header = rs256_header(&idp);
    let deep_array = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let payloads = [
        (
            "10k nested arrays",
            format!(r#"{{{base},"exp":{exp},"x":{deep_array}}}"#),
        ),
        (
            "10k nested objects",
            format!(r#"{{{base},"exp":{exp},"x":{deep_object}}}"#),
        ),
        ("exp 1e400", format!(r#"{{{base},"exp":1e400}}"#)),
        ("exp -1e400", format!(r#"{{{base},"exp":-1e400}}"#)),
        (
            "exp 2^64",
            format!(r#"{{{base},"exp":18446744073709551616}}"#),
        ),
        (
            "nbf 1e400",
            format!(r#"{{{base},"exp":{exp},"nbf":1e400}}"#),
        ),
        (
            "a 100k-digit number",
            format!(r#"{{{base},"exp":{exp},"x":{}}}"#, "9".repeat(100_000)),
        ),
    ];
    for (case, payload) in &payloads {
        let token = idp.sign_raw(Algorithm::RS256, &header, payload);
        assert_refused(&send_token(&app, &token).await, case);
    }
}

#[tokio::test]
async fn deep_nesting_in_read_header_members_is_refused_before_any_fetch() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp).max_token_bytes(256 * 1024));
    let kid = idp.kid(Algorithm::RS256);
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases = [
        (
            "10k nested arrays as alg",
            format!(r#"{{"alg":{deep},"kid":"{kid}"}}"#),
        ),
        (
            "10k nested arrays as kid",
            format!(r#"{{"alg":"RS256","kid":{deep}}}"#),
        ),
        (
            "10k nested arrays as typ",
            format!(r#"{{"alg":"RS256","kid":"{kid}","typ":{deep}}}"#),
        ),
        (
            "10k nested arrays as crit",
            format!(r#"{{"alg":"RS256","kid":"{kid}","crit":{deep}}}"#),
        ),
        ("10k nested arrays as the header", deep.clone()),
    ];
    for (case, header) in &cases {
        let token = idp.sign_raw(Algorithm::RS256, header, &payload_json(&idp));
        assert_refused(&send_token(&app, token.as_str()).await, case);
    }
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn deep_nesting_in_an_unread_header_member_is_refused() {
    let idp = MockIdp::start().await;
    let kid = idp.kid(Algorithm::RS256);
    // 5,000 levels (serde_json's own limit is 128) still fit the default 16 KiB cap.
    let deep = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
    let header = format!(r#"{{"alg":"RS256","kid":"{kid}","x":{deep}}}"#);
    let token = idp.sign_raw(Algorithm::RS256, &header, &payload_json(&idp));
    assert!(token.len() < 16 * 1024, "within the default size cap");
    let (_, app) = build(builder(&idp));
    assert_refused(&send_token(&app, &token).await, "deep unread header member");
}

// ---------------------------------------------------------------------------------------------
// Malformed compact forms and carriers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_compact_forms_are_refused() {
    let idp = MockIdp::start().await;
    let token = idp.mint(Algorithm::RS256);
    let [h, p, s] = segments(&token);
    let bearer_value = |t: &str| HeaderValue::from_str(&format!("Bearer {t}")).expect("header");
    let cf_value = |t: &str| HeaderValue::from_str(t).expect("header");
    let jws_json =
        json!({"payload": p, "signatures": [{"protected": h, "signature": s}]}).to_string();
    let jwe = format!(
        "{}.a2V5.aXY.Y2lwaGVy.dGFn",
        b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rs256-1"}"#)
    );
    let plus_header = format!("+{}", &h[1..]);
    let slash_header = format!("/{}", &h[1..]);
    // (case, request, JWKS fetches by a fresh verifier: 0 = refused before any key lookup)
    let cases: Vec<(&str, Request<Body>, usize)> = vec![
        (
            "empty bearer",
            request(vec![("authorization", bearer_value(""))]),
            0,
        ),
        ("one segment", bearer(h), 0),
        ("two segments", bearer(&format!("{h}.{p}")), 0),
        ("four segments", bearer(&format!("{token}.{s}")), 0),
        ("five segments (JWE)", bearer(&jwe), 0),
        ("trailing dot", bearer(&format!("{token}.")), 0),
        ("leading dot", bearer(&format!(".{token}")), 0),
        ("empty header", bearer(&format!(".{p}.{s}")), 0),
        ("empty payload", bearer(&format!("{h}..{s}")), 0),
        ("only dots", bearer(".."), 0),
        ("padding in header", bearer(&format!("{h}=.{p}.{s}")), 0),
        ("+ in header", bearer(&format!("{plus_header}.{p}.{s}")), 0),
        ("/ in header", bearer(&format!("{slash_header}.{p}.{s}")), 0),
        ("JWS JSON serialization", bearer(&jws_json), 0),
        ("space inside (bearer)", bearer(&format!("{h}.{p} .{s}")), 0),
        ("tab inside (bearer)", bearer(&format!("{h}.{p}\t.{s}")), 0),
        (
            "two tokens (bearer)",
            bearer(&format!("{token} {token}")),
            0,
        ),
        (
            "leading space (header)",
            request(vec![(
                "cf-access-jwt-assertion",
                cf_value(&format!(" {token}")),
            )]),
            0,
        ),
        (
            "non-ASCII byte",
            request(vec![(
                "authorization",
                HeaderValue::from_bytes(format!("Bearer {token}\u{e9}").as_bytes())
                    .expect("obs-text"),
            )]),
            0,
        ),
        ("padding in payload", bearer(&format!("{h}.{p}=.{s}")), 1),
        ("padding in signature", bearer(&format!("{token}=")), 1),
        (
            "+ in signature",
            bearer(&format!("{h}.{p}.+{}", &s[1..])),
            1,
        ),
        (
            "/ in signature",
            bearer(&format!("{h}.{p}./{}", &s[1..])),
            1,
        ),
        (
            "tab inside (header)",
            request(vec![(
                "cf-access-jwt-assertion",
                cf_value(&format!("{h}.{p}\t.{s}")),
            )]),
            1,
        ),
        (
            "trailing space (header)",
            request(vec![(
                "cf-access-jwt-assertion",
                cf_value(&format!("{token} ")),
            )]),
            1,
        ),
    ];
    for (case, request, fetches) in cases {
        let (_, app) = build(builder(&idp));
        let before = idp.jwks_fetches();
        assert_refused(&send(&app, request).await, case);
        assert_eq!(idp.jwks_fetches() - before, fetches, "{case}: fetches");
    }
    // Control: the untouched token, through every carrier.
    let (_, app) = build(builder(&idp));
    assert_accepted(&send_token(&app, &token).await, "control");
}

// ---------------------------------------------------------------------------------------------
// exp / nbf
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn exp_must_be_present_and_a_numeric_date_and_other_time_claims_too() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let header = rs256_header(&idp);
    let (iss, exp) = (idp.issuer(), now() + 3600);
    let base = format!(r#""iss":"{iss}","sub":"user-1","aud":"test-api""#);
    let cases = [
        ("exp missing", format!("{{{base}}}"), "missing exp claim"),
        (
            "exp a string",
            format!(r#"{{{base},"exp":"{exp}"}}"#),
            "invalid time claim",
        ),
        (
            "exp null",
            format!(r#"{{{base},"exp":null}}"#),
            "invalid time claim",
        ),
        (
            "exp true",
            format!(r#"{{{base},"exp":true}}"#),
            "invalid time claim",
        ),
        (
            "exp an array",
            format!(r#"{{{base},"exp":[{exp}]}}"#),
            "invalid time claim",
        ),
        (
            "exp an object",
            format!(r#"{{{base},"exp":{{"$numberLong":"{exp}"}}}}"#),
            "invalid time claim",
        ),
        (
            "exp u64::MAX",
            format!(r#"{{{base},"exp":18446744073709551615}}"#),
            "invalid time claim",
        ),
        (
            "exp 1e400",
            format!(r#"{{{base},"exp":1e400}}"#),
            "malformed token payload",
        ),
        ("exp 0", format!(r#"{{{base},"exp":0}}"#), "token expired"),
        (
            "exp negative",
            format!(r#"{{{base},"exp":-1}}"#),
            "invalid time claim",
        ),
        (
            "exp negative fraction",
            format!(r#"{{{base},"exp":-0.5}}"#),
            "invalid time claim",
        ),
        (
            "exp beyond the millisecond clock",
            format!(r#"{{{base},"exp":1e300}}"#),
            "invalid time claim",
        ),
        (
            "expired fractional exp",
            format!(r#"{{{base},"exp":{}.75}}"#, now() - 120),
            "token expired",
        ),
        (
            "nbf negative",
            format!(r#"{{{base},"exp":{exp},"nbf":-1}}"#),
            "invalid time claim",
        ),
        (
            "iat negative",
            format!(r#"{{{base},"exp":{exp},"iat":-1.5}}"#),
            "invalid time claim",
        ),
        (
            "iat null",
            format!(r#"{{{base},"exp":{exp},"iat":null}}"#),
            "invalid time claim",
        ),
        (
            "nbf false",
            format!(r#"{{{base},"exp":{exp},"nbf":false}}"#),
            "invalid time claim",
        ),
        (
            "nbf a string",
            format!(r#"{{{base},"exp":{exp},"nbf":"0"}}"#),
            "invalid time claim",
        ),
        (
            "iat a string",
            format!(r#"{{{base},"exp":{exp},"iat":"0"}}"#),
            "invalid time claim",
        ),
        (
            "payload an array",
            format!(r#"[{{{base},"exp":{exp}}}]"#),
            "malformed token payload",
        ),
        (
            "payload a string",
            r#""{}""#.to_owned(),
            "malformed token payload",
        ),
    ];
    for (case, payload, description) in &cases {
        let token = idp.sign_raw(Algorithm::RS256, &header, payload);
        assert_refused_because(&send_token(&app, &token).await, case, description);
    }

    // RFC 7519 section 2: a NumericDate may be non-integer. Any finite non-negative JSON
    // number is read (issue 13 point 2; these were refused as "invalid time claim" before).
    let accepted = [
        ("exp a fraction", format!(r#"{{{base},"exp":{exp}.25}}"#)),
        (
            "exp an integral float",
            format!(r#"{{{base},"exp":{exp}.0}}"#),
        ),
        (
            "exp in exponent form",
            format!(r#"{{{base},"exp":{exp}e0}}"#),
        ),
        (
            "exp 1.7e9-style",
            format!(r#"{{{base},"exp":{}e-3}}"#, exp * 1000 + 5),
        ),
        (
            "nbf a fraction",
            format!(r#"{{{base},"exp":{exp},"nbf":0.5}}"#),
        ),
        (
            "iat a fraction",
            format!(r#"{{{base},"exp":{exp},"iat":{}.5}}"#, now()),
        ),
        (
            "auth_time a fraction",
            format!(r#"{{{base},"exp":{exp},"auth_time":{}.125}}"#, now() - 60),
        ),
    ];
    for (case, payload) in &accepted {
        let token = idp.sign_raw(Algorithm::RS256, &header, payload);
        assert_accepted(&send_token(&app, &token).await, case);
    }
    assert_eq!(idp.jwks_fetches(), 1);
}

/// Issue 13 point 2, with the issue's inputs: `"exp": <now+3600>.25`, and an integer `exp`
/// with `"iat": <now>.5`, minted by the mock: `Ok`. Compared exactly, in milliseconds: valid
/// until a millisecond before `exp + leeway` (fraction included; `exp` is exclusive), refused
/// at it (a fractional `exp` is never rounded up), and `nbf` likewise from `nbf - leeway`.
#[tokio::test]
async fn fractional_numeric_dates_are_accepted_and_compared_exactly() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let now = now();
    let fractional_exp: Value = serde_json::from_str(&format!("{}.25", now + 3600)).expect("num");
    let token = idp.token().claim("exp", fractional_exp).sign();
    assert_accepted(&send_token(&app, &token).await, "exp now+3600.25");
    let fractional_iat: Value = serde_json::from_str(&format!("{now}.5")).expect("num");
    let token = idp
        .token()
        .claim("exp", json!(now + 3600))
        .claim("iat", fractional_iat)
        .sign();
    assert_accepted(&send_token(&app, &token).await, "iat now.5");
    assert_eq!(idp.jwks_fetches(), 1);

    const T: i64 = 2_000_000_000;
    for leeway in [0, 30] {
        let clock = ManualClock::at_unix(T);
        let (_, app) = build(
            builder(&idp)
                .clock(clock.clone())
                .leeway(Duration::from_secs(leeway))
                .token_cache_capacity(0),
        );
        let exp: Value = serde_json::from_str(&format!("{}.25", T + 100)).expect("num");
        let nbf: Value = serde_json::from_str(&format!("{}.75", T - 100)).expect("num");
        let token = idp.token().claim("exp", exp).claim("nbf", nbf).sign();
        let leeway_s = i64::try_from(leeway).expect("small");
        let ms = Duration::from_millis;
        // nbf - leeway = T - 100 + 0.75 - leeway: refused a millisecond before, accepted at it.
        clock.set_unix(T - 100 - leeway_s);
        clock.advance(ms(749));
        assert_refused_because(
            &send_token(&app, &token).await,
            &format!("nbf - leeway - 1 ms, leeway {leeway}"),
            "token not yet valid",
        );
        clock.advance(ms(1));
        assert_accepted(&send_token(&app, &token).await, "nbf - leeway");
        // exp + leeway = T + 100.25 + leeway, exclusive: accepted a millisecond before.
        clock.set_unix(T + 100 + leeway_s);
        clock.advance(ms(249));
        assert_accepted(&send_token(&app, &token).await, "exp + leeway - 1 ms");
        clock.advance(ms(1));
        assert_refused_because(
            &send_token(&app, &token).await,
            "exp + leeway (exclusive)",
            "token expired",
        );
    }
}

#[tokio::test]
async fn exp_and_nbf_bounds_are_exact_with_the_leeway() {
    const T: i64 = 2_000_000_000;
    let idp = MockIdp::start().await;
    // The mock stamps times from the real clock: set them explicitly around T.
    let expiring = idp
        .token()
        .claim("exp", json!(T))
        .remove_claim("nbf")
        .claim("iat", json!(T - 600))
        .sign();
    let maturing = idp
        .token()
        .claim("nbf", json!(T))
        .claim("exp", json!(T + 3600))
        .claim("iat", json!(T))
        .sign();
    for cache in [true, false] {
        let clock = ManualClock::at_unix(T - 100);
        let mut b = builder(&idp).clock(clock.clone());
        if !cache {
            b = b.token_cache_capacity(0);
        }
        let (_, app) = build(b);
        // (clock, token, accepted?) in an order that also exercises cached successes.
        // exp is exclusive (RFC 7519 section 4.1.4, issue 13 point 10): the last accepted
        // instant is a millisecond before exp + leeway; nbf is inclusive.
        let steps = [
            (T + 31, &expiring, false, "exp + leeway + 1 s"),
            (T + 30, &expiring, false, "exp + leeway"),
            (T + 29, &expiring, true, "exp + leeway - 1 s"),
            (T + 30, &expiring, false, "exp + leeway, after a success"),
            (
                T + 31,
                &expiring,
                false,
                "exp + leeway + 1 s, after a success",
            ),
            (T - 31, &maturing, false, "nbf - leeway - 1 s"),
            (T - 30, &maturing, true, "nbf - leeway"),
            (
                T - 31,
                &maturing,
                false,
                "nbf - leeway - 1 s, after a success",
            ),
        ];
        for (at, token, ok, case) in steps {
            clock.set_unix(at);
            let case = format!("{case} (token cache {cache})");
            let reply = send_token(&app, token).await;
            if ok {
                assert_accepted(&reply, &case);
            } else if at > T {
                assert_refused_because(&reply, &case, "token expired");
            } else {
                assert_refused_because(&reply, &case, "token not yet valid");
            }
        }
    }

    // With no leeway the bounds are exp (exclusive) and nbf (inclusive) themselves. The issue's
    // input: clock at T, leeway 0, exp = T -> 401, also when the verified-token cache holds
    // the token from a millisecond earlier.
    let clock = ManualClock::at_unix(T - 1);
    clock.advance(Duration::from_millis(999));
    let fetches = idp.jwks_fetches();
    let (_, app) = build(builder(&idp).clock(clock.clone()).leeway(Duration::ZERO));
    assert_accepted(&send_token(&app, &expiring).await, "exp - 1 ms, leeway 0");
    clock.set_unix(T);
    assert_refused_because(
        &send_token(&app, &expiring).await,
        "at exp, leeway 0, after a cached success",
        "token expired",
    );
    let (_, uncached) = build(
        builder(&idp)
            .clock(clock.clone())
            .leeway(Duration::ZERO)
            .token_cache_capacity(0),
    );
    assert_refused_because(
        &send_token(&uncached, &expiring).await,
        "at exp, leeway 0, no token cache",
        "token expired",
    );
    assert_eq!(
        idp.jwks_fetches(),
        fetches + 2,
        "one fetch per verifier, no refresh"
    );
    clock.set_unix(T + 1);
    assert_refused_because(
        &send_token(&app, &expiring).await,
        "exp + 1 s, leeway 0",
        "token expired",
    );
    clock.set_unix(T - 1);
    assert_refused_because(
        &send_token(&app, &maturing).await,
        "nbf - 1 s, leeway 0",
        "token not yet valid",
    );
    clock.set_unix(T);
    assert_accepted(&send_token(&app, &maturing).await, "at nbf, leeway 0");
}

// ---------------------------------------------------------------------------------------------
// iss, aud
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn issuer_must_match_exactly() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let iss = idp.issuer();
    let host_port = iss.trim_start_matches("http://");
    let cases = [
        ("trailing slash", json!(format!("{iss}/"))),
        ("upper-case scheme and host", json!(iss.to_uppercase())),
        ("other tenant", json!(format!("{iss}/tenant-b"))),
        (
            "https instead of http",
            json!(format!("https://{host_port}")),
        ),
        ("no port", json!("http://127.0.0.1")),
        ("leading space", json!(format!(" {iss}"))),
        ("prefix", json!(&iss[..iss.len() - 1])),
        ("array", json!([iss])),
        ("null", Value::Null),
        ("number", json!(1)),
    ];
    for (case, value) in cases {
        let token = idp.token().claim("iss", value).sign();
        assert_refused_because(&send_token(&app, &token).await, case, "issuer mismatch");
    }
    let absent = idp.token().remove_claim("iss").sign();
    assert_refused_because(
        &send_token(&app, &absent).await,
        "absent",
        "issuer mismatch",
    );
    assert_accepted(&send_token(&app, &idp.token().sign()).await, "exact issuer");
}

#[tokio::test]
async fn audience_is_any_of_and_strict_about_shapes() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp).audience("second-api"));
    let cases = [
        ("string", json!("test-api"), true),
        ("second configured audience", json!("second-api"), true),
        ("array holding it", json!(["other", "test-api"]), true),
        ("array of one", json!(["test-api"]), true),
        ("empty array", json!([]), false),
        ("array of a number", json!([1]), false),
        (
            "array mixing strings and a number",
            json!(["test-api", 1]),
            false,
        ),
        ("nested array", json!([["test-api"]]), false),
        ("other audience", json!("other"), false),
        ("other case", json!("TEST-API"), false),
        ("trailing space", json!("test-api "), false),
        ("empty string", json!(""), false),
        ("null", Value::Null, false),
        ("number", json!(1), false),
        ("object", json!({ "aud": "test-api" }), false),
        ("space-separated list", json!("other test-api"), false),
    ];
    for (case, aud, ok) in cases {
        let reply = send_token(&app, &idp.token().audience(aud).sign()).await;
        if ok {
            assert_accepted(&reply, case);
        } else {
            assert_refused_because(&reply, case, "audience mismatch");
        }
    }
    let absent = idp.token().remove_claim("aud").sign();
    assert_refused_because(
        &send_token(&app, &absent).await,
        "absent",
        "audience mismatch",
    );
}

// ---------------------------------------------------------------------------------------------
// Token type policy
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn id_token_is_refused_where_an_access_token_is_required() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp).access_token_profile());
    let access = |typ: &str| {
        idp.token()
            .header("typ", json!(typ))
            .claim("client_id", json!("client-1"))
            .claim("jti", json!("jti-1"))
    };
    let id_token = idp.token().claim("nonce", json!("n-1")).sign();
    let refused_early = [
        ("ID token (typ JWT)", id_token),
        ("access claims, typ JWT", access("JWT").sign()),
        ("no typ", access("at+jwt").header("typ", Value::Null).sign()),
        ("typ application/jwt", access("application/jwt").sign()),
        // Media types compare case-insensitively, but exactly otherwise.
        ("typ text/at+jwt", access("text/at+jwt").sign()),
        (
            "typ application/application/at+jwt",
            access("application/application/at+jwt").sign(),
        ),
        (
            "typ with a parameter",
            access("application/at+jwt; v=1").sign(),
        ),
        ("typ with a space", access("at+jwt ").sign()),
        ("typ at+jwt2", access("at+jwt2").sign()),
    ];
    for (case, token) in &refused_early {
        let reply = send_token(&app, token).await;
        assert_refused_because(&reply, case, "not an access token (typ must be at+jwt)");
    }
    assert_eq!(idp.jwks_fetches(), 0, "the typ check needs no key");

    for (case, token) in [
        ("no jti", access("at+jwt").remove_claim("jti").sign()),
        (
            "no client_id",
            access("at+jwt").remove_claim("client_id").sign(),
        ),
        ("no iat", access("at+jwt").remove_claim("iat").sign()),
        ("no sub", access("at+jwt").remove_claim("sub").sign()),
    ] {
        assert_refused_because(
            &send_token(&app, &token).await,
            case,
            "missing required claim",
        );
    }
    // RFC 7515 section 4.1.9 (`application/` implied without a `/`), RFC 2045 section 5.1
    // and RFC 6838 section 4.2 (type and subtype case-insensitive): issue 13 point 11's inputs
    // `Application/at+jwt` and `APPLICATION/AT+JWT` were refused as "not an access token".
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/at+jwt",
        "APPLICATION/AT+JWT",
        "application/AT+jwt",
    ] {
        assert_accepted(&send_token(&app, &access(typ).sign()).await, typ);
    }
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn cloudflare_org_token_is_forbidden_where_an_app_token_is_required() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp).claims_check(|user: &User| {
        if user.str_claim("type") == Some("app") {
            Ok(())
        } else {
            Err("application token required")
        }
    }));
    let org = idp.token().claim("type", json!("org")).sign();
    let reply = send_token(&app, &org).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(
        reply.challenge(),
        Some(
            r#"Bearer error="insufficient_scope", error_description="application token required""#
        )
    );
    let untyped = send_token(&app, &idp.token().sign()).await;
    assert_eq!(untyped.status, StatusCode::FORBIDDEN);
    let app_token = idp.token().claim("type", json!("app")).sign();
    assert_accepted(&send_token(&app, &app_token).await, "app token");
}

// ---------------------------------------------------------------------------------------------
// What the JWKS endpoint serves
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unusable_keys_in_the_jwks_are_skipped_and_good_ones_still_work() {
    let idp = MockIdp::start().await;
    let jwk = |alg: Algorithm| idp.public_jwk(&idp.kid(alg)).expect("JWK");
    let with = |mut key: Value, member: &str, value: Value| {
        key[member] = value;
        key
    };
    let weak_n = [vec![0xc1], vec![0x5a; 127]].concat(); // 1024 bits
    let keys = vec![
        jwk(Algorithm::RS256),
        jwk(Algorithm::EdDSA),
        with(jwk(Algorithm::PS384), "key_ops", json!(["verify"])),
        with(jwk(Algorithm::RS512), "d", json!("AQAB")),
        with(jwk(Algorithm::ES256), "use", json!("enc")),
        with(jwk(Algorithm::PS256), "key_ops", json!(["encrypt"])),
        with(jwk(Algorithm::ES384), "alg", json!("ES256")),
        with(jwk(Algorithm::RS384), "n", json!(b64(&weak_n))),
        json!({"kty": "oct", "kid": "oct-1", "k": b64([1_u8; 32])}),
        json!({"kty": "XYZ", "kid": "xyz-1", "alg": "RS256"}),
        json!({"kty": "EC", "kid": "p521-1", "crv": "P-521", "x": "AA", "y": "AA"}),
        json!({"kid": "no-kty"}),
        json!(42),
        Value::Null,
    ];
    idp.set_jwks_override(Some(json!({ "keys": keys })));
    let (verifier, app) = build(builder(&idp));
    for alg in [Algorithm::RS256, Algorithm::EdDSA, Algorithm::PS384] {
        assert_accepted(
            &send_token(&app, &idp.mint(alg)).await,
            &format!("{alg:?}: good key"),
        );
    }
    let mut kids = verifier.status().kids;
    kids.sort();
    assert_eq!(
        kids,
        ["eddsa-1", "ps384-1", "rs256-1"],
        "only the usable keys are kept"
    );
    let fetches = idp.jwks_fetches();
    let skipped = [
        (Algorithm::RS512, "private key material"),
        (Algorithm::ES256, "use enc"),
        (Algorithm::PS256, "key_ops without verify"),
        (Algorithm::ES384, "alg not fitting the key"),
        (Algorithm::RS384, "1024-bit RSA"),
    ];
    for (alg, case) in skipped {
        let reply = send_token(&app, &idp.mint(alg)).await;
        assert_refused_because(&reply, case, "unknown key id");
    }
    assert_eq!(
        idp.jwks_fetches() - fetches,
        skipped.len(),
        "one refresh per unknown kid (cooldown 0)"
    );
    assert_accepted(
        &send_token(&app, &idp.mint(Algorithm::RS256)).await,
        "good key still works",
    );
}

#[tokio::test]
async fn a_jwks_without_usable_keys_is_a_failed_fetch() {
    let idp = MockIdp::start().await;
    let only_bad = json!({"keys": [
        {"kty": "oct", "kid": "oct-1", "k": b64([1_u8; 32])},
        {"kty": "XYZ", "kid": "xyz-1"},
    ]});
    idp.set_jwks_override(Some(only_bad.clone()));
    let (verifier, app) = build(builder(&idp));
    assert_unavailable(
        &send_token(&app, &idp.mint(Algorithm::RS256)).await,
        "nothing ever fetched",
    );
    assert_eq!(idp.jwks_fetches(), 1);
    assert!(
        verifier.refresh().await.is_err(),
        "refresh reports the failure"
    );

    // With a good set installed, a refresh that yields no usable key keeps it.
    idp.set_jwks_override(None);
    let (_, app) = build(builder(&idp));
    assert_accepted(&send_token(&app, &idp.mint(Algorithm::RS256)).await, "warm");
    idp.set_jwks_override(Some(only_bad));
    // The refresh the unknown kid triggered failed: the key may exist, we could not check.
    assert_unavailable(
        &send_token(&app, &unknown_kid_token(&idp, "new-1")).await,
        "unknown kid, refresh failed",
    );
    assert_accepted(
        &send_token(&app, &idp.mint(Algorithm::ES256)).await,
        "previous set kept",
    );
}

#[tokio::test]
async fn versioned_kids_fall_back_only_to_the_newest_version_never_to_another() {
    // RotatingJWT shipped "unknown versions fall back to any kid with the same prefix".
    let idp = MockIdp::start().await;
    let mut keys = idp.jwks_json()["keys"].as_array().expect("keys").clone();
    let mut older = idp.public_jwk(&idp.kid(Algorithm::ES256)).expect("JWK");
    older["kid"] = json!("signing.1");
    let mut newer = idp.public_jwk(&idp.kid(Algorithm::RS256)).expect("JWK");
    newer["kid"] = json!("signing.2");
    keys.extend([older, newer]);
    idp.set_jwks_override(Some(json!({ "keys": keys })));
    let (_, app) = build(builder(&idp).versioned_kids(true));
    let signed = |alg: Algorithm, kid: &str| idp.token().alg(alg).kid(kid).sign();
    let cases = [
        (
            "exact newer version",
            signed(Algorithm::RS256, "signing.2"),
            true,
        ),
        (
            "exact older version",
            signed(Algorithm::ES256, "signing.1"),
            true,
        ),
        (
            "unversioned: the newest",
            signed(Algorithm::RS256, "signing"),
            true,
        ),
        (
            "unversioned, older key's alg",
            signed(Algorithm::ES256, "signing"),
            false,
        ),
        (
            "unknown version",
            signed(Algorithm::RS256, "signing.3"),
            false,
        ),
        (
            "unknown version, older key's alg",
            signed(Algorithm::ES256, "signing.0"),
            false,
        ),
        (
            "version of a version",
            signed(Algorithm::RS256, "signing.2.0"),
            false,
        ),
        ("empty version", signed(Algorithm::RS256, "signing."), false),
        (
            "prefix of the base",
            signed(Algorithm::RS256, "sign"),
            false,
        ),
        (
            "older version, newer key's alg",
            signed(Algorithm::RS256, "signing.1"),
            false,
        ),
    ];
    for (case, token, ok) in &cases {
        let reply = send_token(&app, token).await;
        if *ok {
            assert_accepted(&reply, case);
        } else {
            assert_refused(&reply, case);
        }
    }
}

#[tokio::test]
async fn keys_without_alg_and_tokens_without_email_are_not_refused() {
    // auth-jwks dropped keys without `alg` and required `email` (Cloudflare service tokens
    // have none, and an empty `sub`): refusing good input is a failure too.
    let idp = MockIdp::start().await;
    let mut jwks = idp.jwks_json();
    for key in jwks["keys"].as_array_mut().expect("keys") {
        key.as_object_mut().expect("JWK").remove("alg");
    }
    idp.set_jwks_override(Some(jwks));
    let (_, app) = build(builder(&idp));
    for alg in jwks_auth::testing::ALGORITHMS {
        let case = format!("{alg:?}, JWK without alg");
        assert_accepted(&send_token(&app, &idp.mint(alg)).await, &case);
    }
    // Without `alg`, the key type and curve still pin the algorithm.
    let es384_on_p256 = idp
        .token()
        .alg(Algorithm::ES384)
        .kid(idp.kid(Algorithm::ES256))
        .sign();
    assert_refused(
        &send_token(&app, &es384_on_p256).await,
        "ES384 on a P-256 key without alg",
    );
    let service = idp
        .token()
        .remove_claim("email")
        .remove_claim("name")
        .subject("")
        .sign();
    assert_accepted(
        &send_token(&app, &service).await,
        "service token: no email, empty sub",
    );
}

#[tokio::test]
async fn a_slow_jwks_endpoint_never_stalls_requests_with_known_keys() {
    // jwt-authorizer held one mutex across the network refresh: a slow endpoint stalled all.
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp).http_timeout(Duration::from_secs(1)));
    assert_accepted(&send_token(&app, &idp.mint(Algorithm::RS256)).await, "warm");
    let known: Vec<String> = jwks_auth::testing::ALGORITHMS
        .iter()
        .map(|a| idp.mint(*a))
        .collect();
    idp.set_fault(Fault::SlowDrip {
        chunk_every: Duration::from_millis(100),
    });
    let stuck = tokio::spawn({
        let app = app.clone();
        let token = unknown_kid_token(&idp, "brand-new-key");
        async move {
            let started = Instant::now();
            (send_token(&app, &token).await, started.elapsed())
        }
    });
    tokio::time::timeout(Duration::from_secs(5), async {
        while idp.jwks_fetches() < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the unknown kid starts a refresh");
    for token in &known {
        let started = Instant::now();
        assert_accepted(
            &send_token(&app, token).await,
            "known key during a stuck refresh",
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(
        !stuck.is_finished(),
        "the refresh was still in flight meanwhile"
    );
    let (reply, elapsed) = stuck.await.expect("no panic");
    assert_refused_because(&reply, "unknown kid, refresh timed out", "unknown key id");
    assert!(
        elapsed < Duration::from_secs(3),
        "bounded by the timeout: {elapsed:?}"
    );
}

/// Every way the JWKS endpoint can misbehave, with a fresh mock each.
fn fault_cases(other_origin: &MockIdp) -> Vec<(&'static str, Option<Fault>, Option<Value>)> {
    vec![
        ("500", Some(Fault::Status(500)), None),
        ("404", Some(Fault::Status(404)), None),
        (
            "302 to another origin",
            Some(Fault::Redirect(other_origin.jwks_url())),
            None,
        ),
        ("10 MB", Some(Fault::Oversized(10 * 1024 * 1024)), None),
        ("not JSON", Some(Fault::Garbage), None),
        (
            "slow drip",
            Some(Fault::SlowDrip {
                chunk_every: Duration::from_millis(50),
            }),
            None,
        ),
        ("empty set", None, Some(json!({ "keys": [] }))),
        ("no keys member", None, Some(json!({}))),
        ("keys not an array", None, Some(json!({ "keys": {} }))),
    ]
}

fn apply(idp: &MockIdp, fault: Option<Fault>, document: Option<Value>) {
    if let Some(fault) = fault {
        idp.set_fault(fault);
    }
    if let Some(document) = document {
        idp.set_jwks_override(Some(document));
    }
}

#[tokio::test]
async fn jwks_endpoint_faults_give_503_quickly_when_nothing_was_ever_fetched() {
    let other_origin = MockIdp::start().await;
    for (case, fault, document) in fault_cases(&other_origin) {
        let idp = MockIdp::start().await;
        let token = idp.mint(Algorithm::RS256);
        apply(&idp, fault, document);
        let (_, app) = build(builder(&idp).http_timeout(Duration::from_millis(500)));
        let started = Instant::now();
        let reply = send_token(&app, &token).await;
        assert_unavailable(&reply, case);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{case}: took {:?}",
            started.elapsed()
        );
        assert_eq!(
            idp.jwks_fetches(),
            1,
            "{case}: one fetch (no retries configured)"
        );
    }
    assert_eq!(
        other_origin.jwks_fetches(),
        0,
        "cross-origin redirects are not followed"
    );
}

#[tokio::test]
async fn jwks_endpoint_faults_serve_the_last_good_set_until_max_stale_then_503() {
    let other_origin = MockIdp::start().await;
    for (case, fault, document) in fault_cases(&other_origin) {
        let idp = MockIdp::start().await;
        let token = idp.token().expires_in(6 * 3600).sign();
        let clock = ManualClock::now();
        let (verifier, app) = build(
            builder(&idp)
                .clock(clock.clone())
                .http_timeout(Duration::from_millis(500))
                .max_stale(Duration::from_secs(3600))
                .token_cache_capacity(0),
        );
        assert_accepted(&send_token(&app, &token).await, &format!("{case}: warm"));
        apply(&idp, fault, document);
        clock.advance(Duration::from_secs(16 * 60)); // past the 15 min TTL
        let started = Instant::now();
        assert_accepted(
            &send_token(&app, &token).await,
            &format!("{case}: stale set served"),
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{case}: stale use never waits"
        );
        assert!(
            verifier.status().stale_uses >= 1,
            "{case}: stale use counted"
        );
        clock.advance(Duration::from_secs(2 * 3600)); // past max_stale
        let started = Instant::now();
        assert_unavailable(
            &send_token(&app, &token).await,
            &format!("{case}: past max_stale"),
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{case}: took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        other_origin.jwks_fetches(),
        0,
        "cross-origin redirects are not followed"
    );
}

// ---------------------------------------------------------------------------------------------
// Discovery and configuration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_announcing_another_issuer_is_never_trusted() {
    let idp = MockIdp::start().await;
    let token = idp.mint(Algorithm::RS256);
    let verifier = JwksVerifier::builder()
        .oidc_issuer(idp.issuer())
        .audience("test-api")
        .http_retries(0)
        .failure_backoff(Duration::ZERO)
        .build()
        .expect("config");
    let honest = app(JwksAuthLayer::new(verifier.clone()));
    assert_accepted(
        &send_token(&honest, &token).await,
        "control: discovery works",
    );
    let fetches = idp.jwks_fetches();

    let impostor = MockIdp::start().await;
    let impostor_token = impostor.mint(Algorithm::RS256);
    impostor.set_issuer("https://login.example.com");
    let verifier = JwksVerifier::builder()
        .oidc_issuer(impostor.url())
        .audience("test-api")
        .http_retries(0)
        .failure_backoff(Duration::ZERO)
        .build()
        .expect("config");
    let misled = app(JwksAuthLayer::new(verifier.clone()));
    let error = verifier.refresh().await.expect_err("issuer mismatch");
    assert!(error.to_string().contains("issuer"), "{error}");
    assert_unavailable(
        &send_token(&misled, &impostor_token).await,
        "discovery issuer mismatch",
    );
    assert_eq!(
        impostor.jwks_fetches(),
        0,
        "keys of a mismatched provider are never fetched"
    );
    assert!(impostor.discovery_fetches() >= 1);
    assert_eq!(idp.jwks_fetches(), fetches);
}

#[test]
fn plain_http_key_urls_for_remote_hosts_are_configuration_errors() {
    let remote = [
        JwksVerifier::builder().jwks_url("http://idp.example.com/.well-known/jwks.json"),
        JwksVerifier::builder().oidc_issuer("http://idp.example.com"),
        JwksVerifier::builder().jwks_url("ftp://idp.example.com/jwks.json"),
        JwksVerifier::builder().jwks_url("not a url"),
    ];
    for b in remote {
        let error = b
            .issuer("https://idp.example.com")
            .audience("api")
            .build()
            .expect_err("refused");
        assert!(error.to_string().contains("configuration error"), "{error}");
    }
    for url in [
        "https://idp.example.com/jwks.json",
        "http://127.0.0.1:1/jwks.json",
        "http://localhost:1/j",
    ] {
        let built = JwksVerifier::builder()
            .jwks_url(url)
            .issuer("https://idp.example.com")
            .audience("api")
            .build();
        assert!(built.is_ok(), "{url}: {built:?}");
    }
    let allowed = JwksVerifier::builder()
        .jwks_url("http://idp.example.com/jwks.json")
        .allow_http(true)
        .issuer("https://idp.example.com")
        .audience("api")
        .build();
    assert!(allowed.is_ok(), "explicitly allowed");
    // HMAC algorithms without a local secret are a configuration error, not a remote-key path.
    let hs = JwksVerifier::builder()
        .jwks_url("https://idp.example.com/jwks.json")
        .issuer("https://idp.example.com")
        .audience("api")
        .algorithms(Algorithm::HS256)
        .build();
    assert!(hs.is_err());
}

// ---------------------------------------------------------------------------------------------
// Token carriers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ambiguous_carriers_are_refused_and_precedence_is_fixed() {
    let idp = MockIdp::start().await;
    let mut sources = TokenSource::defaults();
    sources.push(TokenSource::cf_authorization_cookie());
    let app =
        app(JwksAuthLayer::new(builder(&idp).build().expect("config")).token_sources(sources));
    let good = idp.token().subject("good").sign();
    let other = idp.token().subject("other").sign();
    let auth = |t: &str| format!("Bearer {t}");
    let cookie = |t: &str| format!("CF_Authorization={t}");

    let ambiguous = [
        (
            "two Authorization headers",
            vec![
                ("authorization", auth(&good)),
                ("authorization", auth(&other)),
            ],
        ),
        (
            "two identical Authorization headers",
            vec![
                ("authorization", auth(&good)),
                ("authorization", auth(&good)),
            ],
        ),
        (
            "two Cf-Access-Jwt-Assertion headers",
            vec![
                ("cf-access-jwt-assertion", good.clone()),
                ("cf-access-jwt-assertion", other.clone()),
            ],
        ),
        (
            "Bearer without a token",
            vec![("authorization", "Bearer".to_owned())],
        ),
    ];
    for (case, headers) in &ambiguous {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_refused(&send(&app, get_with("/me", &headers)).await, case);
    }
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");

    // The first source holding a token decides; a later good one does not rescue a bad one.
    let bad_bearer = send(
        &app,
        get_with(
            "/me",
            &[
                ("authorization", "Bearer x.y.z"),
                ("cookie", &cookie(&good)),
            ],
        ),
    )
    .await;
    assert_refused(&bad_bearer, "bad bearer, good cookie");
    let bad_header = send(
        &app,
        get_with(
            "/me",
            &[
                ("cf-access-jwt-assertion", "x.y.z"),
                ("cookie", &cookie(&good)),
            ],
        ),
    )
    .await;
    assert_refused(&bad_header, "bad header, good cookie");
    let good_bearer = send(
        &app,
        get_with(
            "/me",
            &[("authorization", &auth(&good)), ("cookie", &cookie(&other))],
        ),
    )
    .await;
    assert_accepted(&good_bearer, "good bearer, other cookie");
    assert_eq!(good_bearer.body, "good");
    // Two token cookies are ambiguous (cookie tossing from a sibling subdomain), like two
    // Authorization headers: refused, whichever comes first and in one header or two.
    for cookies in [
        vec![format!("{}; {}", cookie(&good), cookie(&other))],
        vec![cookie(&good), cookie(&good)],
    ] {
        let headers: Vec<(&str, &str)> = cookies.iter().map(|c| ("cookie", c.as_str())).collect();
        let reply = send(&app, get_with("/me", &headers)).await;
        assert_refused_because(&reply, "two token cookies", "several token cookies");
    }
}

/// A credential that is present but unusable is refused, never read as "no token": with an
/// optional layer it would otherwise pass as anonymous.
#[tokio::test]
async fn present_but_unusable_credentials_are_401_even_when_optional() {
    let idp = MockIdp::start().await;
    let mut sources = TokenSource::defaults();
    sources.push(TokenSource::cf_authorization_cookie());
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config"))
        .token_sources(sources)
        .optional());
    let token = idp.token().subject("alice").sign();
    let past_the_cap = {
        let junk: String = (0..MAX_COOKIES).map(|i| format!("c{i}=v; ")).collect();
        format!("{junk}CF_Authorization={token}")
    };
    let cases: [(&str, http::HeaderValue, &str); 4] = [
        (
            "Bearer<TAB>token",
            http::HeaderValue::from_str(&format!("Bearer\t{token}")).expect("value"),
            "malformed bearer token",
        ),
        (
            "bare JWT without scheme",
            http::HeaderValue::from_str(&token).expect("value"),
            "malformed bearer token",
        ),
        (
            "non-ASCII byte in the Cookie header",
            http::HeaderValue::from_bytes(
                format!("caf\u{e9}=1; CF_Authorization={token}").as_bytes(),
            )
            .expect("value"),
            "malformed cookie header",
        ),
        (
            "token as the 101st cookie",
            http::HeaderValue::from_str(&past_the_cap).expect("value"),
            "too many cookies",
        ),
    ];
    for (case, value, description) in cases {
        let name = if case.contains("ookie") {
            "cookie"
        } else {
            "authorization"
        };
        let request = http::Request::get("/maybe")
            .header(name, value)
            .body(axum::body::Body::empty())
            .expect("request");
        let reply = send(&app, request).await;
        assert_refused_because(&reply, case, description);
    }
    assert_eq!(idp.jwks_fetches(), 0, "refused before any key lookup");
    // Truly absent credentials stay anonymous with an optional layer.
    let anonymous = send(&app, get_with("/maybe", &[("authorization", "Basic dTpw")])).await;
    assert_eq!(anonymous.status, StatusCode::OK, "{}", anonymous.body);
}

/// The `Authorization: Bearer` token is visible ASCII (0x21-0x7E) after the scheme and one or
/// more SP, to its last byte. That is wider than RFC 6750's `b64token` (section 2.1), on
/// purpose and as before the one-pass reader: a `"` or `,` reaches the token's own parser,
/// which refuses it; what is not visible ASCII is a malformed credential, refused before any
/// key lookup.
#[tokio::test]
async fn authorization_token_bytes_are_visible_ascii_to_the_last() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let token = idp.token().subject("alice").sign();
    let value = |bytes: Vec<u8>| http::HeaderValue::from_bytes(&bytes).expect("a header value");
    let with = |before: &[u8], after: &[u8]| {
        let mut v = before.to_vec();
        v.extend_from_slice(token.as_bytes());
        v.extend_from_slice(after);
        value(v)
    };
    let refused: [(&str, http::HeaderValue, &str); 9] = [
        (
            "trailing SP",
            with(b"Bearer ", b" "),
            "malformed bearer token",
        ),
        (
            "trailing HTAB",
            with(b"Bearer ", b"\t"),
            "malformed bearer token",
        ),
        (
            "HTAB before the token",
            with(b"Bearer \t", b""),
            "malformed bearer token",
        ),
        (
            "obs-text 0x80 (not UTF-8)",
            with(b"Bearer ", b"\x80"),
            "malformed bearer token",
        ),
        (
            "obs-text 0xFF first",
            with(b"Bearer \xff", b""),
            "malformed bearer token",
        ),
        (
            "UTF-8 e-acute",
            with("Bearer \u{e9}".as_bytes(), b""),
            "malformed bearer token",
        ),
        (
            "quoted",
            with(b"Bearer \"", b"\""),
            "malformed token header",
        ),
        (
            "leading comma",
            with(b"Bearer ,", b""),
            "malformed token header",
        ),
        (
            "two tokens",
            with(b"Bearer ", format!(" {token}").as_bytes()),
            "malformed bearer token",
        ),
    ];
    for (case, value, description) in refused {
        let request = http::Request::get("/me")
            .header("authorization", value)
            .body(axum::body::Body::empty())
            .expect("request");
        assert_refused_because(&send(&app, request).await, case, description);
    }
    assert_eq!(idp.jwks_fetches(), 0, "all refused before any key lookup");
    let accepted: [(&str, http::HeaderValue); 3] = [
        ("two SP after the scheme", with(b"Bearer  ", b"")),
        ("leading HTAB and SP", with(b"\t Bearer ", b"")),
        ("lowercase scheme", with(b"bearer ", b"")),
    ];
    for (case, value) in accepted {
        let request = http::Request::get("/me")
            .header("authorization", value)
            .body(axum::body::Body::empty())
            .expect("request");
        assert_accepted(&send(&app, request).await, case);
    }
}

/// The default sources are headers only: a cookie, which browsers attach to cross-site
/// requests, authenticates nothing unless configured (CSRF).
#[tokio::test]
async fn cookies_are_not_a_default_token_source() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let token = idp.token().subject("alice").sign();
    let request = http::Request::post("/me")
        .header("cookie", format!("CF_Authorization={token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_missing(&reply, "cookie only");
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn token_in_the_query_string_is_ignored() {
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let token = idp.mint(Algorithm::RS256);
    for query in ["access_token", "token", "jwt", "id_token"] {
        let reply = send(&app, get_with(&format!("/me?{query}={token}"), &[])).await;
        assert_missing(&reply, query);
        assert_eq!(reply.body, r#"{"detail":"missing bearer token"}"#);
    }
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn dev_user_bypass_warns_loudly_and_marks_every_request() {
    let idp = MockIdp::start().await;
    let logs = Logs::default();
    let layer = {
        let _capture = logs.capture();
        JwksAuthLayer::new(builder(&idp).build().expect("config"))
            .dev_user(User::from_claims(json!({ "sub": "dev" })))
    };
    let text = logs.text();
    assert!(
        text.contains("WARN") && text.contains("DEV USER BYPASS ENABLED"),
        "{text}"
    );
    assert!(text.contains("Never enable this in production"), "{text}");
    let app = Router::new()
        .route(
            "/me",
            axum::routing::get(|user: User, request: axum::extract::Request| async move {
                let marked = request.extensions().get::<DevBypass>().is_some();
                format!(
                    "{} {} {marked}",
                    user.sub().unwrap_or(""),
                    user.is_dev_bypass()
                )
            }),
        )
        .layer(layer);
    // Even a forged token is not looked at: the bypass is total, hence the marker.
    for request in [get_with("/me", &[]), bearer("x.y.z")] {
        let reply = send(&app, request).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "dev true true")
        );
    }
    assert_eq!(idp.jwks_fetches(), 0);
}

// ---------------------------------------------------------------------------------------------
// Error details
// ---------------------------------------------------------------------------------------------

/// Sorted header names, for snapshots (and `content-length` checked against the body).
fn header_names(reply: &Reply) -> Vec<String> {
    let length = reply
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        length,
        Some(reply.body.len().to_string().as_str()),
        "content-length"
    );
    let mut names: Vec<String> = reply
        .headers
        .keys()
        .map(|n| n.as_str().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn rejection_responses_match_their_snapshots() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let plain = app(JwksAuthLayer::new(verifier.clone()));
    let hidden =
        app(JwksAuthLayer::new(verifier).rejection(DefaultRejection::new().hide_details()));
    let expired = idp.token().expires_in(-3600).sign();

    let missing = send(&plain, get_with("/me", &[])).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_names(&missing),
        ["content-length", "content-type", "www-authenticate"]
    );
    assert_eq!(missing.headers["content-type"], "application/json");
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
    assert_eq!(missing.body, r#"{"detail":"missing bearer token"}"#);

    let reply = send_token(&plain, &expired).await;
    reply.assert_invalid();
    assert_eq!(
        header_names(&reply),
        ["content-length", "content-type", "www-authenticate"]
    );
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.headers["www-authenticate"],
        r#"Bearer error="invalid_token", error_description="token expired""#
    );
    assert_eq!(reply.body, r#"{"detail":"token expired"}"#);

    let reply = send(&hidden, get_with("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    assert_eq!(reply.body, r#"{"detail":"unauthorized"}"#);

    // Hidden details: every kind of bad token gets the same answer, so the response is no
    // oracle for what was wrong.
    let hidden_cases = [
        ("expired", expired),
        (
            "bad signature",
            with_signature(&idp.mint(Algorithm::ES256), &[0; 64]),
        ),
        ("unknown kid", unknown_kid_token(&idp, "nope")),
        ("alg none", forge(r#"{"alg":"none"}"#, "{}", "")),
        ("malformed", "a.b".to_owned()),
        (
            "other audience",
            idp.token().audience(json!("other")).sign(),
        ),
        ("too large", "x".repeat(20_000)),
    ];
    for (case, token) in &hidden_cases {
        let reply = send_token(&hidden, token).await;
        assert_refused(&reply, case);
        assert_eq!(
            header_names(&reply),
            ["content-length", "content-type", "www-authenticate"],
            "{case}"
        );
        assert_eq!(reply.headers["content-type"], "application/json", "{case}");
        assert_eq!(
            reply.headers["www-authenticate"],
            r#"Bearer error="invalid_token", error_description="unauthorized""#,
            "{case}"
        );
        assert_eq!(reply.body, r#"{"detail":"unauthorized"}"#, "{case}");
    }

    // 403 and 503, plain and hidden.
    let scoped = builder(&idp)
        .require_scope("admin")
        .build()
        .expect("config");
    let plain = app(JwksAuthLayer::new(scoped.clone()));
    let reply = send_token(&plain, &idp.mint(Algorithm::RS256)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.headers["www-authenticate"],
        r#"Bearer scope="admin", error="insufficient_scope", error_description="insufficient scope""#
    );
    assert_eq!(reply.body, r#"{"detail":"insufficient scope"}"#);
    let hidden = app(JwksAuthLayer::new(scoped).rejection(DefaultRejection::new().hide_details()));
    let reply = send_token(&hidden, &idp.mint(Algorithm::RS256)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, r#"{"detail":"forbidden"}"#);
    assert_eq!(
        reply.headers["www-authenticate"],
        r#"Bearer error="insufficient_scope", error_description="forbidden""#
    );

    let down = MockIdp::start().await;
    down.set_fault(Fault::Status(500));
    let unavailable = builder(&down).build().expect("config");
    let reply = send_token(
        &app(JwksAuthLayer::new(unavailable.clone())),
        &down.mint(Algorithm::RS256),
    )
    .await;
    assert_unavailable(&reply, "keys unavailable");
    assert_eq!(
        header_names(&reply),
        ["content-length", "content-type", "retry-after"]
    );
    assert_eq!(reply.headers["retry-after"], "1");
    let hidden =
        app(JwksAuthLayer::new(unavailable).rejection(DefaultRejection::new().hide_details()));
    let reply = send_token(&hidden, &down.mint(Algorithm::RS256)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body, r#"{"detail":"service unavailable"}"#);
}

#[tokio::test]
async fn token_text_never_appears_in_responses_or_logs() {
    let logs = Logs::default();
    let _capture = logs.capture();
    let idp = MockIdp::start().await;
    let (_, app) = build(builder(&idp));
    let secret_kid = "kid-<script>\"\\-marker";
    let cases = [
        ("expired", idp.token().expires_in(-3600).sign()),
        (
            "bad signature",
            with_signature(&idp.mint(Algorithm::RS256), &[7; 256]),
        ),
        ("unknown kid", unknown_kid_token(&idp, "unknown-kid-marker")),
        ("hostile kid", idp.token().kid(secret_kid).sign()),
        (
            "alg none",
            forge(r#"{"alg":"none","kid":"rs256-1"}"#, &payload_json(&idp), ""),
        ),
        (
            "key confusion",
            idp.token()
                .alg(Algorithm::HS256)
                .hmac_secret([1; 32])
                .sign(),
        ),
        ("malformed", format!("{}.x", idp.mint(Algorithm::ES256))),
        (
            "wrong audience",
            idp.token().audience(json!("other")).sign(),
        ),
        (
            "wrong issuer",
            idp.token()
                .claim("iss", json!("https://evil.example"))
                .sign(),
        ),
        (
            "oversized",
            idp.token().claim("pad", json!("p".repeat(20_000))).sign(),
        ),
        (
            "duplicate sub",
            idp.sign_raw(
                Algorithm::RS256,
                &rs256_header(&idp),
                r#"{"sub":"a","sub":"b"}"#,
            ),
        ),
    ];
    let mut needles: Vec<String> = vec![
        secret_kid.to_owned(),
        "<script>".to_owned(),
        "unknown-kid-marker".to_owned(),
    ];
    for (case, token) in &cases {
        let reply = send_token(&app, token).await;
        assert_refused(&reply, case);
        let mut echoed = reply.body.clone();
        for value in reply.headers.values() {
            echoed.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        assert!(!echoed.contains(token.as_str()), "{case}: token echoed");
        for segment in token.split('.').filter(|s| s.len() >= 8) {
            assert!(!echoed.contains(segment), "{case}: a token segment echoed");
            needles.push(segment.to_owned());
        }
        for needle in ["<script>", "marker", "evil.example"] {
            assert!(
                !echoed.contains(needle),
                "{case}: token content {needle:?} echoed"
            );
        }
        needles.push(token.clone());
    }
    // A success neither.
    let good = idp.token().subject("visible-sub").sign();
    assert_accepted(&send_token(&app, &good).await, "good");
    needles.extend(good.split('.').map(str::to_owned));
    let text = logs.text();
    assert!(!text.is_empty(), "the capture works (the fetch is logged)");
    for needle in &needles {
        assert!(
            !text.contains(needle.as_str()),
            "logged: {needle:.40}...\n{text}"
        );
    }
}
