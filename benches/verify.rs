//! Verification cost against the floor: `jsonwebtoken::decode` with a prepared key and
//! `Validation`, same algorithm, same backend, measured in the same run.
//!
//! ```text
//! cargo bench --bench verify
//! python3 benches/report.py      # ratios against the floor, from this run's estimates
//! ```
//!
//! - `floor/<alg>`: `jsonwebtoken::decode::<serde_json::Value>`.
//! - `layer_cold_token/<alg>`: one request through `JwksAuthLayer` (tower `oneshot`, trivial
//!   inner service), key cached, verified-token cache off: the full signature path.
//! - `layer_repeat_token/<alg>`: the same, verified-token cache on (a token seen before).
//! - `extract/{bearer,cookie}`: the repeat path with the token in each carrier.
//! - `keyset_parse/10_keys`: parsing a realistic 10-key JWKS (once per refresh, not per request).
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::convert::Infallible;

use axum::body::Body;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Request, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::Jwk};
use jwks_auth::jwks::KeySet;
use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithms, JwksAuthLayer, JwksVerifier};
use tower::{Layer, ServiceExt, service_fn};

const ALGS: [(Algorithm, &str); 3] = [
    (Algorithm::RS256, "RS256"),
    (Algorithm::ES256, "ES256"),
    (Algorithm::EdDSA, "EdDSA"),
];

type Inner = tower::util::ServiceFn<
    fn(Request<Body>) -> std::future::Ready<Result<Response<Body>, Infallible>>,
>;

fn trivial(_req: Request<Body>) -> std::future::Ready<Result<Response<Body>, Infallible>> {
    std::future::ready(Ok(Response::new(Body::empty())))
}

struct Setup {
    _rt: tokio::runtime::Runtime,
    idp: MockIdp,
    cold: jwks_auth::JwksAuth<Inner>,
    repeat: jwks_auth::JwksAuth<Inner>,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let idp = rt.block_on(MockIdp::start());
    let build = |capacity: u64| {
        let verifier = JwksVerifier::builder()
            .jwks_url(idp.jwks_url())
            .issuer(idp.issuer())
            .audience(idp.audience())
            .token_cache_capacity(capacity)
            .build()
            .expect("config");
        rt.block_on(verifier.refresh()).expect("warm the key cache");
        let inner: Inner = service_fn(trivial as fn(_) -> _);
        JwksAuthLayer::new(verifier).layer(inner)
    };
    let cold = build(0);
    let repeat = build(10_000);
    Setup {
        _rt: rt,
        idp,
        cold,
        repeat,
    }
}

/// One request through the service; the cached-key path completes on its first poll, so no
/// executor is involved (the same as for the floor).
fn call(svc: &jwks_auth::JwksAuth<Inner>, request: Request<Body>) -> u16 {
    let response = svc
        .clone()
        .oneshot(request)
        .now_or_never()
        .expect("cached-key path completes without waiting")
        .expect("infallible");
    response.status().as_u16()
}

fn bearer(token: &str) -> Request<Body> {
    Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

fn benches(c: &mut Criterion) {
    let s = setup();
    let jwks = s.idp.jwks_json();
    for (alg, name) in ALGS {
        let token = s.idp.token().alg(alg).expires_in(86_400).sign();
        let kid = s.idp.kid(alg);
        let jwk_value = jwks["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
            .expect("published key")
            .clone();
        let jwk: Jwk = serde_json::from_value(jwk_value).expect("jwk");
        let key = DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut validation = Validation::new(alg);
        validation.set_audience(&[s.idp.audience()]);
        validation.set_issuer(&[s.idp.issuer()]);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok());
        assert_eq!(call(&s.cold, bearer(&token)), 200);
        assert_eq!(call(&s.repeat, bearer(&token)), 200);

        c.bench_with_input(BenchmarkId::new("floor", name), &token, |b, t| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(t, &key, &validation).expect("valid")
            });
        });
        c.bench_with_input(
            BenchmarkId::new("layer_cold_token", name),
            &token,
            |b, t| {
                b.iter(|| assert_eq!(call(&s.cold, bearer(t)), 200));
            },
        );
        c.bench_with_input(
            BenchmarkId::new("layer_repeat_token", name),
            &token,
            |b, t| {
                b.iter(|| assert_eq!(call(&s.repeat, bearer(t)), 200));
            },
        );
    }

    let token = s.idp.mint(Algorithm::RS256);
    c.bench_function("extract/bearer", |b| {
        b.iter(|| assert_eq!(call(&s.repeat, bearer(&token)), 200));
    });
    c.bench_function("extract/cookie", |b| {
        b.iter(|| {
            let request = Request::get("/")
                .header(
                    "cookie",
                    format!("theme=dark; lang=en; CF_Authorization={token}; _ga=GA1.2.3"),
                )
                .body(Body::empty())
                .expect("request");
            assert_eq!(call(&s.repeat, request), 200);
        });
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
