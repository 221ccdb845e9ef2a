//! The Cloudflare Access preset end to end against the mock: token sources, the Starlette
//! responses, service tokens, policies, issuer and AUD, key rotation, get-identity and its
//! cache, the `Identity` extractor.

mod common;

use std::time::Duration;

use common::Reply;

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use jwks_auth::cloudflare::{
    CloudflareAccessBuilder, CloudflareClaims, IdentityError, IdentityErrorKind,
};
use jwks_auth::testing::{Fault, MockIdp, foreign_token};
use jwks_auth::{
    Algorithm, AuthError, AuthErrorKind, CloudflareAccess, Identity, TokenSource, User,
    VerifiedToken,
};
use serde_json::{Value, json};

const MISSING: &str = r#"{"detail":"Invalid CFA Token"}"#;
const INVALID: &str = r#"{"detail":"CFA token verification failed"}"#;

/// The preset pointed at the mock (its issuer is `http://127.0.0.1:PORT`), without retries or
/// cooldowns so that failures and rotations show at once.
fn access(idp: &MockIdp) -> CloudflareAccessBuilder {
    CloudflareAccess::builder("acme", idp.cf_aud())
        .base_url(idp.url())
        .issuer(idp.issuer())
        .verifier(|b| {
            b.http_retries(0)
                .http_timeout(Duration::from_secs(2))
                .unknown_kid_cooldown(Duration::ZERO)
                .failure_backoff(Duration::ZERO)
        })
}

/// `/` answers who the caller is; `/me` answers the identity document.
fn app(access: &CloudflareAccess) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: User| async move {
                format!(
                    "{} {} {} {}",
                    user.email().unwrap_or("-"),
                    user.is_service_token(),
                    user.common_name().unwrap_or("-"),
                    user.token_type().unwrap_or("-"),
                )
            }),
        )
        .route("/me", get(|id: Identity| async move { axum::Json(id) }))
        .layer(access.layer())
}

async fn send(app: &Router, path: &str, headers: &[(&str, &str)]) -> Reply {
    common::send(app, common::get_with(path, headers)).await
}

async fn with_header(app: &Router, path: &str, token: &str) -> Reply {
    send(app, path, &[("cf-access-jwt-assertion", token)]).await
}

