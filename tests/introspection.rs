//! Opaque access tokens through OAuth 2.0 token introspection (RFC 7662), against the mock's
//! introspection endpoint: what each answer means for the request, the cache (one call per
//! token, in time and across concurrent requests), revocation, and failures (503 with
//! `Retry-After`, never 401, when the endpoint cannot answer). Time moves with a
//! `ManualClock`; nothing sleeps.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{app, bearer, builder, send, send_token};
use futures_util::future::join_all;
use http::StatusCode;
use jwks_auth::introspection::{
    ClientAssertion, ClientAuth, Introspection, IntrospectionBuilder, Routing,
};
use jwks_auth::testing::{Fault, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, MockIdp};
use jwks_auth::{Algorithm, AuthReason, JwksAuthLayer, JwksVerifier, ManualClock, Require, User};
use serde_json::json;

const INACTIVE: &str = r#"Bearer error="invalid_token", error_description="token is not active""#;
const UNAVAILABLE: &str = r#"{"detail":"token introspection unavailable"}"#;

fn introspection(idp: &MockIdp) -> IntrospectionBuilder {
    Introspection::builder()
        .endpoint(idp.introspection_url())
        .client_auth(ClientAuth::client_secret_basic(
            INTROSPECTION_CLIENT_ID,
            INTROSPECTION_CLIENT_SECRET,
        ))
}

/// The mock's app (`/me` answers the sub) behind a verifier with JWKS and introspection.
fn app_for(idp: &MockIdp, config: IntrospectionBuilder, clock: &ManualClock) -> Router {
    let verifier = builder(idp)
        .clock(clock.clone())
        .introspection(config.build().expect("introspection config"))
        .build()
        .expect("verifier");
    app(JwksAuthLayer::new(verifier))
}

#[track_caller]
fn assert_unavailable(reply: &common::Reply) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reply.body, UNAVAILABLE);
    assert!(reply.challenge().is_none(), "503 carries no challenge");
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry >= 1, "Retry-After {retry}");
}

#[tokio::test]
async fn active_token_is_accepted_and_inactive_one_refused() {
    let idp = MockIdp::start().await;
    let app = app_for(&idp, introspection(&idp), &ManualClock::now());
    let token = idp.opaque_token().claim("sub", json!("alice")).issue();
    send_token(&app, &token).await.assert_ok("alice");
    assert_eq!(idp.introspection_calls(), 1);
    let reply = send_token(&app, "never-issued").await;
    reply.assert_refused(
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"token is not active"}"#,
        Some(INACTIVE),
    );
    assert_eq!(idp.introspection_calls(), 2);
}

