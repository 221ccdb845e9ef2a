//! [`JwksVerifier`]: the public verifier, for one issuer or several.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AuthError, AuthReason, ConfigError};
use crate::fetch::FetchError;
use crate::introspection::{self, Introspector};
use crate::jwks::cache::CacheStatus;
use crate::metrics::{HitCounts, Lookup};
use crate::policy::IdTokenChecks;
use crate::user::User;
use crate::verify::{self, IssuerVerifier};

/// Verifies JWTs against cached JSON Web Key Sets.
///
/// Cheap to clone (one `Arc`); build one and share it. See [`JwksVerifier::builder`] for the
/// settings and their defaults, and [`JwksVerifier::multi_issuer`] for several issuers.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use jwks_auth::JwksVerifier;
/// let verifier = JwksVerifier::builder()
///     .oidc_issuer("https://idp.example.com")   // discovery; iss must match exactly
///     .audience("my-api")
///     .build()?;
/// let user = verifier.verify("eyJ...").await?;
/// println!("hello {:?}", user.sub());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksVerifier {
    inner: Arc<Kind>,
    /// Opaque tokens (and with `Routing::AllTokens`, every token) go here (RFC 7662).
    introspection: Option<Arc<Introspector>>,
    /// Accepted cache hits not yet published to the metrics recorder (`metrics` feature).
    hits: Arc<HitCounts>,
}

/// The result of the synchronous part of verification.
pub(crate) enum Attempt {
    /// Decided without waiting; how the verified-token cache took part (`Hit` or `Miss`), for
    /// the requests metric.
    Done(Result<User, AuthError>, Lookup),
    /// Must wait (for the key set, or for the introspection endpoint): finish with
    /// [`JwksVerifier::verify_pending`].
    MustWait(Pending),
}

/// What the synchronous attempt learnt, for the slow path.
#[derive(Debug)]
pub(crate) enum Pending {
    /// A JWT whose key set must be fetched first.
    Keys(verify::Pending),
    /// A token to introspect that is not in the cache.
    Introspect(introspection::Pending),
}

// The enum lives once inside an `Arc`; boxing the large variant would only add a pointer chase
// to the hot path.
#[allow(clippy::large_enum_variant)]
enum Kind {
    One(IssuerVerifier),
    /// Tenants chosen by the token's exact `iss`, before any key lookup.
    Many(Vec<(String, JwksVerifier)>),
}

impl JwksVerifier {
    pub(crate) fn from_issuer(
        verifier: IssuerVerifier,
        introspection: Option<Introspector>,
    ) -> Self {
        Self {
            inner: Arc::new(Kind::One(verifier)),
            introspection: introspection.map(Arc::new),
            hits: Arc::default(),
        }
    }

    /// One verifier for several issuers (multi-tenant). Each token is routed by its `iss`,
    /// compared exactly with each verifier's configured issuer before any key is looked up, so
    /// one tenant's keys never verify another tenant's tokens.
    ///
    /// # Errors
    /// When a verifier has no configured issuer, two share one, or the list is empty.
    pub fn multi_issuer(verifiers: impl IntoIterator<Item = Self>) -> Result<Self, ConfigError> {
        let mut routes: Vec<(String, Self)> = Vec::new();
        for verifier in verifiers {
            let Kind::One(one) = &*verifier.inner else {
                return Err(ConfigError::new("multi_issuer: verifiers cannot be nested"));
            };
            if verifier.introspection.is_some() {
                // An opaque token names no issuer to route it by.
                return Err(ConfigError::new(
                    "multi_issuer: a verifier with introspection cannot be a tenant; use one \
                     verifier per introspection endpoint",
                ));
            }
            let Some(issuer) = one.policy.issuer.as_ref().and_then(|r| r.single()) else {
                return Err(ConfigError::new(
                    "multi_issuer: every verifier needs one .issuer(..) to route by (a \
                     verifier with several issuers or a tenant template accepts them alone)",
                ));
            };
            let issuer = issuer.to_owned();
            if routes.iter().any(|(known, _)| *known == issuer) {
                return Err(ConfigError::new(format!(
                    "multi_issuer: issuer `{issuer}` is configured twice"
                )));
            }
            routes.push((issuer, verifier));
        }
        if routes.is_empty() {
            return Err(ConfigError::new("multi_issuer: no verifier given"));
        }
        Ok(Self {
            inner: Arc::new(Kind::Many(routes)),
            introspection: None,
            hits: Arc::default(),
        })
    }

