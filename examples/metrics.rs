//! Prometheus metrics and Kubernetes probes beside a protected API, offline against the
//! embedded mock identity provider.
//!
//! ```text
//! cargo run --example metrics --features metrics
//! ```
//!
//! It installs `metrics-exporter-prometheus` as the process' recorder (without its HTTP
//! listener: `/metrics` is an ordinary axum route here), serves `/api/me` behind
//! `JwksAuthLayer`, `/metrics`, `/healthz` and `/readyz`, sends a few requests and prints what
//! a scrape would see.

use axum::Router;
use axum::routing::get;
use jwks_auth::testing::MockIdp;
use jwks_auth::{JwksAuthLayer, JwksVerifier, User};
use metrics_exporter_prometheus::PrometheusBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The exporter is the application's choice; jwks-auth only records through the facade.
    let prometheus = PrometheusBuilder::new().install_recorder()?;

    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()?;

    let api = Router::new()
        .route(
            "/api/me",
            get(|user: User| async move { user.sub().unwrap_or("").to_owned() }),
        )
        .layer(JwksAuthLayer::new(verifier.clone()));
    let app = api
        .merge(jwks_auth::health::router([verifier.clone()]))
        .route(
            "/metrics",
            get(move || {
                let (prometheus, verifier) = (prometheus.clone(), verifier.clone());
                async move {
                    // Reading the status refreshes the key-set age and staleness gauges, and
                    // publishes the cache hits counted since the last scrape (they are
                    // counted without a recorder call and published in batches).
                    let _ = verifier.status();
                    prometheus.render()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("API, probes and metrics on {base}\n");

    let http = reqwest::Client::new();
    let good = idp.token().subject("alice").sign();
    let expired = idp.token().expires_in(-3_600).sign();
    for (what, token) in [
        ("valid token", Some(good.as_str())),
        ("same token again (cache hit)", Some(good.as_str())),
        ("expired token", Some(expired.as_str())),
        ("no token", None),
    ] {
        let mut request = http.get(format!("{base}/api/me"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        println!("{what:30} -> {}", request.send().await?.status());
    }
    let ready = http.get(format!("{base}/readyz")).send().await?;
    println!(
        "{:30} -> {} {}\n",
        "GET /readyz",
        ready.status(),
        ready.text().await?
    );

    let scrape = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    println!("GET /metrics:\n");
    for line in scrape.lines().filter(|l| l.starts_with("jwks_auth_")) {
        println!("  {line}");
    }
    Ok(())
}
