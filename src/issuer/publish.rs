//! [`JwksPublisher`]: an axum router serving `/.well-known/jwks.json` and
//! `/.well-known/openid-configuration` (feature `axum`).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::source::{keys_of, public_only};
use crate::encoding::etag;
use crate::jwks::{Fetched, KeySource};

/// The path of the key set: where this crate's publishers (this one and the mock IdP) serve
/// it, by the common convention. A verifier never assumes it: it uses the `jwks_uri` a
/// discovery document announces, or the URL it is given.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The path of the discovery document.
pub const DISCOVERY_PATH: &str = crate::oidc::DISCOVERY_PATH;

/// Serves a key source's set as an HTTP JWKS endpoint plus a minimal OpenID Connect discovery
/// document, so that any OIDC-aware verifier (this crate, jose, Envoy, ...) can use it.
///
/// - `GET /.well-known/jwks.json`: the source's keys with their public members only (`d`,
///   `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k` and unknown members are removed; `oct` keys are
///   never served), fetched on each request (for a
///   [`RotatingSigner`](super::RotatingSigner), its current and retained keys at that
///   moment), with a strong `ETag` (`If-None-Match` answers 304) and `Cache-Control: public,
///   max-age=N`, N being the smaller of [`max_age`](Self::max_age) and the source's own
///   `max_age`. If the source fails: 503 with `Retry-After` and `Cache-Control: no-store`.
/// - `GET /.well-known/openid-configuration`: `issuer`, `jwks_uri` (`<issuer>` +
///   `/.well-known/jwks.json` unless set with [`jwks_uri`](Self::jwks_uri)),
///   `id_token_signing_alg_values_supported` (the `alg`s of the current keys),
///   `response_types_supported` and `subject_types_supported`.
///
/// The issuer must be the public base URL of this router: OIDC verifiers check that the
/// discovery document's `issuer` equals the one they were configured with.
///
/// ```
/// use jwks_auth::issuer::{JwksPublisher, KeyRing, MemoryStore, RotatingSigner};
/// let signer = RotatingSigner::builder()
///     .key_ring(KeyRing::new(MemoryStore::new()))
///     .issuer("https://auth.example.com")
///     .build()?;
/// let app: axum::Router = JwksPublisher::new(signer.key_source())
///     .issuer(signer.issuer())
///     .router();
/// # Ok::<(), jwks_auth::issuer::IssuerError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct JwksPublisher {
    source: Arc<dyn KeySource>,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    max_age: Duration,
}

impl fmt::Debug for JwksPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksPublisher")
            .field("source", &self.source)
            .field("issuer", &self.issuer)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl JwksPublisher {
    /// Publishes `source` (default `max_age` 5 min; no discovery document until
    /// [`issuer`](Self::issuer) is set).
    pub fn new(source: impl KeySource) -> Self {
        Self {
            source: Arc::new(source),
            issuer: None,
            jwks_uri: None,
            max_age: Duration::from_secs(300),
        }
    }

    /// The issuer announced by the discovery document (also serves it).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `jwks_uri` announced by the discovery document (default
    /// `<issuer>/.well-known/jwks.json`).
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// The longest `Cache-Control: max-age` sent (default 5 min).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The router. Nest or merge it into your app; it has no state of its own to provide.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let discovery = self.issuer.is_some();
        let router = Router::new().route(JWKS_PATH, get(serve_jwks));
        let router = if discovery {
            router.route(DISCOVERY_PATH, get(serve_discovery))
        } else {
            router
        };
        router.with_state(Arc::new(self))
    }

    async fn current(&self) -> Result<(Bytes, Duration), Response> {
        match self.source.fetch(None).await {
            Ok(Fetched::Document { body, max_age, .. }) => {
                let age = max_age.map_or(self.max_age, |a| a.min(self.max_age));
                // Any source may be published (a remote set, a merged one): serve only the
                // public members of its keys, never what the source happened to carry.
                let doc: Value = serde_json::from_slice(&body)
                    .map_err(|e| unavailable(&format!("malformed key set: {e}")))?;
                let keys = public_only(keys_of(&doc));
                Ok((Bytes::from(json!({ "keys": keys }).to_string()), age))
            }
            Ok(_) => Err(unavailable("key source answered `not modified` unasked")),
            Err(e) => Err(unavailable(&e.to_string())),
        }
    }
}

async fn serve_jwks(State(publisher): State<Arc<JwksPublisher>>, headers: HeaderMap) -> Response {
    match publisher.current().await {
        Ok((body, age)) => cached_json(&headers, body, age),
        Err(response) => response,
    }
}

async fn serve_discovery(
    State(publisher): State<Arc<JwksPublisher>>,
    headers: HeaderMap,
) -> Response {
    let (body, age) = match publisher.current().await {
        Ok(current) => current,
        Err(response) => return response,
    };
    let issuer = publisher.issuer.clone().unwrap_or_default();
    let jwks_uri = publisher
        .jwks_uri
        .clone()
        .unwrap_or_else(|| format!("{}{JWKS_PATH}", issuer.trim_end_matches('/')));
    let algs: BTreeSet<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|doc| doc.get("keys").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|k| k.get("alg").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "id_token_signing_alg_values_supported": algs,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
    });
    cached_json(&headers, Bytes::from(doc.to_string()), age)
}

fn cached_json(request: &HeaderMap, body: Bytes, max_age: Duration) -> Response {
    let tag = etag(&body);
    let cache = format!("public, max-age={}", max_age.as_secs());
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    if matches_etag(request, &tag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, headers, body).into_response()
}

/// `If-None-Match` names this tag (weak comparison, as RFC 9110 prescribes for it), or `*`.
fn matches_etag(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

fn unavailable(why: &str) -> Response {
    tracing::warn!(error = why, "jwks-auth: cannot publish the key set");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, "5"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "key set unavailable",
    )
        .into_response()
}
