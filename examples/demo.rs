//! The whole story in one run, offline: an embedded mock identity provider, an axum app
//! protected by `JwksAuthLayer`, and real HTTP requests over loopback.
//!
//! ```text
//! cargo run --example demo
//! ```

use axum::Router;
use axum::routing::get;
use jwks_auth::testing::{Fault, MockIdp};
use jwks_auth::{Algorithm, JwksAuthLayer, JwksVerifier, User};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await;
    println!(
        "mock identity provider: {} (JWKS at {})",
        idp.issuer(),
        idp.jwks_url()
    );

    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()?;
    let api = serve(protected_app(verifier.clone())).await?;
    println!("protected app:          {api}\n");

    let http = reqwest::Client::new();
    let get_me = |token: Option<String>| {
        let mut request = http.get(format!("{api}/me"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let token = idp
        .token()
        .subject("alice")
        .claim("email", "alice@example.test".into())
        .sign();
    show("valid RS256 token", get_me(Some(token)).await?).await;
    show("no token", get_me(None).await?).await;
    let expired = idp.token().subject("alice").expires_in(-3600).sign();
    show("expired token", get_me(Some(expired)).await?).await;
    let forged = jwks_auth::testing::foreign_token(
        Algorithm::RS256,
        &idp.kid(Algorithm::RS256),
        serde_json::json!({"iss": idp.issuer(), "aud": idp.audience(), "sub": "mallory", "exp": 4_000_000_000u64}),
    );
    show(
        "token signed by someone else's key",
        get_me(Some(forged)).await?,
    )
    .await;
    let es256 = idp.token().alg(Algorithm::ES256).subject("bob").sign();
    show("valid ES256 token", get_me(Some(es256)).await?).await;

    let new_kid = idp.rotate(Algorithm::RS256);
    let rotated = idp.token().subject("alice").sign();
    show(
        &format!("after key rotation (new kid {new_kid})"),
        get_me(Some(rotated)).await?,
    )
    .await;

    // An identity provider that is down before any key set was fetched: 503, not 401.
    let down = MockIdp::start().await;
    down.set_fault(Fault::Status(500));
    let cold = JwksVerifier::builder()
        .jwks_url(down.jwks_url())
        .issuer(down.issuer())
        .audience(down.audience())
        .http_retries(0)
        .build()?;
    let cold_api = serve(protected_app(cold)).await?;
    let response = http
        .get(format!("{cold_api}/me"))
        .bearer_auth(down.mint(Algorithm::RS256))
        .send()
        .await?;
    show("identity provider down from the start", response).await;

    let status = verifier.status();
    println!(
        "\nkey cache: {} fetches ({} for the rotation), kids {:?}",
        status.fetches,
        status.fetches.saturating_sub(1),
        status
            .kids
            .iter()
            .filter(|k| k.starts_with("rs256"))
            .collect::<Vec<_>>()
    );
    Ok(())
}

fn protected_app(verifier: JwksVerifier) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                format!(
                    "hello {} <{}>",
                    user.sub().unwrap_or("?"),
                    user.email().unwrap_or("-")
                )
            }),
        )
        .layer(JwksAuthLayer::new(verifier))
}

async fn serve(app: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

async fn show(what: &str, response: reqwest::Response) {
    let status = response.status();
    let challenge: String = ["www-authenticate", "retry-after"]
        .iter()
        .filter_map(|name| {
            let value = response.headers().get(*name)?.to_str().ok()?;
            Some(format!("\n{:<44}{name}: {value}", ""))
        })
        .collect();
    let body = response.text().await.unwrap_or_default();
    println!("{what:<40} -> {status}  {body}{challenge}");
}
