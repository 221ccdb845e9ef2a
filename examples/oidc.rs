//! An API protected by any OpenID Connect provider, found by discovery.
//!
//! ```text
//! cargo run --example oidc                                   # against the embedded mock IdP
//! cargo run --example oidc -- https://issuer.example my-api  # against a real provider
//! OIDC_ISSUER=https://issuer.example OIDC_AUDIENCE=my-api cargo run --example oidc
//! ```
//!
//! With a real issuer it serves on 127.0.0.1:3000 until stopped: call it with
//! `curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me`. With the mock it sends
//! a few requests itself and exits.

use axum::Router;
use axum::routing::get;
use jwks_auth::testing::MockIdp;
use jwks_auth::{JwksAuthLayer, JwksVerifier, User};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("jwks_auth=info")
        .init();
    let mut args = std::env::args().skip(1);
    let issuer = args.next().or_else(|| std::env::var("OIDC_ISSUER").ok());
    let audience = args.next().or_else(|| std::env::var("OIDC_AUDIENCE").ok());

    let Some(issuer) = issuer else {
        return run_against_mock().await;
    };
    let audience = audience.ok_or("give the audience too (second argument or OIDC_AUDIENCE)")?;
    let verifier = JwksVerifier::builder()
        .oidc_issuer(&issuer)
        .audience(audience)
        .build()?;
    // Fail fast on a wrong issuer or an unreachable provider.
    verifier.refresh().await?;
    println!("keys from {issuer}: {:?}", verifier.status().kids);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("serving http://127.0.0.1:3000/me");
    axum::serve(listener, app(verifier)).await?;
    Ok(())
}

fn app(verifier: JwksVerifier) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                serde_json::to_string_pretty(user.claims()).unwrap_or_default()
            }),
        )
        .layer(JwksAuthLayer::new(verifier))
}

async fn run_against_mock() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await;
    println!(
        "no issuer given: using the embedded mock IdP at {}",
        idp.issuer()
    );
    let verifier = JwksVerifier::builder()
        .oidc_issuer(idp.issuer())
        .audience(idp.audience())
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/me", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app(verifier)).await });

    let http = reqwest::Client::new();
    let token = idp.token().subject("alice").sign();
    let ok = http.get(&url).bearer_auth(&token).send().await?;
    println!("valid token   -> {}\n{}", ok.status(), ok.text().await?);
    let other_audience = idp.token().audience("someone-else".into()).sign();
    let refused = http.get(&url).bearer_auth(other_audience).send().await?;
    println!(
        "other audience -> {} {}",
        refused.status(),
        refused.text().await?
    );
    println!(
        "discovery fetched {} time(s), JWKS {} time(s)",
        idp.discovery_fetches(),
        idp.jwks_fetches()
    );
    Ok(())
}
