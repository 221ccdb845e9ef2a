//! Opaque access tokens: OAuth 2.0 token introspection (RFC 7662).
//!
//! A token that is not a JWT (an Ory Hydra or Zitadel opaque token, a reference token) cannot
//! be verified locally: the resource server asks the authorization server's introspection
//! endpoint whether it is active, and what it grants. (A Keycloak lightweight access token is
//! a JWT stripped of most claims: [`Routing::AllTokens`] gets them from the endpoint.)
//! Configure it on
//! the verifier with [`JwksVerifierBuilder::introspection`](crate::JwksVerifierBuilder::introspection):
//!
//! ```no_run
//! # fn demo() -> Result<(), jwks_auth::ConfigError> {
//! use jwks_auth::JwksVerifier;
//! use jwks_auth::introspection::{ClientAuth, Introspection};
//!
//! let verifier = JwksVerifier::builder()
//!     .oidc_issuer("https://idp.example.com/realms/shop") // JWTs: verified locally
//!     .audience("orders-api")
//!     // Opaque tokens: asked at the discovered `introspection_endpoint`.
//!     .introspection(
//!         Introspection::builder()
//!             .client_auth(ClientAuth::client_secret_basic("orders-api", "s3cret"))
//!             .build()?,
//!     )
//!     .build()?;
//! # let _ = verifier; Ok(()) }
//! ```
//!
//! What an answer means (RFC 7662 section 2.2, RFC 6750 section 3.1):
//! - `active: false`: 401 `invalid_token` ([`AuthReason::InactiveToken`](crate::AuthReason)).
//! - `active: true`: a [`User`](crate::User) with the answer's members as claims (`sub`,
//!   `scope`, `client_id`, `exp`, `aud`, `iss`, ...), checked like a JWT's: `exp` (when
//!   present) and `nbf` with the leeway, `iss`, `aud`, the claim rules, the verifier's and the
//!   routes' requirements ([`Require`](crate::Require) reads `scope` as in a JWT).
//! - `active: true` for a refresh or ID token (`token_use`, `typ` or `token_type` says
//!   `refresh_token`, `Refresh`, `Offline`, `ID`, ...): 401 `invalid_token`
//!   ([`AuthReason::TokenUseMismatch`](crate::AuthReason)); endpoints answer for refresh
//!   tokens too, and one must not pass for an access token.
//! - No answer (endpoint down, timeout, 5xx after the retries, this server's client
//!   credentials refused, a redirect) or an answer that is not an RFC 7662 response (not
//!   JSON, no boolean `active`, larger than the body cap): 503 with `Retry-After`
//!   ([`AuthReason::IntrospectionUnavailable`](crate::AuthReason)), because the client did
//!   nothing wrong, and an error in the logs naming the cause. The token never appears in
//!   logs or errors.
//!
//! Client authentication: [`ClientAuth`] (`client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` with a [`ClientAssertion`]). Signed answers (RFC 9701):
//! [`IntrospectionBuilder::jwt_response`].
//!
//! Answers are cached, keyed by the SHA-256 of the token (never the token): an active answer
//! for [`cache_ttl`](IntrospectionBuilder::cache_ttl) at most and never past the token's
//! `exp`; an inactive or refused one for
//! [`negative_cache_ttl`](IntrospectionBuilder::negative_cache_ttl); a failure never.
//! Concurrent requests bearing the same uncached token share one call to the endpoint, and at
//! most [`max_in_flight`](IntrospectionBuilder::max_in_flight) calls are in the air (503 past it).
//! Revoking a token therefore takes effect within `cache_ttl`.

mod assertion;
mod cache;
mod client;
mod response;
mod signed;
mod verify;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::SharedClock;
use crate::error::ConfigError;
use crate::fetch::{HttpFetcher, check_url};
use crate::jwks::cache::KeyCache;
use crate::oidc::discovery_url;
use crate::policy::Policy;

pub use assertion::ClientAssertion;
pub(crate) use verify::{Introspector, Pending};

