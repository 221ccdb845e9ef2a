//! Protect an API with a Keycloak realm's access tokens.
//!
//! By default it runs offline against the embedded mock (which plays a Keycloak server: the
//! realm's key set with its encryption key, tokens with `aud: "account"` and the client in
//! `azp`), sends a few requests and exits:
//!
//! ```text
//! cargo run --example keycloak
//! ```
//!
//! With your realm it protects `http://$BIND/me` (default `127.0.0.1:8080`) until stopped
//! (`KEYCLOAK_AUDIENCE=orders-api` to require an audience too, once a mapper adds it):
//!
//! ```text
//! KEYCLOAK_URL=https://sso.example.com KEYCLOAK_REALM=acme KEYCLOAK_CLIENT=orders-web \
//!   cargo run --example keycloak
//! ```

use axum::Router;
use axum::routing::get;
use jwks_auth::User;
use jwks_auth::providers::{Keycloak, KeycloakClaims};
use jwks_auth::testing::MockIdp;

fn app(keycloak: &Keycloak) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                format!(
                    "{} via {} (realm roles {:?})",
                    user.str_claim("preferred_username").unwrap_or("?"),
                    user.str_claim("azp").unwrap_or("?"),
                    user.realm_roles(),
                )
            }),
        )
        .layer(keycloak.layer())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("jwks_auth=info")
        .init();
    let env = |name: &str| std::env::var(name).ok();
    let (Some(url), Some(realm), Some(client)) = (
        env("KEYCLOAK_URL"),
        env("KEYCLOAK_REALM"),
        env("KEYCLOAK_CLIENT"),
    ) else {
        return against_the_mock().await;
    };
    let mut builder = Keycloak::builder(url, realm).authorized_party(client);
    if let Some(audience) = env("KEYCLOAK_AUDIENCE") {
        builder = builder.audience(audience);
    }
    let keycloak = builder.build()?;
    keycloak.verifier().refresh().await?;
    println!("accepting iss {:?}", keycloak.issuers());
    serve(app(&keycloak), keycloak.jwks_url()).await
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
    let idp = MockIdp::start().await;
    // The mock is the Keycloak server: the issuer is http://127.0.0.1:PORT/keycloak/realms/acme.
    let keycloak = Keycloak::new(idp.keycloak_url(), "acme", "orders-web")?;
    let cases = [
        (
            "access token of orders-web",
            Some(idp.keycloak_token("acme", "orders-web").sign()),
        ),
        (
            "access token of another client",
            Some(idp.keycloak_token("acme", "admin-cli").sign()),
        ),
        (
            "token without azp",
            Some(
                idp.keycloak_token("acme", "orders-web")
                    .remove_claim("azp")
                    .sign(),
            ),
        ),
        (
            "ID token (typ: ID)",
            Some(
                idp.keycloak_token("acme", "orders-web")
                    .claim("typ", "ID".into())
                    .sign(),
            ),
        ),
        (
            "token of another realm",
            Some(idp.keycloak_token("master", "orders-web").sign()),
        ),
    ];
    try_cases(app(&keycloak), &cases).await?;
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
