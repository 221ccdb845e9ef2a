//! An issuer and a verifier in one process.
//!
//! ```text
//! cargo run --example issuer                 # runs offline to completion, printing each step
//! cargo run --example issuer -- --serve 8080 # keeps serving the JWKS and discovery document
//!                                            # on 127.0.0.1:8080, prints one token per algorithm
//! ```
//!
//! The issuer mints tokens with a rotating key and publishes `/.well-known/jwks.json` and
//! `/.well-known/openid-configuration`; the API, a second router, verifies the tokens through
//! `JwksAuthLayer`, fetching the issuer's keys over HTTP. With `--serve`, point any other
//! verifier (jose, Envoy, ...) at the printed issuer.

use std::error::Error;

use axum::Router;
use axum::routing::get;
use jwks_auth::issuer::{
    FailoverSource, JwksPublisher, KeyRing, MemoryStore, MintOptions, RotatingSigner,
};
use jwks_auth::{Algorithm, Algorithms, JwksAuthLayer, JwksVerifier, User};
use tokio::net::TcpListener;

const AUDIENCE: &str = "example-api";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => demo().await,
        [flag] if flag == "--serve" => serve(8080).await,
        [flag, port] if flag == "--serve" => serve(port.parse()?).await,
        _ => Err("usage: issuer [--serve [PORT]]".into()),
    }
}

/// Binds 127.0.0.1:`port` and returns the listener with its base URL.
async fn bind(port: u16) -> Result<(TcpListener, String), Box<dyn Error>> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

fn spawn(listener: TcpListener, app: Router) {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("server stopped: {e}");
        }
    });
}

async fn demo() -> Result<(), Box<dyn Error>> {
    // 1. The issuer: ES256, rotating every 2 tokens (and daily), old keys kept for 24 h.
    let (issuer_listener, issuer) = bind(0).await?;
    let store = KeyRing::new(MemoryStore::new());
    let signer = RotatingSigner::builder()
        .key_ring(store.clone())
        .key_id("demo")
        .algorithm(Algorithm::ES256)
        .issuer(&issuer)
        .audience(AUDIENCE)
        .max_tokens_per_key(2)
        .rotate_every(std::time::Duration::from_secs(24 * 3600))
        .build()?;
    spawn(
        issuer_listener,
        JwksPublisher::new(signer.key_source())
            .issuer(&issuer)
            .router(),
    );
    println!("issuer   {issuer} (keys at {issuer}/.well-known/jwks.json)");

    // 2. The API: a second router, verifying through JwksAuthLayer over HTTP.
    let verifier = JwksVerifier::builder()
        .jwks_url(format!("{issuer}/.well-known/jwks.json"))
        .issuer(&issuer)
        .audience(AUDIENCE)
        .build()?;
    let api = Router::new()
        .route(
            "/me",
            get(|user: User| async move { format!("hello {}", user.sub().unwrap_or("?")) }),
        )
        .layer(JwksAuthLayer::new(verifier));
    let (api_listener, api_url) = bind(0).await?;
    spawn(api_listener, api);
    println!("api      {api_url}/me (JwksAuthLayer)");

    // 3. Mint three tokens: the third one is signed by a rotated key.
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for who in ["alice", "bob", "carol"] {
        let token = signer.mint(&MintOptions::new().subject(who).scope("orders:read"))?;
        println!("minted   token for {who:<5} with kid {}", kid_of(&token));
        tokens.push(token);
    }
    println!(
        "jwks     publishes {:?}",
        published_kids(&http, &issuer).await?
    );

    // 4. Every token verifies at the API, the rotated-out key's included (it is retained).
    for token in &tokens {
        let response = http
            .get(format!("{api_url}/me"))
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status();
        println!(
            "verify   kid {} -> {status} {}",
            kid_of(token),
            response.text().await?
        );
        if !status.is_success() {
            return Err(format!("token refused: {status}").into());
        }
    }

    // 5. Refusals: no token, and a token whose signature was tampered with.
    let missing = http.get(format!("{api_url}/me")).send().await?.status();
    println!("refuse   no token -> {missing}");
    let forged = tamper(&tokens[0]);
    let forged = http
        .get(format!("{api_url}/me"))
        .bearer_auth(forged)
        .send()
        .await?
        .status();
    println!("refuse   tampered signature -> {forged}");
    if missing != 401 || forged != 401 {
        return Err("expected 401 for both refusals".into());
    }

    // 6. A forced rotation: the new key is published next to the retained ones.
    let kid = signer.force_rotate()?;
    println!("rotate   forced, now signing with {kid}");
    println!(
        "jwks     publishes {:?}",
        published_kids(&http, &issuer).await?
    );
    let token = signer.mint(&MintOptions::new().subject("dave"))?;
    let status = http
        .get(format!("{api_url}/me"))
        .bearer_auth(&token)
        .send()
        .await?
        .status();
    println!("verify   kid {} -> {status}", kid_of(&token));
    if status != 200 {
        return Err("the new key's token was refused".into());
    }
    println!("done");
    Ok(())
}

async fn serve(port: u16) -> Result<(), Box<dyn Error>> {
    let (listener, issuer) = bind(port).await?;
    // Every asymmetric algorithm the crate verifies (the set a verifier accepts by default).
    let algorithms = Algorithms::ASYMMETRIC.iter();
    let store = KeyRing::new(MemoryStore::new());
    let mut signers = Vec::new();
    for alg in algorithms {
        let signer = RotatingSigner::builder()
            .key_ring(store.clone())
            .key_id(format!("{alg:?}").to_lowercase())
            .algorithm(alg)
            .issuer(&issuer)
            .audience(AUDIENCE)
            .build()?;
        signers.push(signer);
    }
    // One published set: the union of every signer's current and retained keys.
    let mut source = FailoverSource::merged(signers[0].key_source(), signers[1].key_source());
    for signer in &signers[2..] {
        source = FailoverSource::merged(source, signer.key_source());
    }
    spawn(
        listener,
        JwksPublisher::new(source).issuer(&issuer).router(),
    );
    println!("issuer:    {issuer}");
    println!("jwks_uri:  {issuer}/.well-known/jwks.json");
    println!("discovery: {issuer}/.well-known/openid-configuration");
    println!("audience:  {AUDIENCE}");
    for signer in &signers {
        let token = signer.mint(&MintOptions::new().subject("example-user"))?;
        println!("{:?}: {token}", signer.algorithm());
    }
    println!("serving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The token with one character in the middle of its signature changed.
fn tamper(token: &str) -> String {
    let at = token.rfind('.').unwrap_or(0) + 10;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_default()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .ok()
        .and_then(|h| h.kid)
        .unwrap_or_default()
}

async fn published_kids(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<Vec<String>, Box<dyn Error>> {
    let body = http
        .get(format!("{issuer}/.well-known/jwks.json"))
        .send()
        .await?
        .bytes()
        .await?;
    let doc: serde_json::Value = serde_json::from_slice(&body)?;
    Ok(doc["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}