/// Default lifetime of a cached active answer: short, so that revocation takes effect soon.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Default lifetime of a cached inactive (or refused) answer.
pub const DEFAULT_NEGATIVE_CACHE_TTL: Duration = Duration::from_secs(10);
/// Default number of cached answers.
pub const DEFAULT_CACHE_CAPACITY: u64 = 10_000;
/// Default bound on calls to the endpoint in the air at once (distinct uncached tokens).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
/// Largest introspection answer read (64 KiB): a larger one is refused as malformed (503).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How this server authenticates to the introspection endpoint (RFC 7662 section 2.1 requires
/// it; RFC 6749 section 2.3.1).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `Authorization: Basic` with the client id and secret, each form-urlencoded first (RFC
    /// 6749 section 2.3.1): what Keycloak, Okta and most servers take by default.
    ClientSecretBasic {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
    },
    /// `client_id` and `client_secret` in the form body, for servers that want them there.
    ClientSecretPost {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
    },
    /// `private_key_jwt` (RFC 7523 section 2.2): a JWT signed with the client's private key,
    /// fresh for each call (60 s lifetime, unique `jti`), instead of a shared secret.
    PrivateKeyJwt(ClientAssertion),
}

impl ClientAuth {
    /// [`ClientAuth::ClientSecretBasic`].
    pub fn client_secret_basic(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::ClientSecretBasic {
            client_id: client_id.into(),
            client_secret: secret.into(),
        }
    }

    /// [`ClientAuth::ClientSecretPost`].
    pub fn client_secret_post(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::ClientSecretPost {
            client_id: client_id.into(),
            client_secret: secret.into(),
        }
    }

    /// The client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        match self {
            Self::ClientSecretBasic { client_id, .. }
            | Self::ClientSecretPost { client_id, .. } => client_id,
            Self::PrivateKeyJwt(assertion) => &assertion.client_id,
        }
    }
}

// Never shows the secret.
impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match self {
            Self::ClientSecretBasic { .. } => "client_secret_basic",
            Self::ClientSecretPost { .. } => "client_secret_post",
            Self::PrivateKeyJwt(_) => "private_key_jwt",
        };
        f.debug_struct("ClientAuth")
            .field("method", &method)
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}

/// Which tokens go to the introspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Routing {
    /// Tokens that are not in JWS compact form (three base64url segments) are introspected;
    /// JWTs are verified locally against the key set, as without introspection.
    #[default]
    OpaqueOnly,
    /// Every token is introspected, JWTs included, so that a revoked token is refused (within
    /// the cache lifetime) before it expires. The only routing of a verifier without a key
    /// source.
    AllTokens,
}

/// The introspection settings of a verifier: build with [`Introspection::builder`], hand to
/// [`JwksVerifierBuilder::introspection`](crate::JwksVerifierBuilder::introspection).
#[derive(Debug, Clone)]
pub struct Introspection {
    pub(crate) endpoint: Option<String>,
    pub(crate) auth: ClientAuth,
    pub(crate) routing: Routing,
    pub(crate) cache_ttl: Duration,
    pub(crate) negative_cache_ttl: Duration,
    pub(crate) cache_capacity: u64,
    pub(crate) jwt_response: bool,
    pub(crate) max_in_flight: usize,
}

