//! Kubernetes-style probes over the key caches of one or more verifiers.
//!
//! [`router`] serves `GET /healthz` (liveness: the process answers; always 200) and
//! `GET /readyz` (readiness: 200 when every verifier has a usable key set, 503 otherwise),
//! each with a JSON body describing the caches. A verifier that has no usable set when probed
//! (never fetched, or past `max_stale`) gets one refresh attempt first, so that a replica
//! whose keys are only fetched on demand still becomes ready before it receives traffic.
//!
//! The body is built from [`status()`](crate::JwksVerifier::status): kids, ages, counters and
//! the last fetch error. No key material, token, claim or secret is ever in it; mount the
//! router where your probes, not the public, reach it if even the kids are private to you.
//!
//! ```no_run
//! # async fn run(verifier: jwks_auth::JwksVerifier) {
//! let app = axum::Router::new().merge(jwks_auth::health::router([verifier]));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8081").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use serde_json::{Value, json};

use crate::JwksVerifier;
use crate::jwks::CacheStatus;

/// A router answering `GET /healthz` (always 200) and `GET /readyz` (200 when every
/// verifier's key set is usable, 503 otherwise), both with the caches' status as JSON.
pub fn router<S: Clone + Send + Sync + 'static>(
    verifiers: impl IntoIterator<Item = JwksVerifier>,
) -> Router<S> {
    let verifiers: Arc<[JwksVerifier]> = verifiers.into_iter().collect();
    let live = Arc::clone(&verifiers);
    Router::new()
        .route(
            "/healthz",
            get(move || {
                let verifiers = Arc::clone(&live);
                async move { Json(body(&statuses(&verifiers))) }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let verifiers = Arc::clone(&verifiers);
                async move {
                    let (status, body) = readiness(&verifiers).await;
                    (status, Json(body))
                }
            }),
        )
}

/// The readiness answer for `verifiers`: 200 when every one has a usable key set (fresh, or
/// stale within `max_stale`), else 503; and the JSON body. A verifier without a usable set
/// gets one refresh attempt first (joining one in flight); its failure shows in the body.
pub async fn readiness(verifiers: &[JwksVerifier]) -> (StatusCode, Value) {
    for verifier in verifiers {
        if !verifier.status().usable {
            // The error is in the status' `last_error`, which the body shows.
            let _ = verifier.refresh().await;
        }
    }
    let statuses = statuses(verifiers);
    let ready = !statuses.is_empty() && statuses.iter().all(|s| s.usable);
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body(&statuses))
}

fn statuses(verifiers: &[JwksVerifier]) -> Vec<CacheStatus> {
    verifiers.iter().map(JwksVerifier::status).collect()
}

fn body(statuses: &[CacheStatus]) -> Value {
    let ready = !statuses.is_empty() && statuses.iter().all(|s| s.usable);
    json!({
        "status": if ready { "ready" } else { "unavailable" },
        "verifiers": statuses.iter().map(status_json).collect::<Vec<_>>(),
    })
}

/// One cache's status as JSON: durations in (fractional) seconds.
pub fn status_json(status: &CacheStatus) -> Value {
    json!({
        "usable": status.usable,
        "fresh": status.fresh,
        "stale": status.stale,
        "generation": status.generation,
        "kids": status.kids,
        "age_secs": status.age.map(|a| a.as_secs_f64()),
        "etag": status.etag,
        "last_error": status.last_error,
        "cooldown_remaining_secs": status.cooldown_remaining.map(|c| c.as_secs_f64()),
        "fetches": status.fetches,
        "not_modified": status.not_modified,
        "failures": status.failures,
        "stale_uses": status.stale_uses,
        "cooldown_rejections": status.cooldown_rejections,
    })
}
