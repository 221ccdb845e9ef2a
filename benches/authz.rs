//! The cost of a per-route requirement on the repeat-token path: one request through
//! `JwksAuthLayer` alone, against the same request through `JwksAuthLayer` + one
//! `Require::scope` (the issue 15 target: at most 1.05x).
//!
//! ```text
//! cargo bench --bench authz
//! ```
//!
//! Criterion measures `authz/auth_only` and `authz/auth_plus_scope` one after the other; then
//! the same two paths are measured paired and interleaved (ABBA rounds of batches; the median
//! of the per-round ratios), which is the figure that holds on
//! a busy machine and the one the README quotes (`cargo bench --bench authz -- paired` skips
//! the criterion part). Both services share one verifier, so one verified-token cache: the
//! token is verified once, before measuring.
#![allow(missing_docs)] // criterion generates undocumented items.

mod common;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::Body;
use common::bearer;
use criterion::Criterion;
use futures_util::FutureExt;
use http::{Request, Response};
use jwks_auth::testing::MockIdp;
use jwks_auth::{JwksAuthLayer, JwksVerifier, Require};
use serde_json::json;
use tower::{Layer, Service, ServiceExt, service_fn};

const ROUNDS: usize = 3_000;
const BATCH: u32 = 32;

fn trivial(_req: Request<()>) -> std::future::Ready<Result<Response<Body>, Infallible>> {
    std::future::ready(Ok(Response::new(Body::empty())))
}

/// One request; the repeat-token path completes on its first poll (no executor involved).
fn call<S>(svc: &S, request: Request<()>) -> u16
where
    S: Service<Request<()>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let response = svc
        .clone()
        .oneshot(request)
        .now_or_never()
        .expect("repeat-token path completes without waiting")
        .expect("infallible");
    response.status().as_u16()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let idp = rt.block_on(MockIdp::start());
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    rt.block_on(verifier.refresh()).expect("warm the key cache");
    let inner = service_fn(trivial);
    let auth_only = JwksAuthLayer::new(verifier.clone()).layer(inner);
    let auth_plus_scope =
        JwksAuthLayer::new(verifier).layer(Require::scope("orders:write").layer(inner));

    // A realistic access token: the required scope is the last of four.
    let token = idp
        .token()
        .expires_in(86_400)
        .claim("scope", json!("openid profile orders:read orders:write"))
        .sign();
    let request = bearer(&token);
    assert_eq!(call(&auth_only, request.clone()), 200);
    assert_eq!(call(&auth_plus_scope, request.clone()), 200);
    let reader = bearer(
        &idp.token()
            .claim("scope", json!("orders:read"))
            .expires_in(86_400)
            .sign(),
    );
    assert_eq!(
        call(&auth_plus_scope, reader),
        403,
        "the requirement is live"
    );

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    c.bench_function("authz/auth_only", |b| {
        b.iter(|| assert_eq!(call(&auth_only, request.clone()), 200));
    });
    c.bench_function("authz/auth_plus_scope", |b| {
        b.iter(|| assert_eq!(call(&auth_plus_scope, request.clone()), 200));
    });
    c.final_summary();

    // ABBA rounds: each round times a batch of A (authentication alone), two of B (+ the
    // requirement) and one more of A, so the order within a round and any drift across it
    // weigh on both sides alike; the round's ratio is B's total over A's.
    let mut alone = Vec::with_capacity(ROUNDS);
    let mut with = Vec::with_capacity(ROUNDS);
    let mut ratios = Vec::with_capacity(ROUNDS);
    let batch = |with_requirement: bool| {
        let started = Instant::now();
        for _ in 0..BATCH {
            let status = if with_requirement {
                call(&auth_plus_scope, request.clone())
            } else {
                call(&auth_only, request.clone())
            };
            assert_eq!(status, 200);
        }
        started.elapsed()
    };
    for round in 0..ROUNDS + 50 {
        let a1 = batch(false);
        let b1 = batch(true);
        let b2 = batch(true);
        let a2 = batch(false);
        if round < 50 {
            continue; // warm-up
        }
        alone.push((a1 + a2) / (2 * BATCH));
        with.push((b1 + b2) / (2 * BATCH));
        ratios.push((b1 + b2).as_secs_f64() / (a1 + a2).as_secs_f64());
    }
    println!(
        "\npaired, interleaved (ABBA): {ROUNDS} rounds of 4 x {BATCH} calls; medians; repeat token\n"
    );
    println!(
        "| authentication alone | + Require::scope | ratio (target <= 1.05) | ratio p25..p75 |"
    );
    println!("|---|---|---|---|");
    ratios.sort_by(f64::total_cmp);
    println!(
        "| {:.3} us | {:.3} us | {:.3}x | {:.3}..{:.3} |",
        median(&mut alone).as_secs_f64() * 1e6,
        median(&mut with).as_secs_f64() * 1e6,
        ratios[ratios.len() / 2],
        ratios[ratios.len() / 4],
        ratios[ratios.len() * 3 / 4],
    );
    drop(rt);
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
