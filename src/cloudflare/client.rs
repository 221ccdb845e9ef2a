//! The identity client: fetches [`Identity`] documents from `/cdn-cgi/access/get-identity`
//! with the verified token, and caches them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, header};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::claims::CloudflareClaims;
use super::error::{IdentityError, IdentityErrorKind};
use super::identity::Identity;
use crate::claims::{NumericDate, Rounding, numeric_date};
use crate::clock::SharedClock;
use crate::jwks::http::{GetFailure, HttpFetcher};
use crate::token::CF_AUTHORIZATION_COOKIE;
use crate::user::User;

/// What an identity is cached under. Built only from verified claims; the cache belongs to one
/// [`CloudflareAccess`](super::CloudflareAccess), so to one team and one application.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CacheKey {
    /// A person's session: the `identity_nonce`, bound to who was verified (the issuer, which
    /// names the team, and the subject) and to the kind of token. Another user, an `org`
    /// token or a service token that carries the same nonce never receives this identity.
    Session {
        issuer: Box<str>,
        subject: Box<str>,
        kind: TokenKind,
        nonce: Box<str>,
    },
    /// Everything else (service tokens carry no nonce): the SHA-256 of the token, so one
    /// entry per token; the token itself is never stored.
    Token([u8; 32]),
}

/// The kind of token in a [`CacheKey`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TokenKind {
    /// A service token ([`CloudflareClaims::is_service_token`]).
    Service,
    /// A person's token with this `type` (`app`, `org`).
    Typed(Box<str>),
    /// A person's token without `type`.
    Untyped,
}

impl CacheKey {
    pub(crate) fn new(user: &User, token: &str) -> Self {
        let kind = if user.is_service_token() {
            TokenKind::Service
        } else {
            user.token_type()
                .map_or(TokenKind::Untyped, |t| TokenKind::Typed(t.into()))
        };
        let nonce = user.identity_nonce().filter(|n| !n.is_empty());
        let subject = user.sub().filter(|s| !s.is_empty());
        match (nonce, subject) {
            (Some(nonce), Some(subject)) => Self::Session {
                issuer: user.issuer().unwrap_or_default().into(),
                subject: subject.into(),
                kind,
                nonce: nonce.into(),
            },
            // Without a subject there is nothing to bind the nonce to: key by the token.
            _ => Self::Token(Sha256::digest(token.as_bytes()).into()),
        }
    }
}

/// A cached identity and how long it may live.
#[derive(Clone)]
struct Cached {
    identity: Arc<Identity>,
    ttl: Duration,
}

/// Expires each entry after the lifetime computed when it was loaded.
struct ByLifetime;

impl moka::Expiry<CacheKey, Cached> for ByLifetime {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Cached,
        _created: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Fetches identities and caches them per [`CacheKey`].
pub(crate) struct IdentityClient {
    url: reqwest::Url,
    http: HttpFetcher,
    cache: moka::future::Cache<CacheKey, Cached>,
    max_ttl: Duration,
    clock: SharedClock,
}

impl IdentityClient {
    pub(crate) fn new(
        url: reqwest::Url,
        http: HttpFetcher,
        capacity: u64,
        max_ttl: Duration,
        clock: SharedClock,
    ) -> Self {
        Self {
            url,
            http,
            cache: moka::future::Cache::builder()
                .max_capacity(capacity)
                .expire_after(ByLifetime)
                .build(),
            max_ttl,
            clock,
        }
    }

    pub(crate) fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The identity behind `token`, whose verified claims are `user`; `token` is sent exactly
    /// as given. Concurrent calls for one key share one fetch; failures are not cached.
    pub(crate) async fn get(
        &self,
        user: &User,
        token: &str,
    ) -> Result<Arc<Identity>, IdentityError> {
        // `exp` was checked by the verifier; unreadable here means no lifetime, so no caching.
        let exp = numeric_date(user.claims(), "exp", Rounding::Down)
            .ok()
            .flatten();
        let ttl = lifetime(exp, self.clock.now(), self.max_ttl);
        if ttl.is_zero() {
            // The token is about to expire (or is inside the leeway): never cache past it.
            return crate::metrics::identity_fetched(self.fetch(token).await).map(Arc::new);
        }
        self.cache
            .try_get_with(CacheKey::new(user, token), async {
                crate::metrics::identity_fetched(self.fetch(token).await).map(|identity| Cached {
                    identity: Arc::new(identity),
                    ttl,
                })
            })
            .await
            .map(|cached| cached.identity)
            .map_err(|e| IdentityError::clone(&e))
    }