#[tokio::test]
async fn client_secret_post_and_discovered_endpoint() {
    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .oidc_issuer(idp.issuer())
        .audience(idp.audience())
        .introspection(
            Introspection::builder()
                .client_auth(ClientAuth::client_secret_post(
                    INTROSPECTION_CLIENT_ID,
                    INTROSPECTION_CLIENT_SECRET,
                ))
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    let token = idp.opaque_token().issue();
    let user = verifier.verify(&token).await.expect("active");
    assert_eq!(user.sub(), Some("user-1"));
    assert_eq!(user.str_claim("client_id"), Some("test-client"));
    assert_eq!(idp.discovery_fetches(), 1);
    assert_eq!(idp.introspection_calls(), 1);
    // The endpoint is discovered once.
    let other = idp.opaque_token().issue();
    verifier.verify(&other).await.expect("active");
    assert_eq!(idp.discovery_fetches(), 1);
}

#[tokio::test]
async fn refused_client_credentials_are_503_for_the_client() {
    // What the operator is told: tests/introspection_logs.rs.
    let idp = MockIdp::start().await;
    idp.set_introspection_client(INTROSPECTION_CLIENT_ID, "rotated-secret");
    let app = app_for(&idp, introspection(&idp), &ManualClock::now());
    let token = idp.opaque_token().issue();
    assert_unavailable(&send_token(&app, &token).await);
    assert_eq!(idp.introspection_calls(), 1, "a 401 is not retried");
    // Errors are not cached: fixed credentials work at once.
    idp.set_introspection_client(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET);
    send_token(&app, &token).await.assert_ok("user-1");
    assert_eq!(idp.introspection_calls(), 2);
}

#[tokio::test]
async fn active_answers_are_checked_like_jwt_claims() {
    let idp = MockIdp::start().await;
    let app = app_for(&idp, introspection(&idp), &ManualClock::now());
    let cases = [
        (idp.opaque_token().expires_in(-600).issue(), "token expired"),
        (
            idp.opaque_token().claim("aud", json!("other-api")).issue(),
            "audience mismatch",
        ),
        (
            idp.opaque_token()
                .claim("iss", json!("https://elsewhere.example"))
                .issue(),
            "issuer mismatch",
        ),
        (
            idp.opaque_token().claim("exp", json!("tomorrow")).issue(),
            "invalid time claim",
        ),
    ];
    for (n, (token, why)) in cases.iter().enumerate() {
        let reply = send_token(&app, token).await;
        reply.assert_refused(
            StatusCode::UNAUTHORIZED,
            &format!(r#"{{"detail":"{why}"}}"#),
            Some(&format!(
                r#"Bearer error="invalid_token", error_description="{why}""#
            )),
        );
        assert_eq!(idp.introspection_calls(), n + 1);
    }
    // No `exp` at all is allowed (RFC 7662 makes it optional): the cache TTL bounds it.
    let token = idp.opaque_token().remove_claim("exp").issue();
    send_token(&app, &token).await.assert_ok("user-1");
}

#[tokio::test]
async fn one_call_for_a_hundred_requests_with_the_same_token() {
    let idp = MockIdp::start().await;
    let app = app_for(&idp, introspection(&idp), &ManualClock::now());
    let token = idp.opaque_token().issue();
    for _ in 0..100 {
        send_token(&app, &token).await.assert_ok("user-1");
    }
    assert_eq!(idp.introspection_calls(), 1);
    // Refusals are cached too, for the shorter negative lifetime.
    for _ in 0..10 {
        assert_eq!(
            send_token(&app, "unknown").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(idp.introspection_calls(), 2);
}

#[tokio::test]
async fn a_hundred_concurrent_requests_share_one_call() {
    let idp = MockIdp::start().await;
    let app = app_for(&idp, introspection(&idp), &ManualClock::now());
    let token = idp.opaque_token().issue();
    // All hundred are polled before the call (its own task) can answer: they wait on it.
    let replies = join_all((0..100).map(|_| send(&app, bearer(&token)))).await;
    for reply in &replies {
        reply.assert_ok("user-1");
    }
    assert_eq!(idp.introspection_calls(), 1);
    // The same for a token the endpoint refuses, and through `verify` directly.
    let verifier = builder(&idp)
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    let results = join_all((0..100).map(|_| verifier.verify("revoked-or-unknown"))).await;
    for result in results {
        assert_eq!(
            result.expect_err("inactive").reason(),
            AuthReason::InactiveToken
        );
    }
    assert_eq!(idp.introspection_calls(), 2);
}

#[tokio::test]
async fn revocation_is_visible_once_the_cached_answer_expires() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let config = introspection(&idp).cache_ttl(Duration::from_secs(30));
    let app = app_for(&idp, config, &clock);
    let token = idp.opaque_token().issue();
    send_token(&app, &token).await.assert_ok("user-1");
    idp.revoke(&token);
    clock.advance(Duration::from_secs(29));
    send_token(&app, &token).await.assert_ok("user-1");
    assert_eq!(idp.introspection_calls(), 1, "still cached");
    clock.advance(Duration::from_secs(1));
    let reply = send_token(&app, &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(INACTIVE));
    assert_eq!(idp.introspection_calls(), 2);
}

#[tokio::test]
async fn a_cached_answer_never_outlives_the_tokens_exp() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = builder(&idp)
        .clock(clock.clone())
        .leeway(Duration::ZERO)
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    let app = app(JwksAuthLayer::new(verifier));
    let token = idp.opaque_token().expires_in(10).issue();
    send_token(&app, &token).await.assert_ok("user-1");
    clock.advance(Duration::from_secs(11));
    let reply = send_token(&app, &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer error="invalid_token", error_description="token expired""#)
    );
    assert_eq!(
        idp.introspection_calls(),
        2,
        "asked again, answered expired"
    );
}

#[tokio::test]
async fn endpoint_failures_are_503_with_retry_after_and_never_cached() {
    let idp = MockIdp::start().await;
    let app = app_for(&idp, introspection(&idp), &ManualClock::now());
    let token = idp.opaque_token().issue();
    let faults = [
        Fault::Status(500),
        Fault::Status(503),
        Fault::Garbage,
        Fault::Oversized(100_000),
        Fault::ConnectionReset,
    ];
    for (n, fault) in faults.into_iter().enumerate() {
        idp.set_introspection_fault(fault.clone());
        assert_unavailable(&send_token(&app, &token).await);
        assert_eq!(
            idp.introspection_calls(),
            n + 1,
            "{fault:?}: retries are off"
        );
    }
    idp.set_introspection_fault(Fault::None);
    send_token(&app, &token).await.assert_ok("user-1");
}

#[tokio::test]
async fn answers_that_are_not_rfc_7662_are_refused_with_503() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .http_retries(2)
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    idp.set_introspection_fault(Fault::Garbage);
    let err = verifier.verify("opaque").await.expect_err("malformed");
    assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        idp.introspection_calls(),
        1,
        "a malformed answer is not retried"
    );
}