    /// Verifies a token (without any `Bearer ` prefix) and returns its user.
    ///
    /// Waits for the key set only when it must: on first use, for an unknown kid outside the
    /// cooldown, or when the cached set is past `max_stale`. With
    /// [introspection](crate::introspection), a token it routes there waits for the endpoint
    /// unless its answer is cached.
    ///
    /// Sender constraints are not checked here: the token alone cannot prove its holder, so a
    /// DPoP- or certificate-bound token (one with `cnf`) is returned like any other. The
    /// [`JwksAuthLayer`](crate::JwksAuthLayer) checks them; outside it, refuse a user with a
    /// `cnf` claim, or check its binding yourself
    /// ([`Dpop::verify_proof`](crate::sender::Dpop::verify_proof) for `cnf.jkt`,
    /// [`ClientCertificate::thumbprint_sha256`](crate::sender::ClientCertificate::thumbprint_sha256)
    /// for `cnf.x5t#S256`).
    ///
    /// # Errors
    /// An [`AuthError`]: invalid token (401), refused by policy (403), keys or introspection
    /// unavailable (503).
    pub async fn verify(&self, token: &str) -> Result<User, AuthError> {
        match self.verify_now(token) {
            Attempt::Done(result, _) => result,
            Attempt::MustWait(pending) => self.verify_pending(token, pending).await,
        }
    }

    /// Verifies an OpenID Connect ID token: everything [`verify`](Self::verify) checks, plus
    /// `nonce` and `max_age` (against `auth_time`).
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and 401 when the nonce or `auth_time` do not pass.
    pub async fn verify_id_token(
        &self,
        token: &str,
        checks: &IdTokenChecks,
    ) -> Result<User, AuthError> {
        let user = self.verify(token).await?;
        // The token was routed by this exact `iss`, so the tenant exists.
        let one = match user.str_claim("iss").and_then(|iss| self.tenant(iss)) {
            Some(tenant) => tenant.one(),
            None => self.issuers()[0],
        };
        checks.check(&user, one.clock.now(), one.policy.leeway)?;
        Ok(user)
    }

    /// Where the layer counts accepted cache hits, published at each [`status`](Self::status).
    pub(crate) fn hit_counts(&self) -> &HitCounts {
        &self.hits
    }

    /// The synchronous part, for the layer: decides without awaiting when it can. On
    /// [`Attempt::MustWait`], finish with [`verify_pending`](Self::verify_pending): the
    /// pending state remembers the route, the header and the token digest.
    pub(crate) fn verify_now(&self, token: &str) -> Attempt {
        if let Some(introspector) = &self.introspection
            && introspector.applies(token)
        {
            return match introspector.verify_now(token) {
                Ok(done) => Attempt::Done(done, Lookup::Miss),
                Err(pending) => Attempt::MustWait(Pending::Introspect(pending)),
            };
        }
        match self.route(token) {
            Ok((route, one)) => match one.verify_now(token) {
                verify::Attempt::NeedsKeys(pending) => {
                    Attempt::MustWait(Pending::Keys(pending.routed(route)))
                }
                verify::Attempt::Done(done) => Attempt::Done(done, Lookup::Miss),
                verify::Attempt::Cached(done) => Attempt::Done(done, Lookup::Hit),
            },
            Err(e) => Attempt::Done(Err(e), Lookup::Miss),
        }
    }

    /// The slow path after [`verify_now`](Self::verify_now): waits for the key set (or the
    /// introspection endpoint), then finishes with what the synchronous attempt learnt.
    pub(crate) async fn verify_pending(
        &self,
        token: &str,
        pending: Pending,
    ) -> Result<User, AuthError> {
        let pending = match (pending, &self.introspection) {
            (Pending::Keys(pending), _) => pending,
            (Pending::Introspect(pending), Some(introspector)) => {
                return introspector.verify_pending(token, pending).await;
            }
            // Only `verify_now` makes an `Introspect`, and only with an introspector.
            (Pending::Introspect(_), None) => {
                return Err(AuthError::new(AuthReason::IntrospectionUnavailable));
            }
        };
        let one = match &*self.inner {
            Kind::One(one) => one,
            Kind::Many(routes) => routes[pending.route()].1.one(),
        };
        one.verify_after_refresh(token, pending).await
    }

    /// The issuer verifier for `token`, and its index among the routes.
    fn route(&self, token: &str) -> Result<(usize, &IssuerVerifier), AuthError> {
        match &*self.inner {
            Kind::One(one) => Ok((0, one)),
            Kind::Many(routes) => {
                // The size cap comes first on this path too: a token larger than every
                // tenant's cap costs a length check, not a decode of its payload to route it.
                let max_token_len = routes.iter().map(|(_, v)| v.one().policy.max_token_len);
                if max_token_len.max().is_none_or(|max| token.len() > max) {
                    return Err(AuthError::new(AuthReason::TokenTooLarge));
                }
                let iss = peek_issuer(token)?;
                routes
                    .iter()
                    .position(|(issuer, _)| *issuer == iss)
                    .map(|i| (i, routes[i].1.one()))
                    .ok_or(AuthError::new(AuthReason::UnknownIssuer))
            }
        }
    }

