//! Protect an API with Microsoft Entra ID access tokens, single tenant or multi-tenant.
//!
//! By default it runs offline against the embedded mock (which plays
//! `login.microsoftonline.com`: key sets without `alg`, discovery documents with the
//! `{tenantid}` template, v1 and v2 tokens), sends a few requests and exits:
//!
//! ```text
//! cargo run --example entra
//! ```
//!
//! With your API it protects `http://$BIND/me` (default `127.0.0.1:8080`) until stopped. Single
//! tenant (add `ENTRA_ACCEPT_V1=1` to accept v1 tokens, `ENTRA_AUDIENCE=api://...` for the App
//! ID URI); or multi-tenant with `ENTRA_TENANT_ID=common` (optionally
//! `ENTRA_ALLOWED_TENANTS=guid1,guid2`):
//!
//! ```text
//! ENTRA_TENANT_ID=72f988bf-... ENTRA_CLIENT_ID=6e74172b-... cargo run --example entra
//! ```

use axum::Router;
use axum::routing::get;
use jwks_auth::User;
use jwks_auth::providers::EntraId;
use jwks_auth::testing::MockIdp;

fn app(entra: &EntraId) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                format!(
                    "{} of tenant {} (ver {}, scp {:?}, roles {})",
                    user.str_claim("preferred_username")
                        .or(user.str_claim("upn"))
                        .unwrap_or("?"),
                    user.str_claim("tid").unwrap_or("?"),
                    user.str_claim("ver").unwrap_or("?"),
                    user.str_claim("scp").unwrap_or(""),
                    user.claim("roles")
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                )
            }),
        )
        .layer(entra.layer())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("jwks_auth=info")
        .init();
    let env = |name: &str| std::env::var(name).ok();
    let (Some(tenant), Some(client)) = (env("ENTRA_TENANT_ID"), env("ENTRA_CLIENT_ID")) else {
        return against_the_mock().await;
    };
    let mut builder = if tenant == "common" || tenant == "organizations" {
        let mut multi = EntraId::multi_tenant(client);
        if let Some(allowed) = env("ENTRA_ALLOWED_TENANTS") {
            multi = multi.allow_tenants(allowed.split(',').map(str::to_owned).collect::<Vec<_>>());
        }
        multi
    } else {
        EntraId::builder(tenant, client)
    };
    if env("ENTRA_ACCEPT_V1").is_some() {
        builder = builder.accept_v1();
    }
    if let Some(audience) = env("ENTRA_AUDIENCE") {
        builder = builder.audience(audience);
    }
    let entra = builder.build()?;
    // Fetch the keys now: a wrong tenant shows at startup, not on a request.
    entra.verifier().refresh().await?;
    println!("accepting iss {:?}", entra.issuers());
    serve(app(&entra), entra.jwks_url()).await
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
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let other_tenant = "0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0";
    let api = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let idp = MockIdp::start().await;

    println!("== single tenant, v2 only");
    // The mock stands for https://login.microsoftonline.com; the issuers stay Microsoft's.
    let single = EntraId::builder(tenant, api)
        .base_url(idp.entra_url())
        .build()?;
    let cases = [
        ("v2 token", Some(idp.entra_token(tenant, api).sign())),
        (
            "v1 token (v1 not accepted)",
            Some(idp.entra_v1_token(tenant, api).sign()),
        ),
        (
            "v2 token of another tenant",
            Some(idp.entra_token(other_tenant, api).sign()),
        ),
        (
            "v2 token for Microsoft Graph",
            Some(
                idp.entra_token(tenant, "00000003-0000-0000-c000-000000000000")
                    .sign(),
            ),
        ),
    ];
    try_cases(app(&single), &cases).await?;

    println!("\n== single tenant, v1 accepted too (one key set)");
    let both = EntraId::builder(tenant, api)
        .accept_v1()
        .audience("api://orders")
        .base_url(idp.entra_url())
        .build()?;
    let cases = [
        ("v2 token", Some(idp.entra_token(tenant, api).sign())),
        (
            "v1 token for the App ID URI",
            Some(idp.entra_v1_token(tenant, "api://orders").sign()),
        ),
    ];
    try_cases(app(&both), &cases).await?;

    println!("\n== multi-tenant, tenant allow-list");
    let multi = EntraId::multi_tenant(api)
        .allow_tenants([tenant])
        .base_url(idp.entra_url())
        .build()?;
    let cases = [
        ("allowed tenant", Some(idp.entra_token(tenant, api).sign())),
        (
            "another tenant",
            Some(idp.entra_token(other_tenant, api).sign()),
        ),
        (
            "iss of one tenant, tid of another",
            Some(
                idp.entra_token(tenant, api)
                    .claim("tid", other_tenant.into())
                    .sign(),
            ),
        ),
    ];
    try_cases(app(&multi), &cases).await?;
    println!(
        "keys fetched {} time(s) (one per verifier)",
        idp.provider_key_fetches()
    );
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
