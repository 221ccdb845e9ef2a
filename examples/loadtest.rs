//! HTTP-level load test over loopback: requests/s and latency for the same axum handler and
//! body with no auth (the ceiling), with `JwksAuthLayer` on a repeat RS256 token (the
//! verified-token cache hit), with a distinct RS256 token on every request (each one new to
//! the cache: a signature check and a cache insert per request), and with the cache off.
//!
//! ```text
//! cargo run --release --example loadtest                 # 3 rounds of 3 s per scenario, 32 connections
//! cargo run --release --example loadtest -- 5 64 1       # 1 round of 5 s per scenario, 64 connections
//! cargo run --release --example loadtest -- 1 32 9 10000 # 9 rounds of 1 s, 10,000 distinct tokens a round
//! LOADTEST_ONLY=repeat cargo run --release --example loadtest -- 30 32 1   # one scenario, e.g. to profile it
//! ```
//!
//! The scenarios run in turn, in a rotating order, for each round; the table gives each
//! scenario's median over the rounds and the median of the per-round ratios to the ceiling
//! (a ratio measured within one round is what holds on a busy machine).
//!
//! Server and client share the machine: the server runs on one runtime thread
//! (`loadtest-server`, the one to profile), the client on another (`loadtest-client`), so the
//! numbers compare scenarios with each other, not with other machines. The distinct tokens are
//! minted before the first round, enough that none is sent twice; a scenario that runs out of
//! them stops early and is timed up to then.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithm, JwksAuthLayer, JwksVerifier};
use serde_json::json;

/// Distinct tokens minted for each round of the distinct-token scenario (the fourth argument
/// overrides it): it ends when they are used up, which on a 2-core machine takes under a
/// second (minting them, ~1 ms of RSA signing each, is what bounds the count).
const DISTINCT_PER_ROUND: usize = 20_000;

#[derive(Clone, Copy, PartialEq)]
enum Tokens {
    None,
    Repeat,
    Distinct,
}

struct Scenario {
    name: &'static str,
    key: &'static str,
    app: usize,
    tokens: Tokens,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "no auth layer (ceiling)",
        key: "none",
        app: 0,
        tokens: Tokens::None,
    },
    Scenario {
        name: "layer, repeat RS256 token (cache hit)",
        key: "repeat",
        app: 1,
        tokens: Tokens::Repeat,
    },
    Scenario {
        name: "layer, distinct RS256 token per request (cache miss)",
        key: "distinct",
        app: 1,
        tokens: Tokens::Distinct,
    },
    Scenario {
        name: "layer, RS256 signature every request (cache off)",
        key: "uncached",
        app: 2,
        tokens: Tokens::Repeat,
    },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    let per_round: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(DISTINCT_PER_ROUND);
    let only = std::env::var("LOADTEST_ONLY").ok();
    let scenarios: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| only.as_deref().is_none_or(|o| o == s.key))
        .collect();

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("loadtest-server")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("loadtest-client")
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

    let repeat = Arc::new(vec![bearer(&typical_token(&idp, 0))]);
    let per_round = if scenarios.iter().any(|s| s.tokens == Tokens::Distinct) {
        per_round.max(connections)
    } else {
        0
    };
    let minting = Instant::now();
    let mut distinct = mint_distinct(&idp, per_round * rounds);
    let token_len = repeat[0].len() - "Bearer ".len();

    println!(
        "{rounds} round(s) of {seconds} s per scenario, {connections} connections, server and \
         client on one thread each; RS256 tokens of {token_len} bytes ({per_round} distinct ones \
         per round, minted in {:.1} s)\n",
        minting.elapsed().as_secs_f64()
    );
    let mut results: Vec<Vec<LoadResult>> = scenarios.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for step in 0..scenarios.len() {
            let which = (round + step) % scenarios.len();
            let scenario = scenarios[which];
            let (tokens, cursor) = match scenario.tokens {
                Tokens::None => (None, None),
                Tokens::Repeat => (Some(Arc::clone(&repeat)), None),
                Tokens::Distinct => {
                    let fresh: Vec<String> = distinct.drain(..per_round).collect();
                    (Some(Arc::new(fresh)), Some(Arc::new(AtomicUsize::new(0))))
                }
            };
            let url = &urls[scenario.app];
            let result = client_rt.block_on(load(url, tokens, cursor, connections, seconds))?;
            println!(
                "round {}: {:<55} {:>8.0} requests/s ({} requests)",
                round + 1,
                scenario.name,
                result.rps,
                result.requests
            );
            results[which].push(result);
        }
    }

    println!();
    println!("| scenario | requests/s (median) | p50 | p99 | vs no auth (median of rounds) |");
    println!("|---|---|---|---|---|");
    let ceiling = scenarios.iter().position(|s| s.tokens == Tokens::None);
    for (i, scenario) in scenarios.iter().enumerate() {
        let runs = &results[i];
        let mid = median_by(runs, |r| r.rps);
        let ratio = ceiling.map_or(String::from("-"), |c| {
            let mut ratios: Vec<f64> = (0..rounds)
                .map(|round| runs[round].rps / results[c][round].rps)
                .collect();
            ratios.sort_by(f64::total_cmp);
            format!("{:.1}%", 100.0 * ratios[ratios.len() / 2])
        });
        println!(
            "| {} | {:.0} | {:?} | {:?} | {ratio} |",
            scenario.name, mid.rps, mid.p50, mid.p99,
        );
    }
    drop(idp);
    Ok(())
}

