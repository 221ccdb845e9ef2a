//! The Cloudflare Access identity document ([`Identity`]), its fetch from
//! `/cdn-cgi/access/get-identity`, its cache, and [`IdentityError`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::SharedClock;
use crate::error::{AuthError, AuthErrorKind};
use crate::jwks::http::{GetFailure, HttpFetcher};
use crate::token::CF_AUTHORIZATION_COOKIE;
use crate::user::User;

/// Members of a JSON object that no typed field claims, kept as they came.
pub type Extras = BTreeMap<String, Value>;

/// A user's (or service token's) identity as Cloudflare Access describes it at
/// `/cdn-cgi/access/get-identity`.
///
/// Every documented field is optional, because which ones are present depends on the identity
/// provider, on WARP and on the kind of token; fields this type does not know are kept in
/// [`extra`](Self::extra). It serializes back to the same shape (absent fields stay absent),
/// so `Json(identity)` returns what Cloudflare said.
///
/// ```
/// use jwks_auth::cloudflare::Identity;
/// let identity: Identity = serde_json::from_value(serde_json::json!({
///     "email": "alice@example.test", "idp": {"id": "7d2c", "type": "okta"},
///     "geo": {"country": "NL"}, "groups": ["finance"], "amr": ["pwd", "mfa"],
///     "device_sessions": {"s1": {"last_authenticated": 1760000000}},
///     "devicePosture": {"r1": {"id": "r1", "rule_name": "disk", "success": true}},
///     "something_new": 42,
/// }))?;
/// assert_eq!(identity.email.as_deref(), Some("alice@example.test"));
/// assert_eq!(identity.idp.as_ref().and_then(|i| i.kind.as_deref()), Some("okta"));
/// assert_eq!(identity.group_names(), ["finance"]);
/// assert_eq!(identity.device_sessions.as_ref().map(|s| s.len()), Some(1));
/// assert_eq!(identity.device_posture.as_ref().map(|p| p["r1"].success), Some(Some(true)));
/// assert_eq!(identity.extra["something_new"], 42);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// The user's email (absent for service tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's display name, as the identity provider gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The identity provider the user logged in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<IdentityProvider>,
    /// Where the user was when they authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
    /// The user's id in Cloudflare (the `sub` of their tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_uuid: Option<String>,
    /// The Cloudflare account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// When the identity was issued (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The IP address the user authenticated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Status of the authentication (e.g. `NONE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_status: Option<String>,
    /// For service tokens: the Client ID (the API key is `common_name`, not `cn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// For service tokens: the service token's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_token_id: Option<String>,
    /// Whether the request was authenticated with a service token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_token_status: Option<bool>,
    /// Whether the user was connected through WARP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_warp: Option<bool>,
    /// Whether the request went through Cloudflare Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_gateway: Option<bool>,
    /// The Gateway account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_account_id: Option<String>,
    /// The WARP device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The identity document's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Device posture results, keyed by rule id (the API key is `devicePosture`).
    #[serde(
        default,
        rename = "devicePosture",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_posture: Option<BTreeMap<String, DevicePostureCheck>>,
    /// WARP device sessions, keyed by session id (a map, not a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_sessions: Option<BTreeMap<String, DeviceSession>>,
    /// Mutual TLS authentication details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_auth: Option<MtlsAuth>,
    /// Groups from the identity provider: strings, or objects (`{id, name, ...}`) depending on
    /// the provider; see [`group_names`](Self::group_names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Value>>,
    /// Authentication methods references (e.g. `["pwd", "mfa"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// Custom SAML/OIDC attributes configured on the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// OIDC claims passed through by the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_fields: Option<Value>,
    /// SAML attributes passed through by the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_attributes: Option<Value>,
    /// Every member not listed above.
    #[serde(flatten)]
    pub extra: Extras,
}

impl Identity {
    /// Group names: string entries of [`groups`](Self::groups) as they are, object entries by
    /// their `name` (else their `id`).
    #[must_use]
    pub fn group_names(&self) -> Vec<&str> {
        self.groups
            .iter()
            .flatten()
            .filter_map(|group| match group {
                Value::String(name) => Some(name.as_str()),
                Value::Object(object) => object
                    .get("name")
                    .or_else(|| object.get("id"))
                    .and_then(Value::as_str),
                _ => None,
            })
            .collect()
    }

    /// Whether this identity belongs to a service token.
    #[must_use]
    pub fn is_service_token(&self) -> bool {
        self.service_token_status == Some(true)
            || (self.email.is_none() && self.common_name.as_deref().is_some_and(|c| !c.is_empty()))
    }

