//! DPoP-bound tokens (RFC 9449) end to end over real HTTP: an axum API requiring DPoP with
//! server nonces, its RFC 9728 metadata document, and a client (the mock IdP's `DpopProver`)
//! that learns the nonce from the first refusal and retries, as RFC 9449 section 8 describes.
//!
//! ```text
//! cargo run --example dpop
//! ```

use axum::Router;
use axum::routing::get;
use jwks_auth::sender::{Dpop, HtuOrigin, ProtectedResourceMetadata};
use jwks_auth::testing::{DpopProver, MockIdp};
use jwks_auth::{JwksAuthLayer, JwksVerifier, User};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);

    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()?;
    // In production: 32 random bytes from your secret store, the same on every replica.
    let dpop = Dpop::required(HtuOrigin::fixed(&origin))
        .nonce_secret([7u8; 32])
        .build()?;
    let metadata = ProtectedResourceMetadata::builder(&origin)
        .authorization_server(idp.issuer())
        .dpop(&dpop)
        .build()?;
    let layer = JwksAuthLayer::new(verifier)
        .dpop(dpop)
        .resource_metadata(metadata.well_known_url());
    let app = Router::new()
        .route(
            "/orders",
            get(|user: User| async move { format!("orders of {}", user.sub().unwrap_or("?")) }),
        )
        .layer(layer)
        .merge(metadata.router());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::new();
    let document = http
        .get(metadata.well_known_url())
        .send()
        .await?
        .text()
        .await?;
    println!("GET {}\n  {document}\n", metadata.well_known_url());

    let client = DpopProver::es256();
    let token = idp.token().subject("alice").dpop_bound(&client).sign();
    let url = format!("{origin}/orders");
    let call = |proof: String, scheme: &'static str| {
        http.get(&url)
            .header("authorization", format!("{scheme} {token}"))
            .header("dpop", proof)
            .send()
    };
    let show = |what: &str, response: &reqwest::Response| {
        println!("{what:<38} -> {}", response.status());
        for name in ["www-authenticate", "dpop-nonce"] {
            for value in response.headers().get_all(name) {
                println!("{:<41}{name}: {}", "", value.to_str().unwrap_or("?"));
            }
        }
    };

    let first = call(client.proof("GET", &url, &token), "DPoP").await?;
    show("DPoP proof without a nonce", &first);
    let nonce = first
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let proof = client
        .proof_for("GET", &url)
        .access_token(&token)
        .nonce(&nonce)
        .sign();
    let second = call(proof.clone(), "DPoP").await?;
    show("the same request with the nonce", &second);
    println!("{:<41}{}", "", second.text().await?);
    show(
        "the same proof again (a replay)",
        &call(proof, "DPoP").await?,
    );
    let stolen = call(String::new(), "Bearer").await?;
    show("the token alone, as a bearer token", &stolen);
    Ok(())
}