fn invalid_challenge(description: &str) -> String {
    format!(r#"Bearer error="invalid_token", error_description="{description}""#)
}

fn forbidden_challenge(description: &str) -> String {
    format!(r#"Bearer error="insufficient_scope", error_description="{description}""#)
}

#[tokio::test]
async fn header_beats_cookie_and_cookie_alone_works() {
    let idp = MockIdp::start().await;
    let app = app(&access(&idp).build().expect("config"));
    let from_header = idp
        .cf_token()
        .claim("email", json!("header@example.test"))
        .sign();
    let from_cookie = idp
        .cf_token()
        .claim("email", json!("cookie@example.test"))
        .sign();
    let cookie = format!("theme=dark; CF_Authorization={from_cookie}");

    let both = send(
        &app,
        "/",
        &[
            ("cf-access-jwt-assertion", &from_header),
            ("cookie", &cookie),
        ],
    )
    .await;
    both.assert_ok("header@example.test false - app");
    let cookie_only = send(&app, "/", &[("cookie", &cookie)]).await;
    cookie_only.assert_ok("cookie@example.test false - app");
    // The header decides when present: a bad header is not rescued by a good cookie.
    let bad_header = send(
        &app,
        "/",
        &[("cf-access-jwt-assertion", "x.y.z"), ("cookie", &cookie)],
    )
    .await;
    bad_header.assert_refused(
        StatusCode::UNAUTHORIZED,
        INVALID,
        Some(&invalid_challenge("malformed token header")),
    );
    // `Authorization: Bearer` is not a Cloudflare token source.
    let bearer = send(
        &app,
        "/",
        &[("authorization", &format!("Bearer {from_header}"))],
    )
    .await;
    bearer.assert_refused(StatusCode::UNAUTHORIZED, MISSING, Some("Bearer"));
    assert_eq!(idp.certs_fetches(), 1);
    assert_eq!(
        idp.jwks_fetches(),
        0,
        "keys come from /cdn-cgi/access/certs"
    );
}

#[tokio::test]
async fn starlette_bodies_with_rfc6750_challenges() {
    let idp = MockIdp::start().await;
    let app = app(&access(&idp).build().expect("config"));
    let missing = send(&app, "/", &[]).await;
    missing.assert_refused(StatusCode::UNAUTHORIZED, MISSING, Some("Bearer"));
    assert_eq!(missing.headers["content-type"], "application/json");
    assert_eq!(idp.certs_fetches(), 0, "no token, no fetch");

    let expired = with_header(&app, "/", &idp.cf_token().expires_in(-3600).sign()).await;
    expired.assert_refused(
        StatusCode::UNAUTHORIZED,
        INVALID,
        Some(&invalid_challenge("token expired")),
    );
    let forged = foreign_token(
        Algorithm::RS256,
        &idp.kid(Algorithm::RS256),
        json!({"sub": "x"}),
    );
    let forged = with_header(&app, "/", &forged).await;
    assert_eq!(
        (forged.status, forged.body.as_str()),
        (StatusCode::UNAUTHORIZED, INVALID)
    );
    assert!(
        forged
            .challenge()
            .is_some_and(|c| c.contains(r#"error="invalid_token""#))
    );
    // Only RS256, as Cloudflare signs.
    let es256 = idp.cf_token().alg(Algorithm::ES256).sign();
    let es256 = with_header(&app, "/", &es256).await;
    assert_eq!(
        (es256.status, es256.body.as_str()),
        (StatusCode::UNAUTHORIZED, INVALID)
    );
}

#[tokio::test]
async fn certs_unobtainable_is_503_with_retry_after() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Status(500));
    let app = app(&access(&idp).build().expect("config"));
    let reply = with_header(&app, "/", &idp.cf_token().sign()).await;
    reply.assert_refused(
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"detail":"signing keys unavailable"}"#,
        None,
    );
    assert!(reply.headers.contains_key("retry-after"));
    assert_eq!(idp.certs_fetches(), 1);
}

#[tokio::test]
async fn service_tokens_are_accepted_and_marked() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let app = app(&access);
    let token = idp.cf_service_token("3c5d9e7f0a1b.access").sign();
    with_header(&app, "/", &token)
        .await
        .assert_ok("- true 3c5d9e7f0a1b.access app");

    let user = access.verify_user(&token).await.expect("accepted");
    assert!(user.is_service_token());
    assert_eq!(user.sub(), Some(""));
    let error = access.verify_email(&token).await.expect_err("no email");
    assert_eq!(error.kind(), AuthErrorKind::Forbidden);

    // Its identity is a service token's, cached per token (there is no identity_nonce).
    let identity = access.get_identity(&token).await.expect("identity");
    assert!(identity.is_service_token());
    assert_eq!(identity.common_name.as_deref(), Some("3c5d9e7f0a1b.access"));
    access.get_identity(&token).await.expect("cached");
    assert_eq!(idp.identity_fetches(), 1);
}

