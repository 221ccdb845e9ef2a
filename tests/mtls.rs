//! Certificate-bound tokens (RFC 8705) through the layer, and protected-resource metadata
//! (RFC 9728): the document, its router, and `resource_metadata` in challenges.
//!
//! The TLS server's part (inserting the [`ClientCertificate`]) is done here by inserting the
//! extension directly; the layer only compares thumbprints.

mod common;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use jwks_auth::sender::{ClientCertificate, Dpop, HtuOrigin, ProtectedResourceMetadata};
use jwks_auth::testing::{DpopProver, MockIdp};
use jwks_auth::{AuthError, AuthReason, JwksAuthLayer, User};
use tower::ServiceExt;

/// Stand-ins for two client certificates' DER encodings.
const CERT_A: &[u8] = b"0\x82\x01\x0a certificate A";
const CERT_B: &[u8] = b"0\x82\x01\x0a certificate B";

async fn app(idp: &MockIdp, layer: impl FnOnce(JwksAuthLayer) -> JwksAuthLayer) -> Router {
    let verifier = common::builder(idp).build().expect("config");
    Router::new()
        .route(
            "/orders",
            get(|user: User| async move { user.sub().unwrap_or("").to_owned() }),
        )
        .layer(layer(JwksAuthLayer::new(verifier)))
}

async fn call(
    app: &Router,
    token: &str,
    certificate: Option<&[u8]>,
) -> (StatusCode, Vec<String>, Option<AuthReason>) {
    let mut request = Request::get("/orders")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    if let Some(der) = certificate {
        request
            .extensions_mut()
            .insert(ClientCertificate::new(der.to_vec()));
    }
    let response = app.clone().oneshot(request).await.expect("infallible");
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let reason = response
        .extensions()
        .get::<AuthError>()
        .map(AuthError::reason);
    (response.status(), challenges, reason)
}

fn invalid(reason: AuthReason) -> Vec<String> {
    vec![format!(
        r#"Bearer error="invalid_token", error_description="{}""#,
        reason.description()
    )]
}

#[tokio::test]
async fn certificate_bound_token_needs_its_certificate() {
    let idp = MockIdp::start().await;
    let app = app(&idp, |layer| layer).await;
    let token = idp.token().subject("svc").certificate_bound(CERT_A).sign();
    assert_eq!(
        call(&app, &token, Some(CERT_A)).await,
        (StatusCode::OK, vec![], None)
    );
    let missing = AuthReason::ClientCertificateMissing;
    assert_eq!(
        call(&app, &token, None).await,
        (StatusCode::UNAUTHORIZED, invalid(missing), Some(missing))
    );
    let mismatch = AuthReason::ClientCertificateMismatch;
    assert_eq!(
        call(&app, &token, Some(CERT_B)).await,
        (StatusCode::UNAUTHORIZED, invalid(mismatch), Some(mismatch))
    );
    // An unbound token does not need a certificate, and ignores one.
    let plain = idp.token().sign();
    assert_eq!(call(&app, &plain, None).await.0, StatusCode::OK);
    assert_eq!(call(&app, &plain, Some(CERT_B)).await.0, StatusCode::OK);
}

/// `x5t#S256` is compared as RFC 8705 writes it, base64url without padding: a padded, standard
/// base64, truncated, case-changed or empty thumbprint of the right certificate is another
/// thumbprint.
#[tokio::test]
async fn a_thumbprint_written_another_way_is_a_mismatch() {
    let idp = MockIdp::start().await;
    let app = app(&idp, |layer| layer).await;
    let right = ClientCertificate::new(CERT_A.to_vec()).thumbprint_sha256();
    let standard = right.replace('-', "+").replace('_', "/");
    let mismatch = AuthReason::ClientCertificateMismatch;
    for x5t in [
        format!("{right}="),
        format!("{standard}="),
        right[..right.len() - 1].to_owned(),
        right.to_ascii_uppercase(),
        String::new(),
    ] {
        let token = idp
            .token()
            .claim("cnf", serde_json::json!({ "x5t#S256": x5t }))
            .sign();
        assert_eq!(
            call(&app, &token, Some(CERT_A)).await,
            (StatusCode::UNAUTHORIZED, invalid(mismatch), Some(mismatch)),
            "{x5t}"
        );
    }
}

#[tokio::test]
async fn malformed_cnf_is_refused() {
    let idp = MockIdp::start().await;
    let app = app(&idp, |layer| layer).await;
    let malformed = AuthReason::MalformedConfirmation;
    for cnf in [
        serde_json::json!("jkt"),
        // A `cnf` that is there but null is not "no cnf".
        serde_json::json!(null),
        serde_json::json!({"x5t#S256": 7}),
        serde_json::json!({"jkt": ["a"]}),
    ] {
        let token = idp.token().claim("cnf", cnf).sign();
        assert_eq!(
            call(&app, &token, Some(CERT_A)).await,
            (
                StatusCode::UNAUTHORIZED,
                invalid(malformed),
                Some(malformed)
            )
        );
    }
}