    async fn fetch(&self, token: &str) -> Result<Identity, IdentityError> {
        let url = &self.url;
        let mut cookie = HeaderValue::from_str(&format!("{CF_AUTHORIZATION_COOKIE}={token}"))
            .map_err(|_| IdentityError::of_kind(IdentityErrorKind::InvalidToken))?;
        cookie.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, cookie);
        let body = self
            .http
            .get_body_with_headers(url, &headers)
            .await
            .map_err(classify)?;
        let document: Value = serde_json::from_slice(&body).map_err(|e| {
            IdentityError::new(
                IdentityErrorKind::BadResponse,
                format!("GET {url}: the answer is not JSON: {e}"),
            )
        })?;
        if let Some(err) = document.get("err").and_then(Value::as_str) {
            return Err(IdentityError::new(
                IdentityErrorKind::Rejected,
                format!("GET {url}: the identity endpoint refused the token: {err}"),
            ));
        }
        serde_json::from_value(document).map_err(|e| {
            IdentityError::new(
                IdentityErrorKind::BadResponse,
                format!("GET {url}: not an identity document: {e}"),
            )
        })
    }
}

/// Maps a failed GET to the kind the handler sees.
fn classify(failure: GetFailure) -> IdentityError {
    let kind = match failure.status {
        Some(s) if matches!(s.as_u16(), 400 | 401 | 403) => IdentityErrorKind::Rejected,
        Some(s) if s.is_server_error() => IdentityErrorKind::Unavailable,
        Some(_) => IdentityErrorKind::BadResponse,
        // No status: a connection error or timeout (retryable), or a refused body (too large).
        None if failure.error.is_retryable() => IdentityErrorKind::Unavailable,
        None => IdentityErrorKind::BadResponse,
    };
    IdentityError::new(kind, failure.error.to_string())
}

/// How long an identity may be cached: until the token's `exp`, at most `max`; zero when the
/// token has no `exp` or it is already past.
pub(crate) fn lifetime(exp: Option<NumericDate>, now: NumericDate, max: Duration) -> Duration {
    exp.map_or(Duration::ZERO, |exp| now.until(exp).min(max))
}

impl fmt::Debug for IdentityClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityClient")
            .field("url", &self.url.as_str())
            .field("max_ttl", &self.max_ttl)
            .field("cached", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use serde_json::json;

    #[test]
    fn lifetime_never_outlives_the_token() {
        let max = Duration::from_secs(300);
        let at = NumericDate::from_secs;
        assert_eq!(
            lifetime(Some(at(1_000)), at(900), max),
            Duration::from_secs(100)
        );
        assert_eq!(lifetime(Some(at(10_000)), at(900), max), max);
        assert_eq!(lifetime(Some(at(900)), at(900), max), Duration::ZERO);
        assert_eq!(lifetime(Some(at(800)), at(900), max), Duration::ZERO);
        assert_eq!(lifetime(None, at(900), max), Duration::ZERO);
    }

    #[test]
    fn cache_key_binds_the_nonce_or_hashes_the_token_never_stores_it() {
        let person = |sub: &str, kind: &str| {
            User::from_claims(json!({
                "iss": "https://acme.cloudflareaccess.com", "sub": sub, "type": kind,
                "email": "a@example.test", "identity_nonce": "n1",
            }))
        };
        assert_eq!(
            CacheKey::new(&person("u1", "app"), "a.b.c"),
            CacheKey::Session {
                issuer: "https://acme.cloudflareaccess.com".into(),
                subject: "u1".into(),
                kind: TokenKind::Typed("app".into()),
                nonce: "n1".into(),
            }
        );
        // Same nonce, another user or another kind of token: another key.
        let alice = CacheKey::new(&person("u1", "app"), "a.b.c");
        assert_ne!(alice, CacheKey::new(&person("u2", "app"), "a.b.c"));
        assert_ne!(alice, CacheKey::new(&person("u1", "org"), "a.b.c"));
        let service = User::from_claims(
            json!({"common_name": "x.access", "sub": "", "identity_nonce": "n1"}),
        );
        let key = CacheKey::new(&service, "a.b.c");
        assert_eq!(
            key,
            CacheKey::Token(Sha256::digest(b"a.b.c").into()),
            "a service token is keyed by its token, nonce or not"
        );
        assert!(!format!("{key:?}").contains("a.b.c"));
        assert_ne!(key, CacheKey::new(&service, "a.b.d"));
    }

    #[test]
    fn failures_are_classified_by_status() {
        let failure = |status: Option<u16>, retryable: bool| GetFailure {
            status: status.map(|s| StatusCode::from_u16(s).expect("status")),
            error: if retryable {
                crate::jwks::FetchError::transient("x")
            } else {
                crate::jwks::FetchError::permanent("x")
            },
        };
        assert_eq!(
            classify(failure(Some(401), false)).kind(),
            IdentityErrorKind::Rejected
        );
        assert_eq!(
            classify(failure(Some(400), false)).kind(),
            IdentityErrorKind::Rejected
        );
        assert_eq!(
            classify(failure(Some(503), true)).kind(),
            IdentityErrorKind::Unavailable
        );
        assert_eq!(
            classify(failure(Some(404), false)).kind(),
            IdentityErrorKind::BadResponse
        );
        assert_eq!(
            classify(failure(None, true)).kind(),
            IdentityErrorKind::Unavailable
        );
        assert_eq!(
            classify(failure(None, false)).kind(),
            IdentityErrorKind::BadResponse
        );
    }
}