#[tokio::test]
async fn type_and_service_token_policies_give_403() {
    let idp = MockIdp::start().await;
    let strict = app(&access(&idp)
        .require_app_token()
        .refuse_service_tokens()
        .build()
        .expect("config"));
    let org = idp.cf_token().claim("type", json!("org")).sign();
    let description = "not an Access application token";
    with_header(&strict, "/", &org).await.assert_refused(
        StatusCode::FORBIDDEN,
        &format!(r#"{{"detail":"{description}"}}"#),
        Some(&forbidden_challenge(description)),
    );
    let untyped = idp.cf_token().remove_claim("type").sign();
    assert_eq!(
        with_header(&strict, "/", &untyped).await.status,
        StatusCode::FORBIDDEN
    );
    let service = idp.cf_service_token("3c5d9e7f0a1b.access").sign();
    let description = "service tokens are not accepted";
    with_header(&strict, "/", &service).await.assert_refused(
        StatusCode::FORBIDDEN,
        &format!(r#"{{"detail":"{description}"}}"#),
        Some(&forbidden_challenge(description)),
    );
    with_header(&strict, "/", &idp.cf_token().sign())
        .await
        .assert_ok("alice@example.test false - app");

    // Without the options, both pass.
    let lenient = app(&access(&idp).build().expect("config"));
    with_header(&lenient, "/", &org)
        .await
        .assert_ok("alice@example.test false - org");
    assert_eq!(
        with_header(&lenient, "/", &service).await.status,
        StatusCode::OK
    );
    assert_eq!(idp.certs_fetches(), 2, "one fetch per verifier");
}

#[tokio::test]
async fn email_allow_lists_give_403() {
    let idp = MockIdp::start().await;
    let app = app(&access(&idp)
        .allow_emails(["alice@example.test"])
        .allow_email_domains(["corp.example"])
        .allow_service_tokens(["ci.access"])
        .build()
        .expect("config"));
    let as_email = |email: &str| idp.cf_token().claim("email", json!(email)).sign();
    with_header(&app, "/", &as_email("Alice@Example.test"))
        .await
        .assert_ok("Alice@Example.test false - app");
    with_header(&app, "/", &as_email("bob@corp.example"))
        .await
        .assert_ok("bob@corp.example false - app");
    with_header(&app, "/", &idp.cf_service_token("ci.access").sign())
        .await
        .assert_ok("- true ci.access app");
    for refused in [
        "bob@example.test",
        "bob@evilcorp.example",
        "bob@corp.example.evil.test",
    ] {
        let reply = with_header(&app, "/", &as_email(refused)).await;
        reply.assert_refused(
            StatusCode::FORBIDDEN,
            r#"{"detail":"email not allowed"}"#,
            Some(&forbidden_challenge("email not allowed")),
        );
    }
    let other_service = with_header(&app, "/", &idp.cf_service_token("other.access").sign()).await;
    other_service.assert_refused(
        StatusCode::FORBIDDEN,
        r#"{"detail":"service token not allowed"}"#,
        Some(&forbidden_challenge("service token not allowed")),
    );
}

#[tokio::test]
async fn other_team_or_other_application_is_refused() {
    let idp = MockIdp::start().await;
    // No issuer override: with a base URL the issuer stays the team's.
    let access = CloudflareAccess::builder("acme", idp.cf_aud())
        .base_url(idp.url())
        .verifier(|b| b.http_retries(0))
        .build()
        .expect("config");
    assert_eq!(access.issuer(), "https://acme.cloudflareaccess.com");
    let app = app(&access);
    let ours = idp
        .cf_token()
        .claim("iss", json!("https://acme.cloudflareaccess.com"));
    with_header(&app, "/", &ours.sign())
        .await
        .assert_ok("alice@example.test false - app");

    for iss in [
        "https://evil.cloudflareaccess.com",
        "https://acme.cloudflareaccess.com/",
        "http://acme.cloudflareaccess.com",
    ] {
        let token = idp.cf_token().claim("iss", json!(iss)).sign();
        let reply = with_header(&app, "/", &token).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::UNAUTHORIZED, INVALID),
            "{iss}"
        );
        assert!(
            reply
                .challenge()
                .is_some_and(|c| c.contains("invalid_token"))
        );
    }
    let other_app = "ffffc1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
    for aud in [
        json!([other_app]),
        json!(other_app),
        json!([]),
        json!("test-api"),
    ] {
        let token = idp
            .cf_token()
            .claim("iss", json!("https://acme.cloudflareaccess.com"))
            .audience(aud.clone())
            .sign();
        let reply = with_header(&app, "/", &token).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::UNAUTHORIZED, INVALID),
            "{aud}"
        );
    }
    assert_eq!(idp.certs_fetches(), 1);
}

#[tokio::test]
async fn key_rotation_is_picked_up() {
    let idp = MockIdp::start().await;
    let app = app(&access(&idp).build().expect("config"));
    let old = idp.cf_token().sign();
    with_header(&app, "/", &old)
        .await
        .assert_ok("alice@example.test false - app");
    let new_kid = idp.rotate(Algorithm::RS256);
    let new = idp.cf_token().sign();
    assert!(new_kid != "rs256-1");
    with_header(&app, "/", &new)
        .await
        .assert_ok("alice@example.test false - app");
    assert_eq!(
        idp.certs_fetches(),
        2,
        "the unknown kid triggered one refresh"
    );
}

#[tokio::test]
async fn certs_endpoint_serves_cloudflares_format() {
    let idp = MockIdp::start().await;
    idp.keep_previous(true);
    let new_kid = idp.rotate(Algorithm::RS256);
    let body = reqwest::get(idp.cf_certs_url())
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body");
    let doc: Value = serde_json::from_slice(&body).expect("JSON");
    let kids: Vec<&str> = doc["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            assert_eq!(
                (k["kty"].as_str(), k["alg"].as_str(), k["use"].as_str()),
                (Some("RSA"), Some("RS256"), Some("sig"))
            );
            k["kid"].as_str().expect("kid")
        })
        .collect();
    assert_eq!(kids, ["rs256-1", new_kid.as_str()]);
    assert_eq!(doc["public_cert"]["kid"], json!(new_kid));
    assert!(
        doc["public_cert"]["cert"]
            .as_str()
            .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE-----"))
    );
    assert_eq!(doc["public_certs"].as_array().map(Vec::len), Some(2));
    assert_eq!(idp.certs_fetches(), 1);
}