    /// A minimal identity built from a user's claims, for the dev-user bypass (no token, so
    /// nothing to ask Cloudflare).
    #[cfg(feature = "axum")]
    pub(crate) fn from_user(user: &User) -> Self {
        Self {
            email: user.email().map(str::to_owned),
            name: user.name().map(str::to_owned),
            user_uuid: user.sub().filter(|s| !s.is_empty()).map(str::to_owned),
            common_name: user.common_name().map(str::to_owned),
            geo: user.country().map(|country| Geo {
                country: Some(country.to_owned()),
                extra: Extras::new(),
            }),
            ..Self::default()
        }
    }
}

/// The identity provider of an [`Identity`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdentityProvider {
    /// The provider's id in Cloudflare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The provider's type (`okta`, `azureAD`, `onetimepin`, ...; the API key is `type`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// The location of an [`Identity`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Geo {
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// One device posture rule's result in [`Identity::device_posture`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DevicePostureCheck {
    /// The rule id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The rule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    /// The kind of check (`file`, `disk_encryption`, ...; the API key is `type`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether the device passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// When the check ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The rule's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Why the check failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The check's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Value>,
    /// Data reported by the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// One WARP session in [`Identity::device_sessions`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceSession {
    /// When the session last authenticated (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_authenticated: Option<i64>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// Mutual TLS details in [`Identity::mtls_auth`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MtlsAuth {
    /// Status of the certificate check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_status: Option<String>,
    /// The client certificate issuer's distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_issuer_dn: Option<String>,
    /// The client certificate issuer's subject key identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_issuer_ski: Option<String>,
    /// Whether a client certificate was presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_presented: Option<bool>,
    /// The client certificate's serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_serial: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// What kind of failure an [`IdentityError`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdentityErrorKind {
    /// The request carries no Access token (401).
    MissingToken,
    /// The token does not verify (401).
    InvalidToken,
    /// The token verifies but a policy of the [`CloudflareAccess`](super::CloudflareAccess)
    /// refuses it (403).
    Forbidden,
    /// The identity endpoint refused the token (it answered 400, 401 or 403, or an `err`
    /// document): 401.
    Rejected,
    /// The identity endpoint answered something unusable: another status, a body that is not
    /// an identity document, or too large a body (502).
    BadResponse,
    /// The identity endpoint (or the signing keys) could not be reached in time: connection
    /// error, timeout, 5xx after the retries (503).
    Unavailable,
    /// The `Identity` extractor ran on a route without `CloudflareAccess::layer()` (500).
    LayerMissing,
}

impl IdentityErrorKind {
    /// The HTTP status this kind maps to.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken | Self::Rejected => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadResponse => StatusCode::BAD_GATEWAY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short description safe to show to clients.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::MissingToken => "missing Access token",
            Self::InvalidToken => "CFA token verification failed",
            Self::Forbidden => "forbidden",
            Self::Rejected => "the identity endpoint refused the token",
            Self::BadResponse => "bad answer from the identity endpoint",
            Self::Unavailable => "identity endpoint unavailable",
            Self::LayerMissing => {
                "identity unavailable: is `CloudflareAccess::layer()` installed on this route?"
            }
        }
    }
}

/// Why an identity could not be obtained.
///
/// [`Display`](fmt::Display) gives the full message for logs (the URL and the cause, never the
/// token); with the `axum` feature it is also a response (status from [`kind`](Self::kind),
/// `{"detail": ...}` body with only the kind's short description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityError {
    kind: IdentityErrorKind,
    message: String,
}

