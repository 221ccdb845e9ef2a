//! Opaque access tokens through OAuth 2.0 token introspection (RFC 7662), against the
//! embedded mock IdP (no network): one layer accepts JWTs (verified locally) and opaque tokens
//! (asked at the introspection endpoint), caches the answers, and sees a revocation once the
//! cached answer expires.
//!
//! ```text
//! cargo run --example introspection
//! ```

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use http_body_util::BodyExt;
use jwks_auth::introspection::{ClientAuth, Introspection};
use jwks_auth::testing::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, MockIdp};
use jwks_auth::{Algorithm, JwksAuthLayer, JwksVerifier, ManualClock, User};
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("jwks_auth=info")
        .init();
    let idp = MockIdp::start().await;
    // A manual clock, to show the cache lifetime without waiting for it.
    let clock = ManualClock::now();
    let verifier = JwksVerifier::builder()
        .oidc_issuer(idp.issuer()) // keys, and the `introspection_endpoint`, by discovery
        .audience(idp.audience())
        .clock(clock.clone())
        .introspection(
            Introspection::builder()
                .client_auth(ClientAuth::client_secret_basic(
                    INTROSPECTION_CLIENT_ID,
                    INTROSPECTION_CLIENT_SECRET,
                ))
                .cache_ttl(Duration::from_secs(30))
                .build()?,
        )
        .build()?;
    let app = Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                format!(
                    "sub={} scope={}",
                    user.sub().unwrap_or("-"),
                    user.str_claim("scope").unwrap_or("-")
                )
            }),
        )
        .layer(JwksAuthLayer::new(verifier));

    let opaque = idp
        .opaque_token()
        .claim("sub", "alice".into())
        .claim("scope", "orders:read orders:write".into())
        .issue();
    let jwt = idp.token().alg(Algorithm::ES256).subject("bob").sign();

    println!("opaque token:   {}", call(&app, &opaque).await?);
    println!("again (cached): {}", call(&app, &opaque).await?);
    println!("a JWT:          {}", call(&app, &jwt).await?);
    println!("introspection calls so far: {}", idp.introspection_calls());

    idp.revoke(&opaque);
    println!("revoked, still cached: {}", call(&app, &opaque).await?);
    clock.advance(Duration::from_secs(31));
    println!("31 s later:            {}", call(&app, &opaque).await?);
    println!("introspection calls: {}", idp.introspection_calls());
    Ok(())
}

/// `GET /me` with the token: the status and body.
async fn call(app: &Router, token: &str) -> Result<String, Box<dyn std::error::Error>> {
    let request = Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(format!("{status} {}", String::from_utf8_lossy(&body)))
}