#[tokio::test]
async fn get_identity_returns_every_field_and_caches_per_nonce() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let token = idp.cf_token().claim("country", json!("PT")).sign();
    let identity = access.get_identity(&token).await.expect("identity");
    assert_eq!(identity.email.as_deref(), Some("alice@example.test"));
    assert_eq!(identity.name.as_deref(), Some("Alice Example"));
    assert_eq!(
        identity.user_uuid.as_deref(),
        Some("5b0c1f7e-2222-4a1b-9c3d-0123456789ab")
    );
    assert_eq!(
        identity.geo.as_ref().and_then(|g| g.country.as_deref()),
        Some("PT")
    );
    let idp_info = identity.idp.as_ref().expect("idp");
    assert_eq!(idp_info.kind.as_deref(), Some("okta"));
    assert_eq!(identity.account_id.as_deref(), Some("1234abcd"));
    assert_eq!(identity.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(identity.auth_status.as_deref(), Some("NONE"));
    assert_eq!(
        (identity.is_warp, identity.is_gateway),
        (Some(true), Some(false))
    );
    assert_eq!(identity.service_token_status, Some(false));
    assert_eq!(identity.gateway_account_id.as_deref(), Some("gw-1234abcd"));
    assert_eq!(identity.device_id.as_deref(), Some("dev-5e6f"));
    assert_eq!(identity.version, Some(2));
    assert!(identity.iat.is_some_and(|iat| iat > 0));
    assert_eq!(
        identity.amr.as_deref(),
        Some(&["pwd".to_owned(), "mfa".to_owned()][..])
    );
    assert_eq!(identity.group_names(), ["finance", "ops"]);
    let posture = &identity.device_posture.as_ref().expect("devicePosture")["r1"];
    assert_eq!(
        (posture.rule_name.as_deref(), posture.success),
        (Some("Disk encryption"), Some(true))
    );
    let session = &identity.device_sessions.as_ref().expect("device_sessions")["s1"];
    assert_eq!(session.last_authenticated, identity.iat);
    assert_eq!(
        identity.mtls_auth.as_ref().and_then(|m| m.cert_presented),
        Some(false)
    );
    assert_eq!(identity.custom, Some(json!({"department": "finance"})));
    assert_eq!(identity.extra["mock_unknown_field"], json!({"kept": true}));
    assert!(!identity.is_service_token());
    assert_eq!(idp.identity_fetches(), 1);

    // Same token, and another token of the same session (same identity_nonce): cached.
    access.get_identity(&token).await.expect("cached");
    let same_session = idp
        .cf_token()
        .claim(
            "identity_nonce",
            json!(identity_nonce_of(&access, &token).await),
        )
        .sign();
    access.get_identity(&same_session).await.expect("cached");
    assert_eq!(idp.identity_fetches(), 1);
    // Another session: fetched.
    access
        .get_identity(&idp.cf_token().sign())
        .await
        .expect("fetched");
    assert_eq!(idp.identity_fetches(), 2);
}

async fn identity_nonce_of(access: &CloudflareAccess, token: &str) -> String {
    let user = access.verify_user(token).await.expect("valid");
    user.identity_nonce().expect("identity_nonce").to_owned()
}

#[tokio::test]
async fn identities_never_outlive_their_token() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    // Expired 5 s ago: still inside the 30 s leeway, so valid, but nothing left to cache.
    let token = idp.cf_token().expires_in(-5).sign();
    access.get_identity(&token).await.expect("identity");
    access.get_identity(&token).await.expect("identity");
    assert_eq!(idp.identity_fetches(), 2, "not cached past exp");
    // A cache TTL of zero turns the cache off.
    let uncached = access_without_cache(&idp);
    let token = idp.cf_token().sign();
    uncached.get_identity(&token).await.expect("identity");
    uncached.get_identity(&token).await.expect("identity");
    assert_eq!(idp.identity_fetches(), 4);
}

fn access_without_cache(idp: &MockIdp) -> CloudflareAccess {
    access(idp)
        .identity_cache_ttl(Duration::ZERO)
        .build()
        .expect("config")
}

#[tokio::test]
async fn unverified_tokens_are_never_sent_to_the_identity_endpoint() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let forged = foreign_token(
        Algorithm::RS256,
        &idp.kid(Algorithm::RS256),
        json!({"iss": idp.issuer(), "aud": [idp.cf_aud()], "exp": 4_000_000_000_i64, "identity_nonce": "victim"}),
    );
    let error = access.get_identity(&forged).await.expect_err("forged");
    assert_eq!(error.kind(), IdentityErrorKind::InvalidToken);
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(idp.identity_fetches(), 0);
}

