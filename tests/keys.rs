//! Key sets as the verifier reads them: exact kid matching by default and the opt-in
//! versioned kids (`base` -> newest `base.N`), keys published with private members, and what
//! `JwksVerifier::jwks()` serves back. Against the mock IdP on 127.0.0.1.

mod common;

use std::time::Duration;

use common::{app, builder, send_token};
use http::StatusCode;
use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithm, JwksAuthLayer, JwksVerifierBuilder};
use serde_json::{Value, json};

const UNKNOWN_KID: &str = r#"Bearer error="invalid_token", error_description="unknown key id""#;

/// The mock's current RS256 public key, published under `kid` only.
fn serve_rs256_as(idp: &MockIdp, kid: &str) {
    let mut jwk = idp
        .public_jwk(&idp.kid(Algorithm::RS256))
        .expect("RS256 JWK");
    jwk["kid"] = json!(kid);
    idp.set_jwks_override(Some(json!({ "keys": [jwk] })));
}

/// A builder with the default 30 s unknown-kid cooldown, so fetch counts are exact.
fn with_cooldown(idp: &MockIdp) -> JwksVerifierBuilder {
    builder(idp).unknown_kid_cooldown(Duration::from_secs(30))
}

#[tokio::test]
async fn a_bare_kid_does_not_match_a_versioned_jwk_by_default() {
    let idp = MockIdp::start().await;
    serve_rs256_as(&idp, "abc.2");
    let verifier = with_cooldown(&idp).build().expect("config");
    verifier.refresh().await.expect("warm");
    assert_eq!(idp.jwks_fetches(), 1);
    let app = app(JwksAuthLayer::new(verifier.clone()));

    let bare = idp.token().kid("abc").sign();
    let reply = send_token(&app, &bare).await;
    reply.assert_refused(
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"unknown key id"}"#,
        Some(UNKNOWN_KID),
    );
    // The unknown kid triggered exactly one refresh, which did not bring it either.
    assert_eq!(idp.jwks_fetches(), 2);
    // Within the cooldown: refused again without a fetch.
    send_token(&app, &bare).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"unknown key id"}"#,
        Some(UNKNOWN_KID),
    );
    assert_eq!(idp.jwks_fetches(), 2);

    // The exact kid verifies, with no further fetch.
    let exact = idp.token().kid("abc.2").subject("exact").sign();
    send_token(&app, &exact).await.assert_ok("exact");
    assert_eq!(idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn with_versioned_kids_a_bare_kid_names_the_newest_version() {
    let idp = MockIdp::start().await;
    serve_rs256_as(&idp, "abc.2");
    let verifier = with_cooldown(&idp)
        .versioned_kids(true)
        .build()
        .expect("config");
    verifier.refresh().await.expect("warm");
    let app = app(JwksAuthLayer::new(verifier));

    let bare = idp.token().kid("abc").subject("bare").sign();
    send_token(&app, &bare).await.assert_ok("bare");
    assert_eq!(idp.jwks_fetches(), 1, "found in the cached set: no fetch");

    // Only the shared grammar counts as a version: these kids match nothing.
    for kid in ["abc.02", "abc.3", "abc.2.0", "ab", "abc."] {
        let token = idp.token().kid(kid).sign();
        let reply = send_token(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{kid}");
        assert_eq!(reply.challenge(), Some(UNKNOWN_KID), "{kid}");
    }
}

/// RFC 7518 section 6: members that carry private key material.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

#[tokio::test]
async fn a_jwk_with_any_private_member_is_skipped_not_used_as_public() {
    let idp = MockIdp::start().await;
    let public = idp
        .public_jwk(&idp.kid(Algorithm::RS256))
        .expect("RS256 JWK");
    for member in PRIVATE_MEMBERS.into_iter().chain(["k"]) {
        let mut leaked = public.clone();
        leaked[member] = if member == "oth" {
            json!([{"r": "AQAB", "d": "AQAB", "t": "AQAB"}])
        } else {
            json!("AQAB")
        };
        idp.set_jwks_override(Some(json!({ "keys": [leaked] })));
        let verifier = with_cooldown(&idp).build().expect("config");
        let err = verifier.refresh().await.expect_err(member);
        assert!(
            err.to_string().contains("no usable keys (1 skipped)"),
            "{member}: {err}"
        );
        let app = app(JwksAuthLayer::new(verifier));
        let reply = send_token(&app, &idp.mint(Algorithm::RS256)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{member}");
    }

    // Next to a good key: the leaked one is skipped, never served back, and its kid is unknown.
    let mut leaked = public.clone();
    leaked["qi"] = json!("AQAB");
    let good = idp
        .public_jwk(&idp.kid(Algorithm::ES256))
        .expect("ES256 JWK");
    idp.set_jwks_override(Some(json!({ "keys": [leaked, good.clone()] })));
    let verifier = with_cooldown(&idp).build().expect("config");
    verifier.refresh().await.expect("one usable key");
    let served = verifier.jwks().expect("a set");
    assert_eq!(served["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(served["keys"][0]["kid"], good["kid"]);
    assert_eq!(verifier.status().kids, [good["kid"].as_str().expect("kid")]);
    let app = app(JwksAuthLayer::new(verifier));
    send_token(&app, &idp.mint(Algorithm::RS256))
        .await
        .assert_refused(
            StatusCode::UNAUTHORIZED,
            r#"{"detail":"unknown key id"}"#,
            Some(UNKNOWN_KID),
        );
    let es = idp.token().alg(Algorithm::ES256).subject("es").sign();
    send_token(&app, &es).await.assert_ok("es");
}

#[tokio::test]
async fn the_served_set_carries_only_public_members() {
    let idp = MockIdp::start().await;
    let kid = idp.kid(Algorithm::RS256);
    let mut jwk = idp.public_jwk(&kid).expect("RS256 JWK");
    jwk["x-vendor"] = json!("kept out");
    jwk["x5t"] = json!("dGh1bWI");
    idp.set_jwks_override(Some(json!({ "keys": [jwk.clone()] })));
    let verifier = with_cooldown(&idp).build().expect("config");
    verifier.refresh().await.expect("warm");
    let served = verifier.jwks().expect("a set");
    let keys = served["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    let Value::Object(members) = &keys[0] else {
        panic!("a JWK object")
    };
    let mut names: Vec<&str> = members.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = vec!["kty", "kid", "n", "e", "x5t"];
    for optional in ["alg", "use", "key_ops"] {
        if jwk.get(optional).is_some() {
            expected.push(optional);
        }
    }
    expected.sort_unstable();
    assert_eq!(names, expected);
    for member in ["kty", "kid", "n", "e", "alg", "use"] {
        assert_eq!(members.get(member), jwk.get(member), "{member}");
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 13 point 6: ES512 (P-521 ECDSA, RFC 7518 section 3.4)
// ---------------------------------------------------------------------------------------------

/// A provider publishing `{"kty":"EC","crv":"P-521","alg":"ES512",...}` and signing ES512
/// tokens: accepted by a default verifier (no algorithm configured), with one fetch.
#[tokio::test]
async fn an_es512_provider_is_accepted_by_default() {
    let idp = MockIdp::start().await;
    let kid = idp.kid(Algorithm::ES512);
    let jwk = idp.public_jwk(&kid).expect("the ES512 JWK");
    assert_eq!(
        (&jwk["kty"], &jwk["crv"], &jwk["alg"], &jwk["use"]),
        (
            &json!("EC"),
            &json!("P-521"),
            &json!("ES512"),
            &json!("sig")
        )
    );
    // Only the P-521 key is published, as such a provider would.
    idp.set_jwks_override(Some(json!({ "keys": [jwk] })));
    let verifier = with_cooldown(&idp).build().expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));

    let token = idp.token().alg(Algorithm::ES512).subject("p521").sign();
    let signature = token.rsplit('.').next().expect("a signature");
    assert_eq!(signature.len(), 176, "raw r || s: 132 bytes");
    send_token(&app, &token).await.assert_ok("p521");
    assert_eq!(idp.jwks_fetches(), 1);
    assert_eq!(verifier.status().kids, [kid.as_str()]);
    // Again (verified-token cache) and a second token (signature path): no more fetches.
    send_token(&app, &token).await.assert_ok("p521");
    let other = idp.token().alg(Algorithm::ES512).subject("again").sign();
    send_token(&app, &other).await.assert_ok("again");
    assert_eq!(idp.jwks_fetches(), 1);

    // A tampered ES512 signature is an invalid signature, not a refresh.
    let mut bytes = token.into_bytes();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    send_token(&app, &tampered).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"invalid signature"}"#,
        Some(r#"Bearer error="invalid_token", error_description="invalid signature""#),
    );
    assert_eq!(idp.jwks_fetches(), 1);
}

/// P-521 JWKs are read like the other curves: coordinates of exactly 66 bytes, on the curve,
/// `alg` ES512 or absent; anything else is skipped, not fatal.
#[tokio::test]
async fn p521_jwks_are_parsed_and_bad_ones_skipped() {
    use jwks_auth::jwks::KeySet;
    let idp = MockIdp::start().await;
    let good = idp.public_jwk(&idp.kid(Algorithm::ES512)).expect("JWK");
    let mut no_alg = good.clone();
    no_alg.as_object_mut().expect("object").remove("alg");
    no_alg["kid"] = json!("no-alg");
    let mut short_x = good.clone();
    short_x["x"] = json!("AQAB");
    short_x["kid"] = json!("short-x");
    let mut off_curve = good.clone();
    off_curve["y"] = good["x"].clone();
    off_curve["kid"] = json!("off-curve");
    let mut wrong_alg = good.clone();
    wrong_alg["alg"] = json!("ES384");
    wrong_alg["kid"] = json!("wrong-alg");
    let doc = json!({ "keys": [good, no_alg, short_x, off_curve, wrong_alg] }).to_string();
    let set = KeySet::from_jwks(doc.as_bytes(), jwks_auth::Algorithms::ASYMMETRIC).expect("set");
    assert_eq!((set.len(), set.skipped()), (2, 3));
    assert!(
        set.kids()
            .eq([idp.kid(Algorithm::ES512).as_str(), "no-alg"])
    );
    // A kid-less-alg P-521 key verifies ES512 tokens.
    idp.set_jwks_override(Some(json!({ "keys": [set.to_jwks()["keys"][1].clone()] })));
    let verifier = with_cooldown(&idp).build().expect("config");
    let app = app(JwksAuthLayer::new(verifier));
    let token = idp
        .token()
        .alg(Algorithm::ES512)
        .kid("no-alg")
        .subject("inferred")
        .sign();
    send_token(&app, &token).await.assert_ok("inferred");
    // Not allowed when the verifier is restricted to other algorithms.
    let set = KeySet::from_jwks(doc.as_bytes(), Algorithm::RS256.into());
    assert!(set.is_err());
}

// ---------------------------------------------------------------------------------------------
// Issue 13 point 1: the same kid listed twice
// ---------------------------------------------------------------------------------------------

const INVALID_SIGNATURE: &str =
    r#"Bearer error="invalid_token", error_description="invalid signature""#;

/// Another RSA key of the mock (one of its other RSA algorithms' keys), published as an RS256
/// key under `kid`: a different key sharing the kid.
fn other_rsa_as(idp: &MockIdp, from: Algorithm, kid: &str) -> Value {
    let mut jwk = idp.public_jwk(&idp.kid(from)).expect("RSA JWK");
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!("RS256");
    jwk
}

/// `{"keys":[K, K]}`: one RS256 key listed twice byte for byte. Expected `Ok` (was "ambiguous
/// key id"): identical entries are merged when the set is built.
#[tokio::test]
async fn the_same_key_listed_twice_is_one_key() {
    let idp = MockIdp::start().await;
    let k = idp
        .public_jwk(&idp.kid(Algorithm::RS256))
        .expect("RS256 JWK");
    assert_eq!(
        (&k["kty"], &k["use"], &k["alg"], &k["kid"]),
        (
            &json!("RSA"),
            &json!("sig"),
            &json!("RS256"),
            &json!("rs256-1")
        )
    );
    idp.set_jwks_override(Some(json!({ "keys": [k.clone(), k] })));
    let verifier = with_cooldown(&idp).build().expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    let token = idp.token().subject("kk").sign();
    send_token(&app, &token).await.assert_ok("kk");
    assert_eq!(idp.jwks_fetches(), 1);
    assert_eq!(verifier.status().kids, ["rs256-1"], "deduplicated");
    assert_eq!(
        verifier.jwks().expect("a set")["keys"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

/// `{"keys":[A, B]}`: two different RSA keys, both `kid rs256-1`, `alg RS256`; a token signed
/// by A. Expected `Ok` in either order; a token neither verifies is an invalid signature, with
/// no refresh.
#[tokio::test]
async fn different_keys_sharing_a_kid_are_tried_in_order() {
    let idp = MockIdp::start().await;
    let a = idp
        .public_jwk(&idp.kid(Algorithm::RS256))
        .expect("RS256 JWK");
    let b = other_rsa_as(&idp, Algorithm::RS384, "rs256-1");
    assert_ne!(a["n"], b["n"], "different keys");
    for (order, keys) in [
        ("A, B", [a.clone(), b.clone()]),
        ("B, A", [b.clone(), a.clone()]),
    ] {
        idp.set_jwks_override(Some(json!({ "keys": keys })));
        let before = idp.jwks_fetches();
        let verifier = with_cooldown(&idp).build().expect("config");
        let app = app(JwksAuthLayer::new(verifier.clone()));
        let token = idp.token().subject("a").sign();
        send_token(&app, &token).await.assert_ok("a");
        assert_eq!(verifier.status().kids, ["rs256-1", "rs256-1"], "{order}");

        // Signed by a key under that kid that is in neither entry.
        let forged = jwks_auth::testing::foreign_token(
            Algorithm::RS256,
            "rs256-1",
            json!({"iss": idp.issuer(), "aud": idp.audience(), "sub": "c", "exp": 4_000_000_000u64}),
        );
        send_token(&app, &forged).await.assert_refused(
            StatusCode::UNAUTHORIZED,
            r#"{"detail":"invalid signature"}"#,
            Some(INVALID_SIGNATURE),
        );
        assert_eq!(
            idp.jwks_fetches(),
            before + 1,
            "{order}: one fetch, no refresh"
        );
    }
}

/// At most `MAX_KEYS_PER_KID` (3) different keys under one kid are tried: a signer listed
/// fourth is refused as an invalid signature (bounded work per forged token).
#[tokio::test]
async fn at_most_three_keys_per_kid_are_tried() {
    use jwks_auth::jwks::MAX_KEYS_PER_KID;
    assert_eq!(MAX_KEYS_PER_KID, 3);
    let idp = MockIdp::start().await;
    let signer = idp
        .public_jwk(&idp.kid(Algorithm::RS256))
        .expect("RS256 JWK");
    let others: Vec<Value> = [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256]
        .into_iter()
        .map(|alg| other_rsa_as(&idp, alg, "rs256-1"))
        .collect();
    let token = idp.token().subject("third").sign();
    for (position, expect_ok) in [(0, true), (2, true), (3, false)] {
        let mut keys = others.clone();
        keys.insert(position, signer.clone());
        idp.set_jwks_override(Some(json!({ "keys": keys })));
        let verifier = with_cooldown(&idp).build().expect("config");
        let app = app(JwksAuthLayer::new(verifier));
        let reply = send_token(&app, &token).await;
        if expect_ok {
            reply.assert_ok("third");
        } else {
            reply.assert_refused(
                StatusCode::UNAUTHORIZED,
                r#"{"detail":"invalid signature"}"#,
                Some(INVALID_SIGNATURE),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 13 point 9: an empty kid
// ---------------------------------------------------------------------------------------------

/// `{"keys":[{"kty":"RSA","kid":"","alg":"RS256","use":"sig",...}]}`: the key is usable (it
/// was skipped, "no usable keys (1 skipped)") and a token with `kid: ""` verifies. `""` matches
/// exactly: another kid is unknown, and a token with no kid is still "no key id".
#[tokio::test]
async fn an_empty_kid_is_a_kid_like_any_other() {
    let idp = MockIdp::start().await;
    serve_rs256_as(&idp, "");
    let served = idp.jwks_json();
    assert_eq!(
        (
            &served["keys"][0]["kty"],
            &served["keys"][0]["kid"],
            &served["keys"][0]["alg"],
            &served["keys"][0]["use"]
        ),
        (&json!("RSA"), &json!(""), &json!("RS256"), &json!("sig"))
    );
    let verifier = with_cooldown(&idp).build().expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));

    let token = idp.token().kid("").subject("empty").sign();
    send_token(&app, &token).await.assert_ok("empty");
    assert_eq!(idp.jwks_fetches(), 1);
    assert_eq!(verifier.status().kids, [""]);
    assert_eq!(verifier.jwks().expect("a set")["keys"][0]["kid"], "");

    // Exact match only: a kid-less token is not a token with kid "".
    send_token(&app, &idp.token().no_kid().sign())
        .await
        .assert_refused(
            StatusCode::UNAUTHORIZED,
            r#"{"detail":"token has no key id"}"#,
            Some(r#"Bearer error="invalid_token", error_description="token has no key id""#),
        );
    // Nor does "" match other kids, or other kids "".
    send_token(&app, &idp.token().kid(" ").sign())
        .await
        .assert_refused(
            StatusCode::UNAUTHORIZED,
            r#"{"detail":"unknown key id"}"#,
            Some(UNKNOWN_KID),
        );
    assert_eq!(idp.jwks_fetches(), 2, "one refresh for the unknown kid");

    // A JWK without kid is not a JWK with kid "": with kid-less tokens allowed (so that the
    // kid-less set is usable), a kid-less token verifies and a "" token does not pick it up.
    let mut no_kid = idp.public_jwk(&idp.kid(Algorithm::RS256)).expect("JWK");
    no_kid.as_object_mut().expect("object").remove("kid");
    idp.set_jwks_override(Some(json!({ "keys": [no_kid] })));
    let verifier = with_cooldown(&idp)
        .allow_missing_kid(true)
        .build()
        .expect("config");
    let kidless = common::app(JwksAuthLayer::new(verifier));
    send_token(&kidless, &idp.token().no_kid().subject("none").sign())
        .await
        .assert_ok("none");
    send_token(&kidless, &token).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"unknown key id"}"#,
        Some(UNKNOWN_KID),
    );
}
