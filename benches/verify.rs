//! Verification cost against the floor: `jsonwebtoken::decode` with a prepared key and
//! `Validation` (ES512: aws-lc-rs verify and the same claim checks), same algorithm, same
//! backend, measured in the same run.
//!
//! ```text
//! cargo bench --bench verify
//! python3 benches/report.py      # ratios against the floor, from this run's estimates
//! ```
//!
//! Criterion measures each benchmark in turn, so on a shared machine a load change between
//! two benchmarks skews their ratio; `cargo bench --bench ratio` measures the same three paths
//! interleaved and reports per-round ratios, which is what the README quotes.
//!
//! - `floor/<alg>`: `jsonwebtoken::decode::<serde_json::Value>`.
//! - `layer_cold_token/<alg>`: one request through `JwksAuthLayer` (tower `oneshot`, trivial
//!   inner service), key cached, verified-token cache off: the full signature path.
//! - `layer_repeat_token/<alg>`: the same, verified-token cache on (a token seen before).
//! - `extract/{bearer,cookie}`: the repeat path with the token in each carrier.
//! - `keyset_parse/10_keys`: parsing a realistic 10-key JWKS (once per refresh, not per request).
#![allow(missing_docs)] // criterion_group! generates undocumented items.

mod common;

use common::{ALGS, Floor, bearer, call, setup};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::Request;
use jwks_auth::jwks::KeySet;
use jwks_auth::{Algorithm, Algorithms};

fn benches(c: &mut Criterion) {
    let s = setup();
    let jwks = s.idp.jwks_json();
    for (alg, name) in ALGS {
        let floor = Floor::new(&s, alg);
        c.bench_with_input(BenchmarkId::new("floor", name), &(), |b, ()| {
            b.iter(|| floor.decode())
        });
        c.bench_with_input(BenchmarkId::new("layer_cold_token", name), &(), |b, ()| {
            b.iter(|| assert_eq!(call(&s.cold, floor.request.clone()), 200));
        });
        c.bench_with_input(
            BenchmarkId::new("layer_repeat_token", name),
            &(),
            |b, ()| {
                b.iter(|| assert_eq!(call(&s.repeat, floor.request.clone()), 200));
            },
        );
    }

    let token = s.idp.mint(Algorithm::RS256);
    let by_bearer = bearer(&token);
    let by_cookie = Request::get("/")
        .header(
            "cookie",
            format!("theme=dark; lang=en; CF_Authorization={token}; _ga=GA1.2.3"),
        )
        .body(())
        .expect("request");
    c.bench_function("extract/bearer", |b| {
        b.iter(|| assert_eq!(call(&s.repeat, by_bearer.clone()), 200));
    });
    c.bench_function("extract/cookie", |b| {
        b.iter(|| assert_eq!(call(&s.repeat, by_cookie.clone()), 200));
    });

    let mut keys: Vec<serde_json::Value> = jwks["keys"].as_array().expect("keys").clone();
    keys.push(keys[0].clone());
    keys.truncate(10);
    let document = serde_json::json!({ "keys": keys }).to_string();
    c.bench_function("keyset_parse/10_keys", |b| {
        b.iter(|| KeySet::from_jwks(document.as_bytes(), Algorithms::ASYMMETRIC).expect("set"));
    });
}

criterion_group! {
    name = verify;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(verify);