#[tokio::test]
async fn identity_endpoint_failures_are_clear_errors_and_not_cached() {
    let idp = MockIdp::start().await;
    let access = access(&idp)
        .verifier(|b| b.http_timeout(Duration::from_millis(300)))
        .build()
        .expect("config");
    let token = idp.cf_token().sign();
    let cases = [
        (
            Fault::Status(500),
            IdentityErrorKind::Unavailable,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            Fault::Status(401),
            IdentityErrorKind::Rejected,
            StatusCode::UNAUTHORIZED,
        ),
        (
            Fault::Status(404),
            IdentityErrorKind::BadResponse,
            StatusCode::BAD_GATEWAY,
        ),
        (
            Fault::Garbage,
            IdentityErrorKind::BadResponse,
            StatusCode::BAD_GATEWAY,
        ),
        (
            Fault::Oversized(300 * 1024),
            IdentityErrorKind::BadResponse,
            StatusCode::BAD_GATEWAY,
        ),
        (
            Fault::ConnectionReset,
            IdentityErrorKind::Unavailable,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            Fault::Delay(Duration::from_secs(5)),
            IdentityErrorKind::Unavailable,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ];
    for (n, (fault, kind, status)) in cases.into_iter().enumerate() {
        idp.set_identity_fault(fault.clone());
        let error = access.get_identity(&token).await.expect_err("fault");
        assert_eq!(
            (error.kind(), error.status()),
            (kind, status),
            "{fault:?}: {error}"
        );
        assert!(
            error.to_string().contains("/cdn-cgi/access/get-identity"),
            "{error}"
        );
        assert!(
            !error.to_string().contains(&token),
            "the token never appears in errors"
        );
        assert_eq!(
            idp.identity_fetches(),
            n + 1,
            "{fault:?}: failures are not cached"
        );
    }
    // A document of the wrong shape, and an `err` document.
    idp.set_identity_fault(Fault::None);
    idp.set_identity_document(Some(
        json!({"email": "a@example.test", "device_sessions": ["s1"]}),
    ));
    let error = access.get_identity(&token).await.expect_err("wrong shape");
    assert_eq!(error.kind(), IdentityErrorKind::BadResponse);
    idp.set_identity_document(Some(json!({"err": "no app token set"})));
    let error = access.get_identity(&token).await.expect_err("err document");
    assert_eq!(error.kind(), IdentityErrorKind::Rejected);
    // Back to normal: fetched, then cached.
    idp.set_identity_document(None);
    access.get_identity(&token).await.expect("recovered");
    access.get_identity(&token).await.expect("cached");
    assert_eq!(idp.identity_fetches(), 10);
}

#[tokio::test]
async fn concurrent_requests_for_one_identity_share_one_fetch() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let token = idp.cf_token().sign();
    access.verify_user(&token).await.expect("keys warmed");
    idp.set_identity_fault(Fault::Delay(Duration::from_millis(200)));
    let calls = (0..20).map(|_| {
        let access = access.clone();
        let token = token.clone();
        tokio::spawn(async move { access.get_identity(&token).await })
    });
    for call in join_all(calls).await {
        call.expect("task").expect("identity");
    }
    assert_eq!(idp.identity_fetches(), 1);
}

async fn join_all<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await);
    }
    results
}

#[tokio::test]
async fn identity_extractor_fetches_lazily_and_reuses_the_cache() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let twice = Router::new()
        .route(
            "/twice",
            get(|a: Identity, b: Option<Identity>| async move {
                format!("{:?} {:?}", a.email, b.and_then(|b| b.email))
            }),
        )
        .layer(access.layer());
    let app = app(&access).merge(twice);
    let token = idp.cf_token().sign();
    with_header(&app, "/", &token)
        .await
        .assert_ok("alice@example.test false - app");
    assert_eq!(
        idp.identity_fetches(),
        0,
        "handlers without Identity never fetch"
    );

    let me = with_header(&app, "/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let document = me.json();
    assert_eq!(document["email"], "alice@example.test");
    assert_eq!(document["devicePosture"]["r1"]["success"], true);
    assert_eq!(document["mock_unknown_field"], json!({"kept": true}));
    let cookie = format!("CF_Authorization={token}");
    assert_eq!(
        send(&app, "/me", &[("cookie", &cookie)]).await.status,
        StatusCode::OK
    );
    let twice = with_header(&app, "/twice", &token).await;
    twice.assert_ok(r#"Some("alice@example.test") Some("alice@example.test")"#);
    assert_eq!(
        idp.identity_fetches(),
        1,
        "one fetch serves every request of the session"
    );
}

#[tokio::test]
async fn identity_extractor_maps_failures_to_responses() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let app = app(&access);
    let token = idp.cf_token().sign();
    idp.set_identity_fault(Fault::Status(503));
    with_header(&app, "/me", &token).await.assert_refused(
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"detail":"identity endpoint unavailable"}"#,
        None,
    );
    idp.set_identity_fault(Fault::Garbage);
    with_header(&app, "/me", &token).await.assert_refused(
        StatusCode::BAD_GATEWAY,
        r#"{"detail":"bad answer from the identity endpoint"}"#,
        None,
    );
    // The endpoint refusing the token is a refusal of the token: answered by the preset's
    // handler, like every other 401 (one format for every refusal).
    idp.set_identity_fault(Fault::Status(403));
    with_header(&app, "/me", &token).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"CFA token verification failed"}"#,
        Some(
            r#"Bearer error="invalid_token", error_description="the identity endpoint refused the token""#,
        ),
    );
    assert_eq!(idp.identity_fetches(), 3);

    // Without the layer: 500 naming the fix, no fetch.
    let unprotected = Router::new().route("/me", get(|_: Identity| async { "" }));
    let reply = send(&unprotected, "/me", &[("cf-access-jwt-assertion", &token)]).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reply.body.contains("CloudflareAccess::layer()"),
        "{}",
        reply.body
    );
    assert_eq!(idp.identity_fetches(), 3);
}

