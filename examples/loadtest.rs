//! HTTP-level load test over loopback: requests/s and latency for the same axum app with no
//! auth (the ceiling), with `JwksAuthLayer` on a repeat token (verified-token cache), and with
//! the signature checked on every request (cache off).
//!
//! ```text
//! cargo run --release --example loadtest              # 3 s per scenario, 32 connections
//! cargo run --release --example loadtest -- 10 64     # 10 s per scenario, 64 connections
//! ```
//!
//! Server and client share the machine: the server runs on one runtime thread, the client on
//! another, so the numbers compare scenarios with each other, not with other machines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithm, JwksAuthLayer, JwksVerifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;

    let (idp, urls) = server_rt.block_on(async {
        let idp = MockIdp::start().await;
        let verifier = |capacity| {
            JwksVerifier::builder()
                .jwks_url(idp.jwks_url())
                .issuer(idp.issuer())
                .audience(idp.audience())
                .token_cache_capacity(capacity)
                .build()
        };
        let plain = Router::new().route("/", get(|| async { "ok" }));
        let cached = plain.clone().layer(JwksAuthLayer::new(verifier(10_000)?));
        let uncached = plain.clone().layer(JwksAuthLayer::new(verifier(0)?));
        let mut urls = Vec::new();
        for app in [plain, cached, uncached] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            urls.push(format!("http://{}/", listener.local_addr()?));
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        Ok::<_, Box<dyn std::error::Error>>((idp, urls))
    })?;
    let token = idp.token().alg(Algorithm::RS256).expires_in(3600).sign();

    println!(
        "{seconds} s per scenario, {connections} connections, server and client on one thread each\n"
    );
    println!("| scenario | requests/s | p50 | p99 | vs no auth |");
    println!("|---|---|---|---|---|");
    let scenarios = [
        ("no auth layer (ceiling)", &urls[0], None),
        (
            "layer, repeat RS256 token (cache hit)",
            &urls[1],
            Some(&token),
        ),
        (
            "layer, RS256 signature every request (cache off)",
            &urls[2],
            Some(&token),
        ),
    ];
    let mut ceiling = None;
    for (name, url, token) in scenarios {
        let result =
            client_rt.block_on(load(url, token.map(String::as_str), connections, seconds))?;
        let ceiling = *ceiling.get_or_insert(result.rps);
        println!(
            "| {name} | {:.0} | {:?} | {:?} | {:.0}% |",
            result.rps,
            result.p50,
            result.p99,
            100.0 * result.rps / ceiling
        );
    }
    drop(idp);
    Ok(())
}

struct LoadResult {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// `connections` workers, each sending requests back to back for `seconds`.
async fn load(
    url: &str,
    token: Option<&str>,
    connections: usize,
    seconds: u64,
) -> Result<LoadResult, Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let authorization = token.map(|t| format!("Bearer {t}"));
    // Warm the connections and the caches.
    for _ in 0..connections {
        send(&client, url, authorization.as_deref())
            .await
            .map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (client, url, auth, stop) = (
                client.clone(),
                url.to_owned(),
                authorization.clone(),
                Arc::clone(&stop),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    if send(&client, &url, auth.as_deref()).await.is_err() {
                        break;
                    }
                    latencies.push(t0.elapsed());
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let at = |p: usize| all.get(all.len() * p / 100).copied().unwrap_or_default();
    Ok(LoadResult {
        rps: all.len() as f64 / elapsed,
        p50: at(50),
        p99: at(99),
    })
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut request = client.get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await?;
    if !response.status().is_success() {
        return Err(format!("unexpected status {}", response.status()).into());
    }
    response.bytes().await?;
    Ok(())
}