#[tokio::test]
async fn a_token_bound_by_a_method_the_layer_cannot_check_is_refused() {
    let idp = MockIdp::start().await;
    let app = app(&idp, |layer| layer).await;
    let unsupported = AuthReason::UnsupportedConfirmation;
    for cnf in [
        // RFC 7800 section 3.2, 3.3, 3.4; the SHA-1 certificate thumbprint; a future method.
        serde_json::json!({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}),
        serde_json::json!({"jwe": "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"}),
        serde_json::json!({"kid": "client-key-1"}),
        serde_json::json!({"x5t": "c2hhMQ"}),
        serde_json::json!({"future#method": "x"}),
    ] {
        let token = idp.token().claim("cnf", cnf.clone()).sign();
        assert_eq!(
            call(&app, &token, Some(CERT_A)).await,
            (
                StatusCode::UNAUTHORIZED,
                invalid(unsupported),
                Some(unsupported)
            ),
            "{cnf}"
        );
    }
    // An empty `cnf` binds nothing: the token is a bearer token.
    let token = idp.token().claim("cnf", serde_json::json!({})).sign();
    assert_eq!(call(&app, &token, None).await.0, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 1, "one key-set fetch for all of them");
}

#[tokio::test]
async fn a_token_bound_to_both_needs_both() {
    let idp = MockIdp::start().await;
    let dpop = Dpop::allowed(HtuOrigin::fixed("https://api.example.com"))
        .build()
        .expect("config");
    let app = app(&idp, |layer| layer.dpop(dpop)).await;
    let client = DpopProver::es256();
    let token = idp
        .token()
        .dpop_bound(&client)
        .certificate_bound(CERT_A)
        .sign();
    let request = |certificate: Option<&[u8]>| {
        let proof = client.proof("GET", "https://api.example.com/orders", &token);
        let mut request = Request::get("/orders")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .body(Body::empty())
            .expect("request");
        if let Some(der) = certificate {
            request
                .extensions_mut()
                .insert(ClientCertificate::new(der.to_vec()));
        }
        request
    };
    let ok = app
        .clone()
        .oneshot(request(Some(CERT_A)))
        .await
        .expect("call");
    assert_eq!(ok.status(), StatusCode::OK);
    let refused = app.clone().oneshot(request(None)).await.expect("call");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused
            .extensions()
            .get::<AuthError>()
            .map(AuthError::reason),
        Some(AuthReason::ClientCertificateMissing)
    );
}

#[tokio::test]
async fn metadata_is_served_and_named_in_challenges() {
    let idp = MockIdp::start().await;
    let dpop = Dpop::required(HtuOrigin::fixed("https://api.example.com"))
        .build()
        .expect("config");
    let metadata = ProtectedResourceMetadata::builder("https://api.example.com")
        .authorization_server(idp.issuer())
        .scopes_supported(["orders:read"])
        .dpop(&dpop)
        .tls_client_certificate_bound_access_tokens(true)
        .resource_documentation("https://api.example.com/docs")
        .build()
        .expect("metadata");
    let url = metadata.well_known_url();
    assert_eq!(
        url,
        "https://api.example.com/.well-known/oauth-protected-resource"
    );
    let layered = app(&idp, |layer| {
        layer.dpop(dpop).resource_metadata(url.clone())
    })
    .await;
    let app = layered.merge(metadata.router());

    let response = app
        .clone()
        .oneshot(
            Request::get("/.well-known/oauth-protected-resource")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("call");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        json,
        serde_json::json!({
            "resource": "https://api.example.com",
            "authorization_servers": [idp.issuer()],
            "scopes_supported": ["orders:read"],
            "bearer_methods_supported": ["header"],
            "resource_documentation": "https://api.example.com/docs",
            "tls_client_certificate_bound_access_tokens": true,
            "dpop_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"],
            "dpop_bound_access_tokens_required": true,
        })
    );

    let response = app
        .oneshot(
            Request::get("/orders")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("call");
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(r#"DPoP algs="RS256 PS256 ES256 ES384 ES512 EdDSA", resource_metadata="{url}""#)
            .as_str()
    );
}

#[tokio::test]
async fn resource_metadata_without_dpop_goes_on_the_bearer_challenge() {
    let idp = MockIdp::start().await;
    let url = "https://api.example.com/.well-known/oauth-protected-resource";
    let app = app(&idp, |layer| layer.resource_metadata(url)).await;
    let expired = idp.token().expires_in(-600).sign();
    let (status, challenges, _) = call(&app, &expired, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges,
        [format!(
            r#"Bearer error="invalid_token", error_description="token expired", resource_metadata="{url}""#
        )]
    );
    let response = app
        .oneshot(
            Request::get("/orders")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("call");
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(r#"Bearer resource_metadata="{url}""#).as_str()
    );
}
