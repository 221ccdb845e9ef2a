//! Authorization per route: one `JwksAuthLayer` (one key cache), three routes, three
//! requirements. The `app` below is the README's "Authorization" example, word for word (a
//! test in `tests/authz.rs` keeps them identical).
//!
//! ```text
//! cargo run --example authorization        # against the embedded mock IdP, real HTTP requests
//! ```

use jwks_auth::testing::MockIdp;
use serde_json::json;

// README: Authorization (begin)
use axum::Router;
use axum::routing::{get, post};
use jwks_auth::authz::{Authorized, keycloak_realm};
use jwks_auth::{JwksAuthLayer, JwksVerifier, Require, User, requirement};

// A requirement named as a type, for the extractor form.
requirement!(Admin = Require::role(keycloak_realm(), "admin"));

fn app(verifier: JwksVerifier) -> Router {
    Router::new()
        // 1. A scope (`scope` or `scp`); refused: 403 with `scope="orders:read"` in the challenge.
        .route(
            "/orders",
            get(|user: User| async move { format!("orders of {:?}", user.sub()) })
                .route_layer(Require::scope("orders:read")),
        )
        // 2. A scope and a claim value, together.
        .route(
            "/orders",
            post(|| async { "created" }).route_layer(Require::all_of([
                Require::scope("orders:write"),
                Require::claim("/tenant", "acme"),
            ])),
        )
        // 3. A Keycloak realm role, as an extractor (a `route_layer` works the same).
        .route(
            "/admin",
            get(|admin: Authorized<Admin>| async move { format!("admin {:?}", admin.sub()) }),
        )
        // One authentication layer for every route: it runs before the requirements.
        .layer(JwksAuthLayer::new(verifier))
}
// README: Authorization (end)

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()?;
    let api = serve(app(verifier)).await?;
    println!("protected app: {api}\n");

    let reader = idp
        .token()
        .subject("rita")
        .claim("scope", json!("orders:read"))
        .sign();
    let writer = idp
        .token()
        .subject("will")
        .claim("scope", json!("orders:read orders:write"))
        .claim("tenant", json!("acme"))
        .sign();
    let globex = idp
        .token()
        .subject("gus")
        .claim("scope", json!("orders:write"))
        .claim("tenant", json!("globex"))
        .sign();
    let admin = idp
        .token()
        .subject("ada")
        .claim("realm_access", json!({"roles": ["admin"]}))
        .sign();

    let http = reqwest::Client::new();
    for (what, method, path, token) in [
        ("reader lists orders", "GET", "/orders", Some(&reader)),
        ("reader creates an order", "POST", "/orders", Some(&reader)),
        ("writer creates an order", "POST", "/orders", Some(&writer)),
        ("other tenant's writer", "POST", "/orders", Some(&globex)),
        ("writer opens /admin", "GET", "/admin", Some(&writer)),
        ("admin opens /admin", "GET", "/admin", Some(&admin)),
        ("no token", "GET", "/admin", None),
    ] {
        let mut request = http.request(method.parse()?, format!("{api}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(|v| format!("\n{:<32}www-authenticate: {v}", ""))
            .unwrap_or_default();
        let body = response.text().await?;
        println!("{what:<28} -> {status}  {body}{challenge}");
    }
    println!("\nJWKS fetches for the whole run: {}", idp.jwks_fetches());
    Ok(())
}

async fn serve(app: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}
