//! Concurrency and memory, one run (not criterion: these are counts, not nanoseconds).
//!
//! ```text
//! cargo bench --bench concurrency
//! ```
//!
//! 1. 10,000 concurrent requests bearing a brand-new kid: JWKS fetches (target: exactly 1).
//! 2. 1,000 concurrent requests with random unknown kids inside the cooldown: fetches (target:
//!    0) and their latency (none of them may wait on the network, which is made to hang).
//! 3. 100,000 distinct valid tokens through a verified-token cache of capacity 10,000:
//!    resident memory after warm-up and at the end (target: flat).

use std::time::{Duration, Instant};

use jwks_auth::testing::{Fault, MockIdp};
use jwks_auth::{Algorithm, JwksVerifier};

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter here.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    verifier
        .verify(&idp.mint(Algorithm::ES256))
        .await
        .expect("warm-up");

    // 1. A new kid, 10,000 requests at once; the endpoint answers after 100 ms so that they
    //    all arrive while the refresh is in flight.
    idp.rotate(Algorithm::ES256);
    idp.set_fault(Fault::Delay(Duration::from_millis(100)));
    let token = idp.mint(Algorithm::ES256);
    let before = idp.jwks_fetches();
    let started = Instant::now();
    let latencies = spawn_all(10_000, |_| {
        let (v, t) = (verifier.clone(), token.clone());
        async move {
            let t0 = Instant::now();
            v.verify(&t).await.expect("valid");
            t0.elapsed()
        }
    })
    .await;
    println!(
        "new kid:      10,000 concurrent requests -> {} JWKS fetch(es), all verified in {:?} (p50 {:?}, p99 {:?}; the fetch itself takes >= 100 ms)",
        idp.jwks_fetches() - before,
        started.elapsed(),
        percentile(&latencies, 50),
        percentile(&latencies, 99),
    );

    // 2. One unknown kid starts the cooldown; then the endpoint hangs for 60 s and 1,000
    //    random unknown kids arrive.
    idp.set_fault(Fault::None);
    let _ = verifier.verify(&idp.token().kid("unknown-0").sign()).await;
    idp.set_fault(Fault::Delay(Duration::from_secs(60)));
    let tokens: Vec<String> = (0..1000)
        .map(|i| idp.token().kid(format!("random-{i}")).sign())
        .collect();
    let before = idp.jwks_fetches();
    let latencies = spawn_all(1000, |i| {
        let (v, t) = (verifier.clone(), tokens[i].clone());
        async move {
            let t0 = Instant::now();
            assert!(v.verify(&t).await.is_err());
            t0.elapsed()
        }
    })
    .await;
    println!(
        "unknown kids: 1,000 concurrent random kids in the cooldown -> {} JWKS fetch(es), p50 {:?}, p99 {:?}, max {:?} (the endpoint hangs 60 s)",
        idp.jwks_fetches() - before,
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        latencies.iter().max().copied().unwrap_or_default(),
    );
    idp.set_fault(Fault::None);

    // 3. Memory: 100,000 distinct tokens through a 10,000-entry cache.
    let cached = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .token_cache_capacity(10_000)
        .build()
        .expect("config");
    cached.refresh().await.expect("keys");
    let mut rss_after_warmup = 0;
    for i in 0..100_000u32 {
        let token = idp
            .token()
            .alg(Algorithm::EdDSA)
            .subject(&format!("user-{i}"))
            .sign();
        cached.verify(&token).await.expect("valid");
        if i == 20_000 {
            rss_after_warmup = rss_kib();
        }
    }
    println!(
        "memory:       100,000 distinct tokens, cache capacity 10,000 -> RSS {} KiB after 20,000, {} KiB after 100,000",
        rss_after_warmup,
        rss_kib()
    );
}

async fn spawn_all<F>(n: usize, make: impl Fn(usize) -> F) -> Vec<Duration>
where
    F: std::future::Future<Output = Duration> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out.sort();
    out
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// Resident set size of this process, from /proc (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