impl IdentityError {
    pub(crate) fn new(kind: IdentityErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn of_kind(kind: IdentityErrorKind) -> Self {
        Self::new(kind, kind.description())
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> IdentityErrorKind {
        self.kind
    }

    /// The HTTP status for this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
}

impl From<AuthError> for IdentityError {
    fn from(error: AuthError) -> Self {
        let kind = match error.kind() {
            AuthErrorKind::MissingToken => IdentityErrorKind::MissingToken,
            AuthErrorKind::Forbidden => IdentityErrorKind::Forbidden,
            AuthErrorKind::KeysUnavailable => IdentityErrorKind::Unavailable,
            _ => IdentityErrorKind::InvalidToken,
        };
        Self::new(kind, error.description())
    }
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IdentityError {}

/// A cached identity and how long it may live.
#[derive(Clone)]
struct Cached {
    identity: Arc<Identity>,
    ttl: Duration,
}

/// Expires each entry after the lifetime computed when it was loaded.
struct ByLifetime;

impl moka::Expiry<String, Cached> for ByLifetime {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Cached,
        _created: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Fetches identities and caches them per `identity_nonce` (or token hash).
pub(crate) struct IdentityClient {
    url: reqwest::Url,
    http: HttpFetcher,
    cache: moka::future::Cache<String, Cached>,
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

    /// The identity behind `token`, whose verified claims are `user`. Concurrent calls for one
    /// key share one fetch; failures are not cached.
    pub(crate) async fn get(
        &self,
        user: &User,
        token: &str,
    ) -> Result<Arc<Identity>, IdentityError> {
        let ttl = lifetime(
            user.claim("exp").and_then(Value::as_i64),
            self.clock.now_millis().div_euclid(1000),
            self.max_ttl,
        );
        if ttl.is_zero() {
            // The token is about to expire (or is inside the leeway): never cache past it.
            return self.fetch(token).await.map(Arc::new);
        }
        self.cache
            .try_get_with(cache_key(user, token), async {
                self.fetch(token).await.map(|identity| Cached {
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
pub(crate) fn lifetime(exp: Option<i64>, now: i64, max: Duration) -> Duration {
    let left = exp.map_or(0, |exp| exp.saturating_sub(now));
    u64::try_from(left).map_or(Duration::ZERO, |secs| Duration::from_secs(secs).min(max))
}

/// `nonce:<identity_nonce>` for user tokens, else `token:<sha256 of the token>` (the token
/// itself is never stored). Only verified claims ever reach this.
pub(crate) fn cache_key(user: &User, token: &str) -> String {
    match user.identity_nonce().filter(|n| !n.is_empty()) {
        Some(nonce) => format!("nonce:{nonce}"),
        None => {
            let digest = Sha256::digest(token.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("token:{hex}")
        }
    }
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
    use serde_json::json;

    #[test]
    fn lifetime_never_outlives_the_token() {
        let max = Duration::from_secs(300);
        assert_eq!(lifetime(Some(1_000), 900, max), Duration::from_secs(100));
        assert_eq!(lifetime(Some(10_000), 900, max), max);
        assert_eq!(lifetime(Some(900), 900, max), Duration::ZERO);
        assert_eq!(lifetime(Some(800), 900, max), Duration::ZERO);
        assert_eq!(lifetime(None, 900, max), Duration::ZERO);
    }

    #[test]
    fn cache_key_is_the_nonce_or_a_hash_never_the_token() {
        let user = User::from_claims(json!({"identity_nonce": "n1"}));
        assert_eq!(cache_key(&user, "a.b.c"), "nonce:n1");
        let service = User::from_claims(json!({"common_name": "x.access", "sub": ""}));
        let key = cache_key(&service, "a.b.c");
        assert!(key.starts_with("token:") && key.len() == 6 + 64 && !key.contains("a.b.c"));
        assert_ne!(key, cache_key(&service, "a.b.d"));
    }

    #[test]
    fn documented_fields_unknown_fields_and_round_trip() {
        let document = json!({
            "email": "alice@example.test", "name": "Alice", "idp": {"id": "7d2c", "type": "okta"},
            "geo": {"country": "NL"}, "user_uuid": "5b0c", "account_id": "1234abcd",
            "iat": 1_760_000_000, "ip": "203.0.113.7", "amr": ["pwd", "mfa"],
            "groups": ["finance", {"id": "g2", "name": "ops"}], "auth_status": "NONE",
            "common_name": "", "service_token_id": "", "service_token_status": false,
            "is_warp": false, "is_gateway": false, "gateway_account_id": "gw", "device_id": "d1",
            "version": 2,
            "devicePosture": {"r1": {"id": "r1", "rule_name": "disk", "type": "disk_encryption",
                "success": true, "timestamp": "2025-10-09T08:00:00Z", "description": "",
                "error": "", "check": {"drive": "C"}, "data": {}}},
            "device_sessions": {"s1": {"last_authenticated": 1_760_000_000}},
            "mtls_auth": {"auth_status": "NONE", "cert_issuer_dn": "", "cert_issuer_ski": "",
                "cert_presented": false, "cert_serial": ""},
            "custom": {"department": "finance"}, "future_field": [1, 2],
        });
        let identity: Identity = serde_json::from_value(document.clone()).expect("parses");
        assert_eq!(identity.group_names(), ["finance", "ops"]);
        assert_eq!(identity.version, Some(2));
        let posture = &identity.device_posture.as_ref().expect("posture")["r1"];
        assert_eq!(posture.kind.as_deref(), Some("disk_encryption"));
        assert_eq!(identity.extra.keys().collect::<Vec<_>>(), ["future_field"]);
        assert!(!identity.is_service_token());
        assert_eq!(
            serde_json::to_value(&identity).expect("serializes"),
            document
        );
    }

    #[test]
    fn empty_document_is_an_empty_identity_and_wrong_types_are_errors() {
        let identity: Identity = serde_json::from_value(json!({})).expect("parses");
        assert_eq!(identity, Identity::default());
        assert!(serde_json::from_value::<Identity>(json!({"device_sessions": []})).is_err());
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
