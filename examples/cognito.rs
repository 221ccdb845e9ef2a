//! Protect an API with an AWS Cognito user pool's access tokens.
//!
//! By default it runs offline against the embedded mock (which plays the pool's key set and
//! mints tokens in Cognito's exact shape), sends a few requests and exits:
//!
//! ```text
//! cargo run --example cognito
//! ```
//!
//! With your pool it protects `http://$BIND/me` (default `127.0.0.1:8080`) until stopped;
//! call it with `curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8080/me`:
//!
//! ```text
//! COGNITO_REGION=eu-west-1 COGNITO_USER_POOL_ID=eu-west-1_AbCdEf123 \
//! COGNITO_CLIENT_IDS=5ka7...,7zz9... cargo run --example cognito
//! ```

use axum::Router;
use axum::routing::get;
use jwks_auth::User;
use jwks_auth::providers::{Cognito, CognitoClaims};
use jwks_auth::testing::MockIdp;

fn app(cognito: &Cognito) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                format!(
                    "{} (groups {:?}, scope {:?})",
                    user.cognito_username().unwrap_or("?"),
                    user.cognito_groups(),
                    user.str_claim("scope").unwrap_or("")
                )
            }),
        )
        .layer(cognito.layer())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("jwks_auth=info")
        .init();
    let env = |name: &str| std::env::var(name).ok();
    match (
        env("COGNITO_REGION"),
        env("COGNITO_USER_POOL_ID"),
        env("COGNITO_CLIENT_IDS"),
    ) {
        (Some(region), Some(pool), Some(clients)) => {
            let cognito = Cognito::new(region, pool, clients.split(','))?;
            // Fetch the keys now: a wrong region or pool shows at startup, not on a request.
            cognito.verifier().refresh().await?;
            serve(app(&cognito), cognito.jwks_url()).await
        }
        _ => against_the_mock().await,
    }
}

async fn serve(app: Router, keys: &str) -> Result<(), Box<dyn std::error::Error>> {
    let bind = env_or("BIND", "127.0.0.1:8080");
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("serving http://{bind}/me (keys: {keys})");
    axum::serve(listener, app).await?;
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn against_the_mock() -> Result<(), Box<dyn std::error::Error>> {
    let (region, pool, client) = (
        "eu-west-1",
        "eu-west-1_AbCdEf123",
        "5ka7mock0client0id00000000",
    );
    let idp = MockIdp::start().await;
    // The mock stands for https://cognito-idp.eu-west-1.amazonaws.com; the issuer stays AWS's.
    let cognito = Cognito::builder(region, pool, [client])
        .base_url(idp.cognito_url())
        .build()?;
    let cases = [
        (
            "access token of the app client",
            Some(idp.cognito_access_token(region, pool, client).sign()),
        ),
        (
            "access token of another app client",
            Some(
                idp.cognito_access_token(region, pool, "7zz9other0client0id0000000")
                    .sign(),
            ),
        ),
        (
            "access token of another pool",
            Some(
                idp.cognito_access_token(region, "eu-west-1_Other999", client)
                    .sign(),
            ),
        ),
        (
            "ID token (token_use: id)",
            Some(idp.cognito_id_token(region, pool, client).sign()),
        ),
        ("no token", None),
    ];
    try_cases(app(&cognito), &cases).await?;
    println!("keys fetched {} time(s)", idp.provider_key_fetches());
    Ok(())
}

/// Serves `app` on a free port and prints what each request gets.
async fn try_cases(
    app: Router,
    cases: &[(&str, Option<String>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/me", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    for (what, token) in cases {
        let mut request = http.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(|c| format!("\n  WWW-Authenticate: {c}"))
            .unwrap_or_default();
        println!("{what}:\n  {status} {}{challenge}", response.text().await?);
    }
    Ok(())
}
