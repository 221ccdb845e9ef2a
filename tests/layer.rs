//! The layer end to end against the mock IdP: token sources, every algorithm, responses,
//! optional mode, dev bypass, extractors.

mod common;

use common::{app, bearer, builder, get_with, send, send_token};
use http::StatusCode;
use jwks_auth::testing::{ALGORITHMS, MockIdp};
use jwks_auth::{Claims, DevBypass, JwksAuthLayer, TokenSource, User};
use serde_json::json;

#[tokio::test]
async fn every_algorithm_via_every_token_source() {
    let idp = MockIdp::start().await;
    let mut sources = TokenSource::defaults();
    sources.push(TokenSource::cf_authorization_cookie());
    let app =
        app(JwksAuthLayer::new(builder(&idp).build().expect("config")).token_sources(sources));
    for alg in ALGORITHMS {
        let token = idp.token().alg(alg).subject("alice").sign();
        let via_bearer = send(&app, bearer(&token)).await;
        let via_header = send(
            &app,
            get_with("/me", &[("cf-access-jwt-assertion", &token)]),
        )
        .await;
        let via_cookie = send(
            &app,
            get_with(
                "/me",
                &[("cookie", &format!("x=1; CF_Authorization={token}"))],
            ),
        )
        .await;
        for (source, reply) in [
            ("bearer", via_bearer),
            ("header", via_header),
            ("cookie", via_cookie),
        ] {
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{alg:?} via {source}: {}",
                reply.body
            );
            assert_eq!(reply.body, "alice", "{alg:?} via {source}");
        }
    }
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "one fetch serves every algorithm and source"
    );
}

#[tokio::test]
async fn missing_token_is_401_with_bare_challenge() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    let reply = send(&app, get_with("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some("Bearer"));
    assert_eq!(reply.body, r#"{"detail":"missing bearer token"}"#);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(idp.jwks_fetches(), 0, "no token, no fetch");
}

#[tokio::test]
async fn token_in_query_string_is_ignored() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    let token = idp.mint(jwks_auth::Algorithm::RS256);
    let reply = send(&app, get_with(&format!("/me?access_token={token}"), &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some("Bearer"));
}

#[tokio::test]
async fn bad_token_is_401_invalid_token_and_never_echoed() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    let token = idp.token().expires_in(-3600).sign();
    let reply = send_token(&app, &token).await;
    reply.assert_invalid();
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer error="invalid_token", error_description="token expired""#)
    );
    assert_eq!(reply.body, r#"{"detail":"token expired"}"#);
    assert!(!reply.body.contains(&token[..20]));
}

#[tokio::test]
async fn header_beats_cookie_and_bearer_beats_header() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    let bearer_token = idp.token().subject("from-bearer").sign();
    let header_token = idp.token().subject("from-header").sign();
    let cookie_token = idp.token().subject("from-cookie").sign();
    let cookie = format!("CF_Authorization={cookie_token}");
    let all = send(
        &app,
        get_with(
            "/me",
            &[
                ("authorization", &format!("Bearer {bearer_token}")),
                ("cf-access-jwt-assertion", &header_token),
                ("cookie", &cookie),
            ],
        ),
    )
    .await;
    assert_eq!(all.body, "from-bearer");
    let no_bearer = send(
        &app,
        get_with(
            "/me",
            &[
                ("cf-access-jwt-assertion", &header_token),
                ("cookie", &cookie),
            ],
        ),
    )
    .await;
    assert_eq!(no_bearer.body, "from-header");
    // The first source holding a token decides: a bad header token is not rescued by a good
    // cookie.
    let bad_header = send(
        &app,
        get_with(
            "/me",
            &[("cf-access-jwt-assertion", "x.y.z"), ("cookie", &cookie)],
        ),
    )
    .await;
    bad_header.assert_invalid();
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    let token = idp.mint(jwks_auth::Algorithm::RS256);
    let auth = format!("Bearer {token}");
    let reply = send(
        &app,
        get_with("/me", &[("authorization", &auth), ("authorization", &auth)]),
    )
    .await;
    reply.assert_invalid();
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn optional_layer_lets_anonymous_through_but_refuses_bad_tokens() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")).optional());
    let anonymous = send(&app, get_with("/maybe", &[])).await;
    assert_eq!(
        (anonymous.status, anonymous.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
    let token = idp.token().subject("bob").sign();
    let known = send(
        &app,
        get_with("/maybe", &[("authorization", &format!("Bearer {token}"))]),
    )
    .await;
    assert_eq!((known.status, known.body.as_str()), (StatusCode::OK, "bob"));
    let bad = send(
        &app,
        get_with("/maybe", &[("authorization", "Bearer a.b.c")]),
    )
    .await;
    bad.assert_invalid();
    // A handler that requires a user answers 401 for an anonymous request.
    let required = send(&app, get_with("/me", &[])).await;
    assert_eq!(required.status, StatusCode::UNAUTHORIZED);
    assert_eq!(required.challenge(), Some("Bearer"));
}

#[tokio::test]
async fn dev_user_bypass_is_marked() {
    let idp = MockIdp::start().await;
    let layer = JwksAuthLayer::new(builder(&idp).build().expect("config")).dev_user(
        User::from_claims(json!({"sub": "dev", "email": "dev@localhost"})),
    );
    let app = axum::Router::new()
        .route(
            "/me",
            axum::routing::get(|user: User, req: axum::extract::Request| async move {
                format!(
                    "{} {} {}",
                    user.sub().unwrap_or(""),
                    user.is_dev_bypass(),
                    req.extensions().get::<DevBypass>().is_some()
                )
            }),
        )
        .layer(layer);
    let reply = send(&app, get_with("/me", &[])).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "dev true true")
    );
    assert_eq!(idp.jwks_fetches(), 0, "the bypass never fetches keys");
}

