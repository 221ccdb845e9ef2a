//! Validation policy beyond the registered claims: scopes and custom checks (403), the RFC 9068
//! access-token profile, ID-token nonce and max_age, HMAC secrets, versioned kids.

mod common;

use std::time::Duration;

use common::{app, builder, send_token};
use http::StatusCode;
use jwks_auth::AuthReason;
use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithm, Algorithms, AuthErrorKind, IdTokenChecks, JwksAuthLayer, JwksVerifier};
use serde_json::json;

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(
        builder(&idp)
            .require_scope("orders:read")
            .build()
            .expect("config"),
    ));
    let granted = idp
        .token()
        .claim("scope", json!("profile orders:read"))
        .sign();
    assert_eq!(send_token(&app, &granted).await.status, StatusCode::OK);
    let scp_array = idp.token().claim("scp", json!(["orders:read"])).sign();
    assert_eq!(send_token(&app, &scp_array).await.status, StatusCode::OK);
    let refused = send_token(&app, &idp.token().claim("scope", json!("profile")).sign()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.challenge(),
        Some(
            r#"Bearer scope="orders:read", error="insufficient_scope", error_description="insufficient scope""#
        )
    );
    assert_eq!(refused.body, r#"{"detail":"insufficient scope"}"#);
}

#[tokio::test]
async fn custom_claims_check_refusal_is_403_even_from_the_token_cache() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .claims_check(|user| match user.str_claim("role") {
            Some("admin") => Ok(()),
            _ => Err("admins only"),
        })
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier));
    let admin = idp.token().claim("role", json!("admin")).sign();
    assert_eq!(send_token(&app, &admin).await.status, StatusCode::OK);
    let user = idp.token().claim("role", json!("user")).sign();
    for _ in 0..2 {
        let reply = send_token(&app, &user).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert!(
            reply
                .challenge()
                .is_some_and(|c| c.contains("insufficient_scope"))
        );
        assert_eq!(reply.body, r#"{"detail":"admins only"}"#);
    }
}

#[tokio::test]
async fn access_token_profile_refuses_id_tokens() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(
        builder(&idp)
            .access_token_profile()
            .build()
            .expect("config"),
    ));
    let access = idp
        .token()
        .header("typ", json!("at+jwt"))
        .claim("client_id", json!("cli"))
        .claim("jti", json!("j1"))
        .sign();
    assert_eq!(send_token(&app, &access).await.status, StatusCode::OK);
    let media_type = idp
        .token()
        .header("typ", json!("application/at+JWT"))
        .claim("client_id", json!("cli"))
        .claim("jti", json!("j2"))
        .sign();
    assert_eq!(send_token(&app, &media_type).await.status, StatusCode::OK);
    // An ID token (typ JWT) with every claim: refused by type.
    let id_token = idp
        .token()
        .claim("client_id", json!("cli"))
        .claim("jti", json!("j3"))
        .sign();
    let reply = send_token(&app, &id_token).await;
    reply.assert_invalid();
    assert!(reply.body.contains("typ must be at+jwt"));
    // An access token missing a required claim (jti).
    let no_jti = idp
        .token()
        .header("typ", json!("at+jwt"))
        .claim("client_id", json!("cli"))
        .sign();
    send_token(&app, &no_jti).await.assert_invalid();
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn id_token_nonce_and_max_age() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let token = idp
        .token()
        .claim("nonce", json!("n-123"))
        .claim("auth_time", json!(now - 100))
        .sign();
    let checks = IdTokenChecks::new()
        .nonce("n-123")
        .max_age(Duration::from_secs(3600));
    verifier
        .verify_id_token(&token, &checks)
        .await
        .expect("valid id token");
    let err = verifier
        .verify_id_token(&token, &IdTokenChecks::new().nonce("other"))
        .await
        .expect_err("nonce");
    assert_eq!(err.reason(), AuthReason::NonceMismatch);
    let err = verifier
        .verify_id_token(
            &token,
            &IdTokenChecks::new().max_age(Duration::from_secs(10)),
        )
        .await
        .expect_err("too old");
    assert_eq!(err.kind(), AuthErrorKind::InvalidToken);
}

#[tokio::test]
async fn hmac_only_with_an_explicit_local_secret() {
    let idp = MockIdp::start().await;
    let secret = b"0123456789abcdef0123456789abcdef-local-secret";
    let err = builder(&idp)
        .algorithms(Algorithm::HS256)
        .build()
        .expect_err("no secret");
    assert!(err.to_string().contains("hmac_secret"), "{err}");
    let err = builder(&idp)
        .hmac_secret(Some("k"), b"short".to_vec())
        .build()
        .expect_err("short");
    assert!(err.to_string().contains("at least 32 bytes"), "{err}");

    let verifier = builder(&idp)
        .algorithms(Algorithms::ASYMMETRIC.union(Algorithm::HS256.into()))
        .hmac_secret(Some("local-1"), secret.to_vec())
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier));
    let good = idp
        .token()
        .alg(Algorithm::HS256)
        .kid("local-1")
        .hmac_secret(secret)
        .sign();
    assert_eq!(send_token(&app, &good).await.status, StatusCode::OK);
    let wrong_secret = idp
        .token()
        .alg(Algorithm::HS256)
        .kid("local-1")
        .hmac_secret(b"another-secret-of-enough-length-000000")
        .sign();
    send_token(&app, &wrong_secret).await.assert_invalid();
    // HS384 was not listed: refused even with the right secret.
    let hs384 = idp
        .token()
        .alg(Algorithm::HS384)
        .kid("local-1")
        .hmac_secret(secret)
        .sign();
    send_token(&app, &hs384).await.assert_invalid();
    // RS256 tokens still verify against the key set.
    assert_eq!(
        send_token(&app, &idp.mint(Algorithm::RS256)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn versioned_kids_resolve_exactly_or_to_the_newest_version_never_by_prefix() {
    let idp = MockIdp::start().await;
    let rsa = idp.public_jwk(&idp.kid(Algorithm::RS256)).expect("jwk");
    idp.rotate(Algorithm::RS256);
    let rsa2 = idp.public_jwk(&idp.kid(Algorithm::RS256)).expect("jwk");
    let with_kid = |jwk: &serde_json::Value, kid: &str| {
        let mut jwk = jwk.clone();
        jwk["kid"] = json!(kid);
        jwk
    };
    // signer.1 is the old key, signer.2 the current one.
    idp.set_jwks_override(Some(
        json!({"keys": [with_kid(&rsa, "signer.1"), with_kid(&rsa2, "signer.2")]}),
    ));
    let verifier: JwksVerifier = builder(&idp).versioned_kids(true).build().expect("config");
    let current = idp.token().kid("signer.2").sign();
    verifier.verify(&current).await.expect("exact kid");
    let bare = idp.token().kid("signer").sign();
    verifier
        .verify(&bare)
        .await
        .expect("bare kid -> newest version");
    // An unknown version never falls back to another version.
    let unknown_version = idp.token().kid("signer.3").sign();
    let err = verifier
        .verify(&unknown_version)
        .await
        .expect_err("unknown version");
    assert_eq!(err.reason(), AuthReason::UnknownKeyId);
    // signer.1 names the old key exactly: a token signed by the current key does not verify.
    let mislabelled = idp.token().kid("signer.1").sign();
    assert_eq!(
        verifier
            .verify(&mislabelled)
            .await
            .expect_err("old key")
            .reason(),
        AuthReason::InvalidSignature
    );
}