/// A token of the shape the README's figures use: ~800 bytes with a few typical claims.
fn typical_token(idp: &MockIdp, i: usize) -> String {
    idp.token()
        .alg(Algorithm::RS256)
        .expires_in(3600)
        .subject(&format!("user-{i:08}"))
        .claim("email", json!(format!("user-{i:08}@example.test")))
        .claim("scope", json!("openid profile email api:read api:write"))
        .claim("groups", json!(["engineering", "on-call", "readers"]))
        .claim("name", json!("A Typical User Name"))
        .sign()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `count` distinct `Authorization` values (distinct subjects), minted on every core.
fn mint_distinct(idp: &MockIdp, count: usize) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = count.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = t * per_thread;
                let end = count.min(start + per_thread);
                // `+ 1`: the repeat token is user 0.
                scope.spawn(move || {
                    (start..end)
                        .map(|i| bearer(&typical_token(idp, i + 1)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("minting thread"))
            .collect()
    })
}

struct LoadResult {
    rps: f64,
    requests: usize,
    p50: Duration,
    p99: Duration,
}

fn median_by(runs: &[LoadResult], key: impl Fn(&LoadResult) -> f64) -> &LoadResult {
    let mut sorted: Vec<&LoadResult> = runs.iter().collect();
    sorted.sort_by(|a, b| key(a).total_cmp(&key(b)));
    sorted[sorted.len() / 2]
}

/// `connections` workers, each sending requests back to back for `seconds`. With a `cursor`,
/// every request takes the next token of `tokens` (this round's own, so that no token is ever
/// sent twice) and the scenario ends early when they run out; without one, every request
/// sends `tokens[0]`.
async fn load(
    url: &str,
    tokens: Option<Arc<Vec<String>>>,
    cursor: Option<Arc<AtomicUsize>>,
    connections: usize,
    seconds: u64,
) -> Result<LoadResult, Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let feed = Arc::new(Feed { tokens, cursor });
    // Open the connections (and, for a repeat token, warm the cache).
    for _ in 0..connections {
        let Some(authorization) = feed.next() else {
            return Err("not enough distinct tokens to warm the connections".into());
        };
        send(&client, url, authorization)
            .await
            .map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (client, url, feed, stop) = (
                client.clone(),
                url.to_owned(),
                Arc::clone(&feed),
                Arc::clone(&stop),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let Some(authorization) = feed.next() else {
                        break; // out of distinct tokens
                    };
                    let t0 = Instant::now();
                    if send(&client, &url, authorization).await.is_err() {
                        break;
                    }
                    latencies.push(t0.elapsed());
                }
                (latencies, Instant::now())
            })
        })
        .collect();
    let deadline = tokio::time::sleep(Duration::from_secs(seconds));
    tokio::pin!(deadline);
    let stop_at_deadline = Arc::clone(&stop);
    let mut all = Vec::new();
    let mut last_done = started;
    let mut workers = workers.into_iter();
    // Stop at the deadline; a worker that ran out of tokens ends before it.
    let mut pending = workers.next();
    while let Some(worker) = pending.as_mut() {
        tokio::select! {
            () = &mut deadline, if !stop_at_deadline.load(Ordering::Relaxed) => {
                stop_at_deadline.store(true, Ordering::Relaxed);
            }
            done = worker => {
                let (latencies, ended) = done?;
                all.extend(latencies);
                last_done = last_done.max(ended);
                pending = workers.next();
            }
        }
    }
    let elapsed = last_done.duration_since(started).as_secs_f64();
    all.sort();
    let at = |p: usize| all.get(all.len() * p / 100).copied().unwrap_or_default();
    Ok(LoadResult {
        rps: all.len() as f64 / elapsed,
        requests: all.len(),
        p50: at(50),
        p99: at(99),
    })
}

/// Where a scenario's `Authorization` values come from.
struct Feed {
    tokens: Option<Arc<Vec<String>>>,
    cursor: Option<Arc<AtomicUsize>>,
}

impl Feed {
    /// The next request's header: `Some(None)` for no header, `None` when out of tokens.
    fn next(&self) -> Option<Option<&str>> {
        let Some(tokens) = &self.tokens else {
            return Some(None);
        };
        let i = self
            .cursor
            .as_ref()
            .map_or(0, |c| c.fetch_add(1, Ordering::Relaxed));
        tokens.get(i).map(|t| Some(t.as_str()))
    }
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