#[tokio::test]
async fn optional_and_dev_user_layers_work_with_identity() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let maybe = |layer| {
        Router::new()
            .route(
                "/maybe",
                get(|id: Option<Identity>| async move {
                    id.map_or("anonymous".to_owned(), |i| i.email.unwrap_or_default())
                }),
            )
            .layer(layer)
    };
    let optional = maybe(access.layer().optional());
    send(&optional, "/maybe", &[]).await.assert_ok("anonymous");
    with_header(&optional, "/maybe", &idp.cf_token().sign())
        .await
        .assert_ok("alice@example.test");

    let dev = maybe(access.layer().dev_user(User::from_claims(
        json!({"sub": "dev", "email": "dev@localhost"}),
    )));
    send(&dev, "/maybe", &[]).await.assert_ok("dev@localhost");
    assert_eq!(
        idp.identity_fetches(),
        1,
        "the dev user's identity comes from its claims"
    );
}

#[tokio::test]
async fn mock_identity_endpoint_checks_the_cookie() {
    let idp = MockIdp::start().await;
    let client = reqwest::Client::new();
    let get = |cookie: Option<String>| {
        let mut request = client.get(idp.cf_identity_url());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    assert_eq!(get(None).await.expect("GET").status(), 401);
    let forged = foreign_token(
        Algorithm::RS256,
        &idp.kid(Algorithm::RS256),
        json!({"exp": 4_000_000_000_i64}),
    );
    assert_eq!(
        get(Some(format!("CF_Authorization={forged}")))
            .await
            .expect("GET")
            .status(),
        401
    );
    let token = idp.cf_token().sign();
    let ok = get(Some(format!("a=b; CF_Authorization={token}")))
        .await
        .expect("GET");
    assert_eq!(ok.status(), 200);
    assert_eq!(idp.identity_fetches(), 3);
}

#[tokio::test]
async fn direct_verification_for_code_outside_the_layer() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let token = idp.cf_token().sign();
    let user = access
        .verify_user(&format!("Bearer {token}"))
        .await
        .expect("valid");
    assert_eq!(user.email(), Some("alice@example.test"));
    assert_eq!(user.country(), Some("NL"));
    assert_eq!(user.token_type(), Some("app"));
    assert!(user.identity_nonce().is_some_and(|n| !n.is_empty()));
    assert_eq!(
        access.verify_email(&token).await.as_deref(),
        Ok("alice@example.test")
    );
    let error = access
        .verify_user("not-a-token")
        .await
        .expect_err("invalid");
    assert_eq!(error.kind(), AuthErrorKind::InvalidToken);
}

/// Issue 11 point 5: the layer stores the token it verified and the extractor sends that one,
/// whatever sources the layer reads (with only `Authorization: Bearer` this was a 401).
#[tokio::test]
async fn identity_extractor_uses_the_token_the_layer_verified_from_any_source() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let layer = access.layer().token_sources(TokenSource::defaults());
    let app = Router::new()
        .route("/me", get(|id: Identity| async move { axum::Json(id) }))
        .route(
            "/token",
            get(
                |axum::Extension(token): axum::Extension<VerifiedToken>| async move {
                    token.as_str().to_owned()
                },
            ),
        )
        .layer(layer);
    let token = idp
        .cf_token()
        .claim("email", json!("bearer@example.test"))
        .sign();
    let bearer = format!("Bearer {token}");

    // First request: keys not loaded yet, so the layer's slow path verifies it.
    let me = send(&app, "/me", &[("authorization", &bearer)]).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["email"], "bearer@example.test");
    assert_eq!(idp.identity_cookies(), std::slice::from_ref(&token));
    // Fast path too; the stored token is exactly the verified one, without the scheme.
    send(&app, "/token", &[("authorization", &bearer)])
        .await
        .assert_ok(&token);
    assert_eq!(idp.identity_fetches(), 1);
    assert_eq!(idp.certs_fetches(), 1);
}