#[tokio::test]
async fn typed_claims_extractor_and_missing_layer_message() {
    #[derive(serde::Deserialize)]
    struct MyClaims {
        sub: String,
        email: String,
    }
    let idp = MockIdp::start().await;
    let protected = axum::Router::new()
        .route(
            "/me",
            axum::routing::get(|Claims(c): Claims<MyClaims>| async move {
                format!("{} {}", c.sub, c.email)
            }),
        )
        .layer(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    let token = idp
        .token()
        .subject("carol")
        .claim("email", json!("c@example.test"))
        .sign();
    let reply = send_token(&protected, &token).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "carol c@example.test")
    );

    // Claims that do not fit the type: 401 invalid_token, not 500.
    let no_email = idp.token().remove_claim("email").sign();
    send_token(&protected, &no_email).await.assert_invalid();

    // Forgot the layer: 500 naming the fix.
    let unprotected = axum::Router::new().route("/me", axum::routing::get(|_: User| async { "" }));
    let reply = send(&unprotected, get_with("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reply.body.contains("is `JwksAuthLayer` installed"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn custom_rejection_and_hidden_details() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let custom = app(
        JwksAuthLayer::new(verifier.clone()).rejection(|e: &jwks_auth::AuthError| {
            http::Response::builder()
                .status(e.status())
                .body(bytes::Bytes::from(format!("nope: {:?}", e.kind())))
                .expect("response")
        }),
    );
    let reply = send(&custom, get_with("/me", &[])).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::UNAUTHORIZED, "nope: MissingToken")
    );

    let hidden = app(JwksAuthLayer::new(verifier).rejection(
        jwks_auth::DefaultRejection::new()
            .hide_details()
            .realm("api"),
    ));
    let reply = send_token(&hidden, &idp.token().expires_in(-100).sign()).await;
    reply.assert_invalid();
    assert_eq!(reply.body, r#"{"detail":"unauthorized"}"#);
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer realm="api", error="invalid_token", error_description="unauthorized""#)
    );
}

#[tokio::test]
async fn rejection_carries_the_error_in_extensions() {
    use tower::ServiceExt;
    let idp = MockIdp::start().await;
    let svc = tower::ServiceBuilder::new()
        .layer(JwksAuthLayer::new(builder(&idp).build().expect("config")))
        .service_fn(|_req: http::Request<axum::body::Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::empty()))
        });
    let response = svc.oneshot(get_with("/", &[])).await.expect("infallible");
    let error = response
        .extensions()
        .get::<jwks_auth::AuthError>()
        .expect("error attached");
    assert_eq!(error.kind(), jwks_auth::AuthErrorKind::MissingToken);
}

/// Extractor refusals answer through the layer's rejection handler, with the error attached,
/// so one format covers every refusal.
#[tokio::test]
async fn extractor_refusals_use_the_layers_rejection_handler() {
    use tower::ServiceExt;
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct NeedsTenant {
        tenant: String,
    }
    let idp = MockIdp::start().await;
    let layer = JwksAuthLayer::new(builder(&idp).build().expect("config"))
        .optional()
        .rejection(|e: &jwks_auth::AuthError| {
            http::Response::builder()
                .status(e.status())
                .header("www-authenticate", "Bearer")
                .body(bytes::Bytes::from(format!("custom: {}", e.reason().code())))
                .expect("response")
        });
    let app = axum::Router::new()
        .route(
            "/me",
            axum::routing::get(|user: User| async move { user.sub().unwrap_or("").to_owned() }),
        )
        .route(
            "/tenant",
            axum::routing::get(|Claims(c): Claims<NeedsTenant>| async move { c.tenant }),
        )
        .layer(layer);

    // Anonymous request (optional layer) reaching a handler that needs a User.
    let response = app
        .clone()
        .oneshot(get_with("/me", &[]))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let error = response
        .extensions()
        .get::<jwks_auth::AuthError>()
        .expect("error attached")
        .reason();
    assert_eq!(error, jwks_auth::AuthReason::MissingToken);
    let reply = send(&app, get_with("/me", &[])).await;
    assert_eq!(reply.body, "custom: missing_token");

    // A verified token whose claims do not fit the handler's type.
    let token = idp.token().subject("alice").sign();
    let reply = send(
        &app,
        get_with("/tenant", &[("authorization", &format!("Bearer {token}"))]),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::UNAUTHORIZED, "custom: claims_mismatch")
    );
    assert_eq!(idp.jwks_fetches(), 1);
}

/// Without a custom handler, extractor refusals use the default one: RFC 6750 challenge and
/// a `{"detail": ...}` body.
#[tokio::test]
async fn extractor_refusals_default_to_the_rfc_6750_format() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")).optional());
    let reply = send(&app, get_with("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some("Bearer"));
    assert_eq!(reply.body, r#"{"detail":"missing bearer token"}"#);
    assert_eq!(idp.jwks_fetches(), 0);
}
