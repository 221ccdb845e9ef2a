//! gRPC: a real tonic server behind `JwksAuthLayer::grpc_server()` and a real tonic client
//! (examples/grpc.rs), and gRPC-shaped refusals chosen by content type on an axum router.

mod common;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/grpc.rs"]
mod example;

use std::time::Duration;

use axum::body::Body;
use common::{app, builder, get_with, send};
use http::{Request, StatusCode};
use jwks_auth::testing::{Fault, MockIdp};
use jwks_auth::{AuthError, AuthErrorKind, GrpcMode, JwksAuthLayer, JwksVerifier};
use tonic::{Code, Status};

/// A tonic greeter behind the layer, with the verifier `builder` gives.
async fn greeter(verifier: JwksVerifier) -> std::net::SocketAddr {
    example::spawn(JwksAuthLayer::new(verifier).grpc_server())
        .await
        .expect("bind")
}

fn www_authenticate(status: &Status) -> Option<&str> {
    status
        .metadata()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_which_reads_the_user() {
    let idp = MockIdp::start().await;
    let addr = greeter(builder(&idp).build().expect("config")).await;
    let token = idp.token().subject("alice").sign();
    let reply = example::call(addr, Some(&token), "tonic")
        .await
        .expect("served");
    assert_eq!(reply, "hello tonic, you are alice");
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn no_token_and_bad_tokens_are_unauthenticated_with_the_challenge() {
    let idp = MockIdp::start().await;
    let addr = greeter(builder(&idp).build().expect("config")).await;

    let status = example::call(addr, None, "x").await.expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "missing bearer token");
    assert_eq!(www_authenticate(&status), Some("Bearer"));

    // A well-formed token signed by a key the IdP never published.
    let forged = jwks_auth::testing::foreign_token(
        jwks_auth::Algorithm::RS256,
        &idp.kid(jwks_auth::Algorithm::RS256),
        serde_json::json!({
            "iss": idp.issuer(), "aud": idp.audience(), "sub": "mallory",
            "exp": 4_000_000_000_u64,
        }),
    );
    let status = example::call(addr, Some(&forged), "x")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "invalid signature");
    let challenge = www_authenticate(&status).expect("challenge");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    // The token is never echoed, in the message or the metadata.
    let signature = forged.rsplit('.').next().expect("segments");
    assert!(!format!("{:?}", status.metadata()).contains(signature));
    assert!(!status.message().contains(signature));

    let expired = idp.token().expires_in(-3600).sign();
    let status = example::call(addr, Some(&expired), "x")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "token expired");
}

#[tokio::test]
async fn a_failed_requirement_is_permission_denied() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .require_scope("greet")
        .build()
        .expect("config");
    let addr = greeter(verifier).await;

    let token = idp.token().claim("scope", "read".into()).sign();
    let status = example::call(addr, Some(&token), "x")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(status.message(), "insufficient scope");
    let challenge = www_authenticate(&status).expect("challenge");
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );

    let token = idp
        .token()
        .subject("bob")
        .claim("scope", "read greet".into())
        .sign();
    let reply = example::call(addr, Some(&token), "x")
        .await
        .expect("served");
    assert_eq!(reply, "hello x, you are bob");
}

#[tokio::test]
async fn an_unreachable_idp_is_unavailable() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Status(500));
    let verifier = builder(&idp)
        .failure_backoff(Duration::from_secs(5))
        .build()
        .expect("config");
    let addr = greeter(verifier).await;
    let token = idp.token().sign();
    let status = example::call(addr, Some(&token), "x")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), "signing keys unavailable");
    assert_eq!(
        status
            .metadata()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert_eq!(www_authenticate(&status), None);
    assert_eq!(idp.jwks_fetches(), 1);

    // A stopped IdP, too: no key set was ever obtained.
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    idp.shutdown();
    let addr = greeter(verifier).await;
    let status = example::call(addr, Some(&idp.token().sign()), "x")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

fn grpc_get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut all = vec![("content-type", "application/grpc")];
    all.extend_from_slice(headers);
    get_with(path, &all)
}

#[tokio::test]
async fn an_axum_router_answers_grpc_requests_with_grpc_statuses() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let router = app(JwksAuthLayer::new(verifier.clone()));

    let reply = send(&router, grpc_get("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["grpc-status"], "16");
    assert_eq!(reply.headers["grpc-message"], "missing bearer token");
    assert_eq!(reply.headers["content-type"], "application/grpc");
    assert_eq!(reply.challenge(), Some("Bearer"));
    assert_eq!(reply.body, "");

    let reply = send(
        &router,
        grpc_get("/me", &[("authorization", "Bearer a.b.c")]),
    )
    .await;
    assert_eq!(reply.headers["grpc-status"], "16");
    assert!(
        reply
            .challenge()
            .is_some_and(|c| c.contains("invalid_token"))
    );

    // Plain HTTP requests keep the HTTP answer.
    let reply = send(&router, get_with("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.headers.get("grpc-status").is_none());

    // Forced either way.
    let never = app(JwksAuthLayer::new(verifier.clone()).grpc_mode(GrpcMode::Never));
    let reply = send(&never, grpc_get("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, r#"{"detail":"missing bearer token"}"#);
    let always = app(JwksAuthLayer::new(verifier).grpc_mode(GrpcMode::Always));
    let reply = send(&always, get_with("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["grpc-status"], "16");
    assert_eq!(
        idp.jwks_fetches(),
        0,
        "no token was good enough to need keys"
    );
}

#[tokio::test]
async fn grpc_refusals_carry_the_error_and_the_handlers_headers() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let layer = JwksAuthLayer::new(verifier).rejection(|e: &AuthError| {
        http::Response::builder()
            .status(e.status())
            .header("x-refusal", e.reason().code())
            .body(bytes::Bytes::from_static(b"no"))
            .expect("response")
    });
    let response = tower::ServiceExt::oneshot(app(layer), grpc_get("/me", &[]))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(response.headers()["x-refusal"], "missing_token");
    let error = response.extensions().get::<AuthError>().expect("error");
    assert_eq!(error.kind(), AuthErrorKind::MissingToken);
}