#[tokio::test]
async fn verified_token_is_absent_without_a_verification_and_never_printed() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let probe = |layer| {
        Router::new()
            .route(
                "/",
                get(|token: Option<axum::Extension<VerifiedToken>>| async move {
                    token.map_or("none".to_owned(), |t| format!("{:?}", t.0))
                }),
            )
            .layer(layer)
    };
    let token = idp.cf_token().sign();
    let seen = with_header(&probe(access.layer()), "/", &token).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(
        seen.body,
        format!("VerifiedToken {{ len: {}, .. }}", token.len())
    );
    assert!(!seen.body.contains(&token[..20]));
    // Anonymous (optional layer) and the dev-user bypass carry no token.
    send(&probe(access.layer().optional()), "/", &[])
        .await
        .assert_ok("none");
    let dev = access
        .layer()
        .dev_user(User::from_claims(json!({"sub": "dev"})));
    with_header(&probe(dev), "/", &token)
        .await
        .assert_ok("none");
}

/// Issue 12 point 8: the identity cache binds the nonce to the verified subject, token type
/// and team; a nonce alone never hands one caller's identity to another.
#[tokio::test]
async fn one_nonce_shared_by_different_callers_gives_each_their_own_identity() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let nonce = json!("shared-nonce");
    let alice = idp
        .cf_token()
        .subject("alice-uuid")
        .claim("email", json!("alice@example.test"))
        .claim("identity_nonce", nonce.clone())
        .sign();
    let bob = idp
        .cf_token()
        .subject("bob-uuid")
        .claim("email", json!("bob@example.test"))
        .claim("identity_nonce", nonce.clone())
        .sign();
    let alice_id = access.get_identity(&alice).await.expect("alice");
    let bob_id = access.get_identity(&bob).await.expect("bob");
    assert_eq!(alice_id.email.as_deref(), Some("alice@example.test"));
    assert_eq!(bob_id.email.as_deref(), Some("bob@example.test"));
    assert_eq!(bob_id.user_uuid.as_deref(), Some("bob-uuid"));
    assert_eq!(idp.identity_fetches(), 2);

    // Alice's `org` token with the same nonce is another kind of token: its own entry.
    let alice_org = idp
        .cf_token()
        .subject("alice-uuid")
        .claim("email", json!("alice@example.test"))
        .claim("type", json!("org"))
        .claim("identity_nonce", nonce.clone())
        .sign();
    access.get_identity(&alice_org).await.expect("org");
    assert_eq!(idp.identity_fetches(), 3);
    // A service token carrying the nonce gets a service token's identity.
    let service = idp
        .cf_service_token("ci.access")
        .claim("identity_nonce", nonce.clone())
        .sign();
    let service_id = access.get_identity(&service).await.expect("service");
    assert!(service_id.is_service_token());
    assert_eq!(service_id.email, None);
    assert_eq!(idp.identity_fetches(), 4);

    // The same caller again, with a fresh token of the session: served from the cache.
    let alice_again = idp
        .cf_token()
        .subject("alice-uuid")
        .claim("email", json!("alice@example.test"))
        .claim("identity_nonce", nonce.clone())
        .sign();
    let cached = access.get_identity(&alice_again).await.expect("cached");
    assert_eq!(cached.email.as_deref(), Some("alice@example.test"));
    assert_eq!(idp.identity_fetches(), 4);

    // Through the layer as well: Bob's request never sees Alice's identity.
    let app = app(&access);
    let me = with_header(&app, "/me", &bob).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["email"], "bob@example.test");
    assert_eq!(idp.identity_fetches(), 4);
}

/// Issue 12 point 9: `get_identity` sends exactly the token it verified (it used to strip
/// `Bearer ` twice and send `CF_Authorization=Bearer <t>`).
#[tokio::test]
async fn get_identity_sends_exactly_the_verified_token() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let plain = idp.cf_token().sign();
    access.get_identity(&plain).await.expect("plain");
    let prefixed = idp.cf_token().sign();
    access
        .get_identity(&format!("Bearer {prefixed}"))
        .await
        .expect("one Bearer prefix is stripped");
    assert_eq!(idp.identity_cookies(), [plain.clone(), prefixed.clone()]);

    // Two prefixes: the second is part of the token, which does not verify; nothing is sent.
    let doubled = idp.cf_token().sign();
    let error = access
        .get_identity(&format!("Bearer Bearer {doubled}"))
        .await
        .expect_err("not a token");
    assert_eq!(error.kind(), IdentityErrorKind::InvalidToken);
    assert_eq!(idp.identity_fetches(), 2);
    assert_eq!(idp.identity_cookies(), [plain, prefixed]);
}

