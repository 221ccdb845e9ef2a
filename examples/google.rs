//! Protect an API with Google ID tokens ("Sign in with Google").
//!
//! By default it runs offline against the embedded mock (which plays Google's certs and mints
//! ID tokens with either issuer spelling), sends a few requests and exits:
//!
//! ```text
//! cargo run --example google
//! ```
//!
//! With your OAuth client id it protects `http://$BIND/me` (default `127.0.0.1:8080`) until
//! stopped (`GOOGLE_HOSTED_DOMAINS=example.com` to accept only a Workspace domain):
//!
//! ```text
//! GOOGLE_CLIENT_ID=1234567890-abc.apps.googleusercontent.com cargo run --example google
//! ```

use axum::Router;
use axum::routing::get;
use jwks_auth::User;
use jwks_auth::providers::Google;
use jwks_auth::testing::MockIdp;

fn app(google: &Google) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                format!(
                    "{} <{}> (hd {})",
                    user.sub().unwrap_or("?"),
                    user.email().unwrap_or("?"),
                    user.str_claim("hd").unwrap_or("none"),
                )
            }),
        )
        .layer(google.layer())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("jwks_auth=info")
        .init();
    let Ok(client) = std::env::var("GOOGLE_CLIENT_ID") else {
        return against_the_mock().await;
    };
    let mut builder = Google::builder(client);
    if let Ok(domains) = std::env::var("GOOGLE_HOSTED_DOMAINS") {
        builder = builder.hosted_domains(domains.split(',').map(str::to_owned).collect::<Vec<_>>());
    }
    let google = builder.build()?;
    google.verifier().refresh().await?;
    serve(app(&google), google.jwks_url()).await
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
    let client = "1234567890-abc.apps.googleusercontent.com";
    let idp = MockIdp::start().await;
    // The mock stands for https://www.googleapis.com; the issuers stay Google's.
    let google = Google::builder(client)
        .hosted_domains(["example.com"])
        .base_url(idp.google_url())
        .build()?;
    let workspace = || {
        idp.google_id_token(client)
            .claim("hd", "example.com".into())
    };
    let cases = [
        ("iss https://accounts.google.com", Some(workspace().sign())),
        (
            "iss accounts.google.com",
            Some(
                workspace()
                    .claim("iss", "accounts.google.com".into())
                    .sign(),
            ),
        ),
        (
            "another OAuth client",
            Some(
                idp.google_id_token("999-other.apps.googleusercontent.com")
                    .claim("hd", "example.com".into())
                    .sign(),
            ),
        ),
        (
            "consumer account (no hd)",
            Some(idp.google_id_token(client).sign()),
        ),
        (
            "another Workspace domain",
            Some(workspace().claim("hd", "other.example".into()).sign()),
        ),
    ];
    try_cases(app(&google), &cases).await?;
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
