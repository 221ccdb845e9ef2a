//! Protect an application behind Cloudflare Access.
//!
//! By default it runs offline against the embedded mock (which plays the team domain: certs
//! and get-identity), makes a few requests and exits:
//!
//! ```text
//! cargo run --example cloudflare_access
//! ```
//!
//! With your team and your application's AUD tag it protects a real Access application, served
//! on `BIND` (default `127.0.0.1:8080`; point the Access application or a Cloudflare Tunnel at
//! it):
//!
//! ```text
//! CF_TEAM=acme CF_AUD=0f1e...e1f0 cargo run --example cloudflare_access
//! ```

use axum::routing::get;
use axum::{Json, Router};
use jwks_auth::cloudflare::CloudflareClaims;
use jwks_auth::testing::MockIdp;
use jwks_auth::{CloudflareAccess, Identity, User};

/// The application: `/` needs only the verified token, `/me` asks Cloudflare for the
/// identity (fetched on first use, then cached per session).
fn app(access: &CloudflareAccess) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/me", get(|id: Identity| async move { Json(id) }))
        .layer(access.layer())
}

async fn home(user: User) -> String {
    if user.is_service_token() {
        format!("hello service token {}", user.common_name().unwrap_or("?"))
    } else {
        format!(
            "hello {} ({})",
            user.email().unwrap_or("?"),
            user.country().unwrap_or("?")
        )
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,jwks_auth=debug".into()),
        )
        .init();
    match (std::env::var("CF_TEAM"), std::env::var("CF_AUD")) {
        (Ok(team), Ok(aud)) => protect_real_application(&team, &aud).await,
        _ => against_the_mock().await,
    }
}

async fn protect_real_application(team: &str, aud: &str) -> Result<(), Box<dyn std::error::Error>> {
    let access = CloudflareAccess::new(team, aud)?;
    // Fetch the keys now, so that a wrong team shows at startup rather than on a request.
    access.verifier().refresh().await?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!(
        "protecting http://{bind} for Access application {} of team {} (keys: {})",
        access.aud(),
        access.team(),
        access.certs_url()
    );
    axum::serve(listener, app(&access))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn against_the_mock() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await;
    // The mock plays the team domain; its issuer is http://127.0.0.1:PORT, hence the override.
    let access = CloudflareAccess::builder("acme", idp.cf_aud())
        .base_url(idp.url())
        .issuer(idp.issuer())
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app(&access)).await });
    println!(
        "mock team domain: {}\nprotected app:    {base}\n",
        idp.url()
    );

    let http = reqwest::Client::new();
    let user = idp.cf_token().sign();
    let service = idp.cf_service_token("3c5d9e7f0a1b.access").sign();
    let cases = [
        (
            "user token in Cf-Access-Jwt-Assertion",
            "/",
            Some(("cf-access-jwt-assertion", user.clone())),
        ),
        (
            "user token in the CF_Authorization cookie",
            "/",
            Some(("cookie", format!("CF_Authorization={user}"))),
        ),
        (
            "service token",
            "/",
            Some(("cf-access-jwt-assertion", service)),
        ),
        (
            "identity (fetched from get-identity)",
            "/me",
            Some(("cf-access-jwt-assertion", user.clone())),
        ),
        (
            "identity again (cached)",
            "/me",
            Some(("cf-access-jwt-assertion", user)),
        ),
        ("no token", "/", None),
        (
            "garbage token",
            "/",
            Some(("cf-access-jwt-assertion", "x.y.z".to_owned())),
        ),
    ];
    for (what, path, header) in cases {
        let mut request = http.get(format!("{base}{path}"));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(|c| format!("  [WWW-Authenticate: {c}]"))
            .unwrap_or_default();
        let body = response.text().await?;
        let body = if body.chars().count() > 160 {
            format!("{}...", body.chars().take(160).collect::<String>())
        } else {
            body
        };
        println!("{what}:\n  {status} {body}{challenge}\n");
    }
    println!(
        "certs fetched {} time(s), identity fetched {} time(s)",
        idp.certs_fetches(),
        idp.identity_fetches()
    );
    Ok(())
}