/// The response of `app` to a GET of `path` with these headers, extensions and all.
async fn raw(app: &Router, path: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    use tower::ServiceExt;
    app.clone()
        .oneshot(common::get_with(path, headers))
        .await
        .expect("infallible")
}

/// Issue 12 point 7 (Cloudflare part): the `Identity` extractor's refusals carry their
/// `IdentityError` (and the `AuthError` behind it) for outer layers, and the preset's
/// missing-token wording names no `bearer`.
#[tokio::test]
async fn identity_refusals_carry_their_errors_and_never_say_bearer() {
    let idp = MockIdp::start().await;
    let access = access(&idp).build().expect("config");
    let required = |layer| {
        Router::new()
            .route("/me", get(|id: Identity| async move { axum::Json(id) }))
            .layer(layer)
    };

    // No token at all, on the preset layer and on an optional one (where the extractor
    // refuses): Cloudflare's words, not the bearer scheme's.
    let missing = send(&required(access.layer()), "/me", &[]).await;
    missing.assert_refused(StatusCode::UNAUTHORIZED, MISSING, Some("Bearer"));
    let optional = required(access.layer().optional());
    let reply = raw(&optional, "/me", &[]).await;
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers()["www-authenticate"], "Bearer");
    let error = reply
        .extensions()
        .get::<IdentityError>()
        .expect("IdentityError attached");
    assert_eq!(error.kind(), IdentityErrorKind::MissingToken);
    assert!(
        !error.to_string().to_ascii_lowercase().contains("bearer"),
        "{error}"
    );
    let auth = reply
        .extensions()
        .get::<AuthError>()
        .expect("AuthError attached");
    assert_eq!(auth.kind(), AuthErrorKind::MissingToken);
    // Answered by the layer's handler: the same body as the layer's own missing-token refusal.
    let body = common::send(&optional, common::get_with("/me", &[]))
        .await
        .body;
    assert_eq!(body, r#"{"detail":"Invalid CFA Token"}"#);
    let custom = required(access.layer().optional().rejection(|e: &AuthError| {
        http::Response::builder()
            .status(e.status())
            .body(bytes::Bytes::from(format!("custom {}", e.reason().code())))
            .expect("response")
    }));
    let reply = common::send(&custom, common::get_with("/me", &[])).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::UNAUTHORIZED, "custom missing_token"),
        "the Identity extractor answers through a custom handler too"
    );

    // The identity endpoint fails: the IdentityError, and no AuthError (the token was fine).
    idp.set_identity_fault(Fault::Status(503));
    let token = idp.cf_token().sign();
    let reply = raw(
        &required(access.layer()),
        "/me",
        &[("cf-access-jwt-assertion", &token)],
    )
    .await;
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error = reply.extensions().get::<IdentityError>().expect("attached");
    assert_eq!(error.kind(), IdentityErrorKind::Unavailable);
    assert!(reply.extensions().get::<AuthError>().is_none());
    assert_eq!(idp.identity_fetches(), 1);

    // Without the layer: 500, with the error attached.
    let unprotected = Router::new().route("/me", get(|_: Identity| async { "" }));
    let reply = raw(&unprotected, "/me", &[]).await;
    assert_eq!(reply.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let error = reply.extensions().get::<IdentityError>().expect("attached");
    assert_eq!(error.kind(), IdentityErrorKind::LayerMissing);

    // A handler returning `get_identity`'s error for a bad token: the AuthError rides along.
    let direct = {
        let access = access.clone();
        Router::new().route(
            "/direct",
            get(move || async move {
                access
                    .get_identity("x.y.z")
                    .await
                    .map(|id| axum::Json(Identity::clone(&id)))
            }),
        )
    };
    let reply = raw(&direct, "/direct", &[]).await;
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let error = reply.extensions().get::<IdentityError>().expect("attached");
    assert_eq!(error.kind(), IdentityErrorKind::InvalidToken);
    let auth = reply
        .extensions()
        .get::<AuthError>()
        .expect("AuthError attached");
    assert_eq!(auth.kind(), AuthErrorKind::InvalidToken);
    assert_eq!(error.auth_error(), Some(auth));
    assert_eq!(idp.identity_fetches(), 1);
}