#[tokio::test]
async fn a_slow_or_stopped_endpoint_is_503_within_the_timeout() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .http_timeout(Duration::from_millis(200))
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    idp.set_introspection_fault(Fault::Delay(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let err = verifier.verify("opaque").await.expect_err("timeout");
    assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
    assert!(err.retry_after().is_some());
    assert!(started.elapsed() < Duration::from_secs(10));
    idp.shutdown();
    let err = verifier.verify("other").await.expect_err("down");
    assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
}

#[tokio::test]
async fn jwts_are_verified_locally_unless_every_token_is_introspected() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let jwt = idp.mint(Algorithm::RS256);
    let opaque_only = app_for(&idp, introspection(&idp), &clock);
    send_token(&opaque_only, &jwt).await.assert_ok("user-1");
    assert_eq!(idp.introspection_calls(), 0);
    // Every token introspected: the mock never issued this JWT as a reference, so it is not
    // active there (as a revoked JWT would not be).
    let all = app_for(
        &idp,
        introspection(&idp).routing(Routing::AllTokens),
        &clock,
    );
    let reply = send_token(&all, &jwt).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(INACTIVE));
    assert_eq!(idp.introspection_calls(), 1);
}

#[tokio::test]
async fn an_introspection_only_verifier_needs_no_key_source() {
    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .issuer(idp.issuer())
        .audience(idp.audience())
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    let token = idp.opaque_token().issue();
    assert_eq!(
        verifier.verify(&token).await.expect("active").sub(),
        Some("user-1")
    );
    // A JWT goes to the endpoint too.
    let err = verifier
        .verify(&idp.mint(Algorithm::ES256))
        .await
        .expect_err("inactive");
    assert_eq!(err.reason(), AuthReason::InactiveToken);
    assert_eq!(idp.introspection_calls(), 2);
    // Ready without a key set: there is none to fetch.
    verifier.refresh().await.expect("nothing to refresh");
    assert!(verifier.status().usable);
    let (status, _) = jwks_auth::health::readiness(std::slice::from_ref(&verifier)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn route_requirements_read_the_introspected_scope() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    let app = Router::new()
        .route(
            "/me",
            get(|user: User| async move { user.sub().unwrap_or("").to_owned() })
                .route_layer(Require::scope("orders:write")),
        )
        .layer(JwksAuthLayer::new(verifier));
    let writer = idp
        .opaque_token()
        .claim("scope", json!("orders:read orders:write"))
        .issue();
    send_token(&app, &writer).await.assert_ok("user-1");
    let reader = idp
        .opaque_token()
        .claim("scope", json!("orders:read"))
        .issue();
    send_token(&app, &reader).await.assert_refused(
        StatusCode::FORBIDDEN,
        r#"{"detail":"insufficient scope"}"#,
        Some(
            r#"Bearer scope="orders:write", error="insufficient_scope", error_description="insufficient scope""#,
        ),
    );
    assert_eq!(idp.introspection_calls(), 2);
}

#[tokio::test]
async fn configuration_mistakes_name_the_fix() {
    let idp = MockIdp::start().await;
    let no_endpoint = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .introspection(
            Introspection::builder()
                .client_auth(ClientAuth::client_secret_basic("a", "b"))
                .build()
                .expect("config"),
        )
        .build()
        .expect_err("no endpoint");
    assert!(
        no_endpoint.to_string().contains(".endpoint(..)"),
        "{no_endpoint}"
    );
    let plain_http = builder(&idp)
        .introspection(
            Introspection::builder()
                .endpoint("http://idp.example/introspect")
                .client_auth(ClientAuth::client_secret_basic("a", "b"))
                .build()
                .expect("config"),
        )
        .build()
        .expect_err("plain http");
    assert!(
        plain_http.to_string().contains("plain http"),
        "{plain_http}"
    );
    // Credentials in the endpoint URL: refused at build, without echoing the password.
    let userinfo = builder(&idp)
        .introspection(
            Introspection::builder()
                .endpoint("https://client:hunter2@idp.example/introspect")
                .client_auth(ClientAuth::client_secret_basic("a", "b"))
                .build()
                .expect("config"),
        )
        .build()
        .expect_err("user information");
    let text = userinfo.to_string();
    assert!(
        text.contains("user information") && text.contains("client_auth"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    let tenant = builder(&idp)
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    let err = JwksVerifier::multi_issuer([tenant]).expect_err("no route for opaque tokens");
    assert!(err.to_string().contains("introspection"), "{err}");
}

/// A P-256 key pair of the introspecting client (`private_key_jwt`), generated for this test.
const CLIENT_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc1dxyetPCiNYlu1l
zj+K215l1L9mw0VJGJzRBMcjwKuhRANCAAQb1h+cfNH6Re/Nwqzu+AYhRQiFrdDc
zNAVo9mmO8GzrafKhmewuQpPpQVQZsy3oGXN7Nd5vpXdYE5znnwUV+bc
-----END PRIVATE KEY-----
";
const CLIENT_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG9YfnHzR+kXvzcKs7vgGIUUIha3Q
3MzQFaPZpjvBs62nyoZnsLkKT6UFUGbMt6BlzezXeb6V3WBOc558FFfm3A==
-----END PUBLIC KEY-----
";

#[tokio::test]
async fn private_key_jwt_signs_a_fresh_assertion_per_call() {
    let idp = MockIdp::start().await;
    idp.set_introspection_client_key("orders-api", Algorithm::ES256, CLIENT_PUBLIC_KEY);
    let assertion = ClientAssertion::new("orders-api", Algorithm::ES256, CLIENT_KEY.as_bytes())
        .expect("key")
        .kid("client-key-1");
    let config = Introspection::builder()
        .endpoint(idp.introspection_url())
        .client_auth(ClientAuth::PrivateKeyJwt(assertion.clone()));
    let app = app_for(&idp, config, &ManualClock::now());
    // Two calls: the mock refuses a replayed `jti`, so each assertion must be new.
    for _ in 0..2 {
        let token = idp.opaque_token().issue();
        send_token(&app, &token).await.assert_ok("user-1");
    }
    assert_eq!(idp.introspection_calls(), 2);
    // An assertion for another audience is refused by the server: 503 for the client.
    let elsewhere = Introspection::builder()
        .endpoint(idp.introspection_url())
        .client_auth(ClientAuth::PrivateKeyJwt(
            assertion.audience("https://other-server.example"),
        ));
    let app = app_for(&idp, elsewhere, &ManualClock::now());
    assert_unavailable(&send_token(&app, &idp.opaque_token().issue()).await);
}

#[tokio::test]
async fn signed_answers_are_verified_with_the_issuers_keys() {
    let idp = MockIdp::start().await;
    let app = app_for(
        &idp,
        introspection(&idp).jwt_response(true),
        &ManualClock::now(),
    );
    let token = idp.opaque_token().claim("sub", json!("carol")).issue();
    send_token(&app, &token).await.assert_ok("carol");
    assert_eq!(idp.jwks_fetches(), 1, "the key set verified the answer");
    idp.revoke(&token);
    let reply = send_token(&app, "unknown").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(INACTIVE));
    // A key rotated at the server: the answer names a new kid, the key set is fetched again.
    idp.rotate(Algorithm::RS256);
    send_token(&app, &idp.opaque_token().issue())
        .await
        .assert_ok("user-1");
    assert_eq!(idp.jwks_fetches(), 2);
    // An unsigned answer where a signed one was asked for: refused (503).
    idp.set_introspection_fault(Fault::Garbage);
    assert_unavailable(&send_token(&app, &idp.opaque_token().issue()).await);
    assert_eq!(idp.introspection_calls(), 4);
}

#[tokio::test]
async fn signed_answers_from_another_issuer_or_for_another_client_are_refused() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    // The answer's `iss` is the mock's; this verifier expects another issuer.
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer("https://elsewhere.example")
        .audience(idp.audience())
        .introspection(
            introspection(&idp)
                .jwt_response(true)
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    let token = idp
        .opaque_token()
        .claim("iss", json!("https://elsewhere.example"))
        .issue();
    let err = verifier
        .verify(&token)
        .await
        .expect_err("iss of the answer");
    assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
    // The answer's `aud` is not this client's id: refused, and not cached.
    let app = app_for(&idp, introspection(&idp).jwt_response(true), &clock);
    let token = idp.opaque_token().issue();
    idp.set_introspection_jwt_audience(Some("another-client"));
    assert_unavailable(&send_token(&app, &token).await);
    idp.set_introspection_jwt_audience(None);
    send_token(&app, &token).await.assert_ok("user-1");
    assert_eq!(idp.introspection_calls(), 3);
    // Without a key source there are no keys to verify signed answers with.
    let keyless = JwksVerifier::builder()
        .issuer(idp.issuer())
        .audience(idp.audience())
        .introspection(
            introspection(&idp)
                .jwt_response(true)
                .build()
                .expect("config"),
        )
        .build()
        .expect_err("jwt_response without keys");
    assert!(keyless.to_string().contains("key source"), "{keyless}");
}

#[tokio::test]
async fn a_request_that_goes_away_does_not_cancel_the_call_others_wait_for() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .introspection(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    let token = idp.opaque_token().issue();
    // Polled exactly once (the call starts, as its own task, which cannot have run yet on
    // this single-threaded runtime), then dropped.
    let mut first = Box::pin(verifier.verify(&token));
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(first.as_mut().poll(cx))).await;
    assert!(polled.is_pending(), "dropped before the answer");
    drop(first);
    // The next request joins that call (or finds its cached answer): still one call.
    assert_eq!(
        verifier.verify(&token).await.expect("active").sub(),
        Some("user-1")
    );
    assert_eq!(idp.introspection_calls(), 1);
}