impl Introspection {
    /// A builder: client authentication is required, everything else has a default.
    #[must_use]
    pub fn builder() -> IntrospectionBuilder {
        IntrospectionBuilder {
            endpoint: None,
            auth: None,
            routing: Routing::default(),
            cache_ttl: DEFAULT_CACHE_TTL,
            negative_cache_ttl: DEFAULT_NEGATIVE_CACHE_TTL,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            jwt_response: false,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// Which tokens are introspected.
    #[must_use]
    pub fn routing(&self) -> Routing {
        self.routing
    }
}

/// Builds an [`Introspection`].
#[derive(Debug, Clone)]
pub struct IntrospectionBuilder {
    endpoint: Option<String>,
    auth: Option<ClientAuth>,
    routing: Routing,
    cache_ttl: Duration,
    negative_cache_ttl: Duration,
    cache_capacity: u64,
    jwt_response: bool,
    max_in_flight: usize,
}

impl IntrospectionBuilder {
    /// The introspection endpoint URL (https; plain http only for loopback hosts or with the
    /// verifier's `allow_http`). Without it, the endpoint is the `introspection_endpoint` of
    /// the verifier's [`oidc_issuer`](crate::JwksVerifierBuilder::oidc_issuer) discovery
    /// document (OpenID Connect Discovery; RFC 8414 section 2).
    #[must_use]
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// How this server authenticates to the endpoint (required).
    #[must_use]
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Which tokens are introspected (default [`Routing::OpaqueOnly`]).
    #[must_use]
    pub fn routing(mut self, routing: Routing) -> Self {
        self.routing = routing;
        self
    }

    /// Longest lifetime of a cached active answer (default [`DEFAULT_CACHE_TTL`]); never past
    /// the token's `exp`. How long a revoked token may still be accepted.
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Lifetime of a cached inactive or refused answer (default
    /// [`DEFAULT_NEGATIVE_CACHE_TTL`]). Zero: not cached.
    #[must_use]
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_cache_ttl = ttl;
        self
    }

    /// Most answers cached (default [`DEFAULT_CACHE_CAPACITY`]). Zero: no cache, every
    /// request asks the endpoint (concurrent ones still share a call).
    #[must_use]
    pub fn cache_capacity(mut self, capacity: u64) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Asks for signed answers (RFC 9701, `Accept: application/token-introspection+jwt`) and
    /// accepts only those: a JWT with `typ` `token-introspection+jwt`, signed with a key of
    /// the verifier's key set, `iss` the verifier's issuer, `aud` this client's id, an `iat`,
    /// and the answer in `token_introspection`. Anything else is refused (503). Needs a key
    /// source and one exact [`issuer`](crate::JwksVerifierBuilder::issuer). Off by default.
    #[must_use]
    pub fn jwt_response(mut self, on: bool) -> Self {
        self.jwt_response = on;
        self
    }

    /// Most calls to the endpoint in the air at once (default [`DEFAULT_MAX_IN_FLIGHT`]).
    /// Every distinct uncached token costs a call, so a flood of made-up tokens would
    /// otherwise become as many concurrent calls to the authorization server; past the bound
    /// a request whose token needs a new call is answered 503 with `Retry-After` at once
    /// (cached answers, and requests joining a call in the air, are not affected).
    #[must_use]
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting to fix: no client authentication, an empty client
    /// id or secret, a zero `cache_ttl` or `max_in_flight`.
    pub fn build(self) -> Result<Introspection, ConfigError> {
        let Some(auth) = self.auth else {
            return Err(ConfigError::new(
                "introspection: no client authentication: call \
                 .client_auth(ClientAuth::client_secret_basic(\"client-id\", \"secret\"))",
            ));
        };
        let secret = match &auth {
            ClientAuth::ClientSecretBasic { client_secret, .. }
            | ClientAuth::ClientSecretPost { client_secret, .. } => client_secret.as_str(),
            ClientAuth::PrivateKeyJwt(_) => "(a key)",
        };
        if auth.client_id().is_empty() || secret.is_empty() {
            return Err(ConfigError::new(
                "introspection: the client id and secret must not be empty",
            ));
        }
        if self.cache_ttl.is_zero() {
            return Err(ConfigError::new(
                "introspection: cache_ttl must be positive (use cache_capacity(0) for no cache)",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::new(
                "introspection: max_in_flight must be at least 1 (it bounds the calls to the \
                 endpoint in the air at once)",
            ));
        }
        Ok(Introspection {
            endpoint: self.endpoint,
            auth,
            routing: self.routing,
            cache_ttl: self.cache_ttl,
            negative_cache_ttl: self.negative_cache_ttl,
            cache_capacity: self.cache_capacity,
            jwt_response: self.jwt_response,
            max_in_flight: self.max_in_flight,
        })
    }
}

/// The verifier's introspection part, from its settings and the verifier's (policy, HTTP,
/// clock). `alone`: the verifier has no key source, so every token is introspected.
/// `post_client`: the client for the introspection POSTs when not `http`'s (ours follows no
/// redirect; the discovery GET through `http` follows same-origin ones).
#[allow(clippy::too_many_arguments)] // one call site: the verifier builder
pub(crate) fn assemble(
    config: Introspection,
    keys: Option<Arc<KeyCache>>,
    oidc_issuer: Option<String>,
    policy: Policy,
    http: HttpFetcher,
    post_client: Option<reqwest::Client>,
    allow_http: bool,
    clock: SharedClock,
) -> Result<Introspector, ConfigError> {
    let endpoint = match (config.endpoint, oidc_issuer) {
        (Some(url), _) => {
            let url = check_url(&url, allow_http, "introspection endpoint")?;
            client::without_user_info(&url, "introspection endpoint").map_err(ConfigError::new)?;
            client::Endpoint::Fixed(url)
        }
        (None, Some(issuer)) => client::Endpoint::Discovered {
            discovery_url: check_url(&discovery_url(&issuer), allow_http, "oidc_issuer")?,
            issuer,
            found: Mutex::new(None),
        },
        (None, None) => {
            return Err(ConfigError::new(
                "introspection: no endpoint: call Introspection::builder().endpoint(..), or \
                 .oidc_issuer(..) on the verifier to discover its introspection_endpoint",
            ));
        }
    };
    let alone = keys.is_none();
    let signed = match (config.jwt_response, keys) {
        (false, _) => None,
        (true, None) => {
            return Err(ConfigError::new(
                "introspection: jwt_response needs the issuer's keys: configure a key source \
                 (.oidc_issuer(..) or .jwks_url(..))",
            ));
        }
        (true, Some(keys)) => {
            let Some(issuer) = policy.issuer.as_ref().and_then(|rule| rule.single()) else {
                return Err(ConfigError::new(
                    "introspection: jwt_response needs one exact .issuer(..) to check the \
                     signed answers' iss against",
                ));
            };
            Some(signed::SignedAnswers {
                keys,
                issuer: issuer.to_owned(),
                client_id: config.auth.client_id().to_owned(),
                allow_missing_kid: policy.allow_missing_kid,
            })
        }
    };
    let retry_after = http.timeout.max(Duration::from_secs(1));
    let lifetimes = cache::Lifetimes {
        positive: config.cache_ttl,
        negative: config.negative_cache_ttl,
        leeway: policy.leeway,
    };
    Ok(Introspector {
        routing: if alone {
            Routing::AllTokens
        } else {
            config.routing
        },
        client: client::Client {
            endpoint,
            auth: config.auth,
            post_http: HttpFetcher {
                client: post_client.unwrap_or_else(|| http.client.clone()),
                ..http.clone()
            },
            http,
            allow_http,
            clock: clock.clone(),
            jwt_response: signed.is_some(),
        },
        signed,
        cache: Arc::new(cache::AnswerCache::new(config.cache_capacity, lifetimes)),
        policy,
        clock,
        retry_after,
        in_flight: Arc::new(tokio::sync::Semaphore::new(config.max_in_flight)),
        saturation_logged: std::sync::atomic::AtomicI64::new(i64::MIN),
        in_flight_bound: config.max_in_flight,
        keyless: alone,
    })
}

/// Whether `token` is in JWS compact form: three base64url segments, the first two non-empty.
/// Anything else is an opaque token.
pub(crate) fn is_jws_compact(token: &str) -> bool {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return false;
    };
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    !header.is_empty()
        && !payload.is_empty()
        && [header, payload, signature].into_iter().all(base64url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jws_compact_form_is_told_from_opaque_tokens() {
        assert!(is_jws_compact("eyJh.eyJz.c2ln"));
        assert!(is_jws_compact("eyJh.eyJz."));
        for opaque in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "a..c",
            "a.b+c.d",
            "2YotnFZFEjr1zCsicMWpAA",
            "ory_at_abc.def",
        ] {
            assert!(!is_jws_compact(opaque), "{opaque}");
        }
    }

    #[test]
    fn build_names_what_is_missing_and_hides_the_secret() {
        let err = Introspection::builder().build().expect_err("no auth");
        assert!(err.to_string().contains("client_auth"), "{err}");
        let err = Introspection::builder()
            .client_auth(ClientAuth::client_secret_post("", "s"))
            .build()
            .expect_err("empty id");
        assert!(err.to_string().contains("must not be empty"), "{err}");
        let auth = ClientAuth::client_secret_basic("api", "hunter2");
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