    /// The single-issuer verifier (routes of a multi-issuer verifier are never nested).
    fn one(&self) -> &IssuerVerifier {
        match &*self.inner {
            Kind::One(one) => one,
            Kind::Many(routes) => routes[0].1.one(),
        }
    }

    fn issuers(&self) -> Vec<&IssuerVerifier> {
        match &*self.inner {
            Kind::One(one) => vec![one],
            Kind::Many(routes) => routes.iter().flat_map(|(_, v)| v.issuers()).collect(),
        }
    }

    /// The verifier for one issuer of a [`multi_issuer`](Self::multi_issuer) verifier (or
    /// this one, if its issuer matches).
    #[must_use]
    pub fn tenant(&self, issuer: &str) -> Option<&Self> {
        match &*self.inner {
            Kind::One(one) => one
                .policy
                .issuer
                .as_ref()
                .is_some_and(|rule| rule.lists(issuer))
                .then_some(self),
            Kind::Many(routes) => routes.iter().find(|(i, _)| i == issuer).map(|(_, v)| v),
        }
    }

    /// Forces a key set refresh now, ignoring the cooldown and the failure backoff (joins a
    /// refresh already in flight); nothing for a verifier without a key source. Call it at startup to warm the cache and surface
    /// configuration problems (such as a discovery issuer mismatch) early.
    ///
    /// # Errors
    /// The fetch error, saying which URL failed and why.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        if self.keyless() {
            return Ok(());
        }
        for one in self.issuers() {
            one.keys.force_refresh().await?;
        }
        Ok(())
    }

    /// The current key set as a public JWKS document (`None` before the first fetch). For
    /// several issuers, the union of their sets.
    #[must_use]
    pub fn jwks(&self) -> Option<Value> {
        let mut keys = Vec::new();
        let mut any = false;
        for one in self.issuers() {
            if let Some(snap) = one.keys.load().as_ref() {
                any = true;
                if let Value::Object(mut doc) = snap.keys.to_jwks()
                    && let Some(Value::Array(k)) = doc.remove("keys")
                {
                    keys.extend(k);
                }
            }
        }
        any.then(|| serde_json::json!({ "keys": keys }))
    }

    /// A status snapshot of the key cache (for several issuers: counters summed, kids
    /// concatenated, fresh only if all are, stale if any is).
    ///
    /// With the `metrics` feature it also updates the key-set gauges and publishes the
    /// accepted cache hits that the layers using this verifier (or, for several issuers, any
    /// of its tenants) counted since the last read: read it in the handler that renders your
    /// metrics, before rendering. See [`metrics`](crate::metrics).
    #[must_use]
    pub fn status(&self) -> CacheStatus {
        // A status read comes before a scrape (the `/metrics` handler) or is a probe: the
        // moment to publish the accepted cache hits counted since the last one (`metrics`).
        self.hits.publish();
        if let Kind::Many(routes) = &*self.inner {
            // A tenant may also sit behind a layer of its own: its hits are published here too.
            for (_, tenant) in routes {
                tenant.hits.publish();
            }
        }
        if self.keyless() {
            // Nothing to fetch: as ready as the introspection endpoint (which is not probed).
            return CacheStatus {
                usable: true,
                fresh: true,
                ..CacheStatus::default()
            };
        }
        let mut all = self.issuers().into_iter().map(|one| one.keys.status());
        let Some(mut total) = all.next() else {
            return CacheStatus::default();
        };
        for s in all {
            total.merge(s);
        }
        total
    }
}

impl JwksVerifier {
    /// Introspection only: no key source, no key cache in use.
    fn keyless(&self) -> bool {
        self.introspection.as_ref().is_some_and(|i| i.keyless)
    }
}

/// Reads `iss` from an unverified payload, only to choose the tenant whose keys will verify it.
fn peek_issuer(token: &str) -> Result<String, AuthError> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = token
        .split('.')
        .nth(1)
        .ok_or(AuthError::new(AuthReason::MalformedToken))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::new(AuthReason::MalformedPayload))?;
    serde_json::from_slice::<Iss>(&bytes)
        .map(|i| i.iss)
        .map_err(|_| AuthError::new(AuthReason::UnknownIssuer))
}

impl fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Kind::One(one) => one.fmt(f),
            Kind::Many(routes) => f
                .debug_struct("JwksVerifier")
                .field(
                    "issuers",
                    &routes.iter().map(|(i, _)| i).collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}
