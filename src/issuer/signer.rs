//! [`RotatingSigner`]: mints JWTs with a fixed algorithm, rotating its key by time or count,
//! and publishes the current and retained versions.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::IssuerError;
use super::keys::KeyKind;
use super::local::{ClockHandle, SignerKeys};
use super::signing::SigningKey;
use super::source::answer;
use super::store::{ExportPolicy, KeyId, KeyInfo, KeyRef, KeySpec, KeyStore};
use crate::clock::{Clock, SharedClock, millis};
use crate::error::ConfigError;
use crate::jwks::{FetchError, Fetched, Validators};
use crate::{JwksVerifier, JwksVerifierBuilder};

/// Claims only the signer sets.
const RESERVED_CLAIMS: [&str; 7] = ["iat", "nbf", "exp", "iss", "sub", "aud", "scope"];

/// Builds a [`RotatingSigner`].
///
/// | setting | default |
/// |---|---|
/// | [`algorithm`](Self::algorithm) | RS256 (or the [`key_kind`](Self::key_kind)'s algorithm) |
/// | [`key_kind`](Self::key_kind) (for a new key) | the smallest kind fitting the algorithm |
/// | [`token_lifetime`](Self::token_lifetime) | 1 h |
/// | [`retention`](Self::retention) | 24 h |
/// | [`leeway_allowance`](Self::leeway_allowance) | 5 min (the largest leeway a [`JwksVerifier`] accepts) |
/// | [`rotate_every`](Self::rotate_every) / [`max_tokens_per_key`](Self::max_tokens_per_key) | never |
/// | [`publish_max_age`](Self::publish_max_age) | 5 min |
///
/// The retention rule: `token_lifetime + leeway_allowance < retention`, checked at
/// [`build`](Self::build); each mint's lifetime is checked against it too (at most
/// `retention - leeway_allowance - 1 s`). A version is
/// retired when the next one is created, and stays published for `retention` after that; the
/// rule makes every token expire (leeway included) before its key leaves the published set,
/// so even a verifier holding a cached set never accepts a token past its key's window.
#[must_use]
pub struct RotatingSignerBuilder {
    store: Option<Arc<dyn KeyStore>>,
    base_kid: Option<String>,
    kind: Option<KeyKind>,
    algorithm: Option<Algorithm>,
    export: ExportPolicy,
    issuer: Option<String>,
    audiences: Vec<String>,
    lifetime: Duration,
    retention: Duration,
    allowance: Duration,
    rotate_every: Option<Duration>,
    max_tokens: Option<u64>,
    publish_max_age: Duration,
    clock: SharedClock,
}

impl fmt::Debug for RotatingSignerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingSignerBuilder")
            .field("base_kid", &self.base_kid)
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl RotatingSignerBuilder {
    /// The key store holding the signer's versions (required).
    pub fn store(mut self, store: Arc<dyn KeyStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The base kid to sign with: its newest version if it exists, else a new key of that
    /// name. Default: a new key with a random base kid.
    pub fn key_id(mut self, base: impl Into<String>) -> Self {
        self.base_kid = Some(base.into());
        self
    }

    /// The kind of key to create when the base kid does not exist yet.
    pub fn key_kind(mut self, kind: KeyKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// The one algorithm every token is signed with. Never taken from a request.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// The export policy of keys the signer creates (default: secrets never leave the store).
    pub fn export_policy(mut self, export: ExportPolicy) -> Self {
        self.export = export;
        self
    }

    /// The `iss` of every token (required), also announced by the discovery document.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// An audience put in tokens whose [`MintOptions`] name none; call again for several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Default token lifetime (`exp - iat`).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How long a retired version stays published and verifiable.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The clock skew verifiers may allow on `exp`, reserved inside the retention window.
    pub fn leeway_allowance(mut self, allowance: Duration) -> Self {
        self.allowance = allowance;
        self
    }

    /// Rotate when the current version is this old (checked at each mint).
    pub fn rotate_every(mut self, every: Duration) -> Self {
        self.rotate_every = Some(every);
        self
    }

    /// Rotate after this many tokens signed by the current version. The count lives in
    /// memory: a restart starts it again.
    pub fn max_tokens_per_key(mut self, max: u64) -> Self {
        self.max_tokens = Some(max);
        self
    }

    /// Upper bound of the `max_age` the signer's key source announces (default 5 min); it is
    /// shortened so that a cached set expires when a retained version leaves it.
    pub fn publish_max_age(mut self, max_age: Duration) -> Self {
        self.publish_max_age = max_age;
        self
    }

    /// The clock for rotation, retention and timestamps (default: system time). Give the
    /// store the same clock: creation times come from the store.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock(Arc::new(clock));
        self
    }

    fn check(&self) -> Result<(Arc<dyn KeyStore>, String, Algorithm, KeyKind), ConfigError> {
        let store = self
            .store
            .clone()
            .ok_or_else(|| ConfigError::new("signer: no key store: call .store(..)"))?;
        let issuer = match &self.issuer {
            Some(iss) if !iss.is_empty() => iss.clone(),
            _ => {
                return Err(ConfigError::new(
                    "signer: no issuer: call .issuer(\"https://..\")",
                ));
            }
        };
        let algorithm = self
            .algorithm
            .or(self.kind.map(KeyKind::default_algorithm))
            .unwrap_or(Algorithm::RS256);
        let kind = match self.kind {
            Some(kind) => kind,
            None => KeyKind::for_algorithm(algorithm).ok_or_else(|| {
                ConfigError::new(format!(
                    "signer: {algorithm:?} cannot be used to sign tokens"
                ))
            })?,
        };
        if !kind.supports(algorithm) {
            return Err(ConfigError::new(format!(
                "signer: algorithm {algorithm:?} does not fit a {kind} key"
            )));
        }
        if self.lifetime < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "signer: token_lifetime must be at least 1 s",
            ));
        }
        if self.lifetime + self.allowance >= self.retention {
            return Err(ConfigError::new(format!(
                "signer: token_lifetime ({}s) + leeway_allowance ({}s) must be shorter than \
                 retention ({}s), or tokens could outlive their key's retention window",
                self.lifetime.as_secs(),
                self.allowance.as_secs(),
                self.retention.as_secs()
            )));
        }
        if self.rotate_every.is_some_and(|d| d.is_zero()) || self.max_tokens == Some(0) {
            return Err(ConfigError::new(
                "signer: rotate_every and max_tokens_per_key must be positive",
            ));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new("signer: an audience is empty"));
        }
        Ok((store, issuer, algorithm, kind))
    }

    /// Checks the configuration, then opens the base kid's newest version (or creates the
    /// key).
    ///
    /// # Errors
    /// [`IssuerError::Config`] for a configuration mistake, including an existing key pinned
    /// to another algorithm; store errors (e.g. [`IssuerError::NoPrivateKey`]) otherwise.
    pub fn build(self) -> Result<RotatingSigner, IssuerError> {
        crate::crypto::install_provider();
        let (store, issuer, algorithm, kind) = self.check()?;
        let spec = KeySpec::new(kind)
            .algorithm(algorithm)
            .export_policy(self.export);
        let newest = match &self.base_kid {
            Some(base) => match store.list_versions(base) {
                Ok(mut versions) => versions.pop().ok_or_else(|| IssuerError::not_found(base))?,
                Err(IssuerError::NotFound { .. }) => store.create_key(Some(base), &spec)?,
                Err(e) => return Err(e),
            },
            None => store.create_key(None, &spec)?,
        };
        if newest.spec.algorithm != algorithm {
            return Err(ConfigError::new(format!(
                "signer: key `{}` is pinned to {:?}, the signer is configured for {algorithm:?}",
                newest.id, newest.spec.algorithm
            ))
            .into());
        }
        let key = store.signing_key(&newest.id)?;
        Ok(RotatingSigner {
            inner: Arc::new(Inner {
                base: newest.id.base().to_owned(),
                store,
                algorithm,
                issuer,
                audiences: self.audiences,
                lifetime: self.lifetime,
                max_lifetime: self.retention - self.allowance - Duration::from_secs(1),
                retention_ms: millis(self.retention),
                rotate_every_ms: self.rotate_every.map(millis),
                max_tokens: self.max_tokens,
                publish_max_age: self.publish_max_age,
                clock: self.clock,
                state: Mutex::new(State {
                    key: Arc::new(key),
                    id: newest.id,
                    created_ms: newest.created_at_ms,
                    minted: 0,
                }),
            }),
        })
    }
}

/// Per-token settings for [`RotatingSigner::mint`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MintOptions {
    subject: Option<String>,
    audiences: Vec<String>,
    scope: Option<String>,
    lifetime: Option<Duration>,
    claims: Map<String, Value>,
}

impl MintOptions {
    /// No subject, the signer's audiences, its lifetime, no other claim.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `sub` claim.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// An audience (replaces the signer's defaults); call again for several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The `scope` claim (space-separated scopes).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// This token's lifetime, at most `retention - leeway_allowance - 1 s`.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// Any other claim. The registered claims the signer sets (`iat nbf exp iss sub aud
    /// scope`) are refused at mint time: use the dedicated setters.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// Mints JWTs for one issuer with a key that rotates, and publishes its keys.
///
/// - The algorithm is fixed at build time; tokens carry `kid = base.version`.
/// - Rotation happens at [`mint`](Self::mint) when the current version is older than
///   `rotate_every` or has signed `max_tokens_per_key` tokens, or on
///   [`force_rotate`](Self::force_rotate).
/// - A retired version stays in [`key_source`](Self::key_source)'s set for `retention`
///   after its successor was created; [`LocalVerifier`](super::LocalVerifier) enforces the same window at verify
///   time.
///
/// `Clone` is cheap (one `Arc`). Minting takes a short lock; a rotation happens under it
/// (key generation, a store write).
#[derive(Clone)]
pub struct RotatingSigner {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn KeyStore>,
    base: String,
    algorithm: Algorithm,
    issuer: String,
    audiences: Vec<String>,
    lifetime: Duration,
    max_lifetime: Duration,
    retention_ms: i64,
    rotate_every_ms: Option<i64>,
    max_tokens: Option<u64>,
    publish_max_age: Duration,
    clock: SharedClock,
    state: Mutex<State>,
}

struct State {
    key: Arc<SigningKey>,
    id: KeyId,
    created_ms: i64,
    minted: u64,
}

impl fmt::Debug for RotatingSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingSigner")
            .field("current", &self.current_kid())
            .field("algorithm", &self.inner.algorithm)
            .field("issuer", &self.inner.issuer)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl RotatingSigner {
    /// A builder with the defaults listed on [`RotatingSignerBuilder`].
    pub fn builder() -> RotatingSignerBuilder {
        RotatingSignerBuilder {
            store: None,
            base_kid: None,
            kind: None,
            algorithm: None,
            export: ExportPolicy::PublicOnly,
            issuer: None,
            audiences: Vec::new(),
            lifetime: Duration::from_secs(3600),
            retention: Duration::from_secs(24 * 3600),
            allowance: Duration::from_secs(300),
            rotate_every: None,
            max_tokens: None,
            publish_max_age: Duration::from_secs(300),
            clock: SharedClock::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // State is replaced in one assignment; a poisoned lock still holds a consistent one.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kid new tokens are stamped with.
    #[must_use]
    pub fn current_kid(&self) -> KeyId {
        self.state().id.clone()
    }

    /// The signing algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// The issuer (`iss`).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The key store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.inner.store
    }

    /// Signs a token: `iat` and `nbf` now, `exp` after the lifetime, `iss`, `sub`, `aud`,
    /// `scope` and extra claims from `options`, header `{alg, kid: "base.version", typ}`.
    /// Rotates first when a rotation is due.
    ///
    /// # Errors
    /// [`IssuerError::Mint`] for a reserved claim in `options` or a lifetime of 0 or beyond
    /// `retention - leeway_allowance - 1 s`; store errors from a rotation.
    pub fn mint(&self, options: &MintOptions) -> Result<String, IssuerError> {
        let inner = &*self.inner;
        if let Some(name) = RESERVED_CLAIMS
            .iter()
            .find(|c| options.claims.contains_key(**c))
        {
            return Err(IssuerError::Mint(format!(
                "claim `{name}` is set by the signer; use the MintOptions setter"
            )));
        }
        let lifetime = options.lifetime.unwrap_or(inner.lifetime);
        if lifetime.is_zero() || lifetime > inner.max_lifetime {
            return Err(IssuerError::Mint(format!(
                "lifetime {}s is outside 1..={}s (retention - leeway_allowance - 1s)",
                lifetime.as_secs(),
                inner.max_lifetime.as_secs()
            )));
        }
        let (key, now_ms) = {
            let mut state = self.state();
            let now_ms = inner.clock.now_millis();
            let old = inner
                .rotate_every_ms
                .is_some_and(|every| now_ms >= state.created_ms.saturating_add(every));
            let used = inner.max_tokens.is_some_and(|max| state.minted >= max);
            if old || used {
                self.rotate_locked(&mut state)?;
            }
            state.minted += 1;
            (Arc::clone(&state.key), now_ms)
        };
        let now = now_ms.div_euclid(1000);
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        let mut claims = options.claims.clone();
        claims.insert("iss".into(), inner.issuer.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), now.into());
        claims.insert("exp".into(), now.saturating_add(lifetime).into());
        if let Some(sub) = &options.subject {
            claims.insert("sub".into(), sub.clone().into());
        }
        let audiences = if options.audiences.is_empty() {
            &inner.audiences
        } else {
            &options.audiences
        };
        match audiences.as_slice() {
            [] => {}
            [one] => {
                claims.insert("aud".into(), one.clone().into());
            }
            many => {
                claims.insert("aud".into(), many.to_vec().into());
            }
        }
        if let Some(scope) = &options.scope {
            claims.insert("scope".into(), scope.clone().into());
        }
        key.sign(&claims)
    }

    /// Rotates now, whatever the schedule; returns the new current kid.
    ///
    /// # Errors
    /// Store errors.
    pub fn force_rotate(&self) -> Result<KeyId, IssuerError> {
        let mut state = self.state();
        self.rotate_locked(&mut state)?;
        Ok(state.id.clone())
    }

    fn rotate_locked(&self, state: &mut State) -> Result<(), IssuerError> {
        let info = self.inner.store.rotate_key(&self.inner.base)?;
        let key = self.inner.store.signing_key(&info.id)?;
        if key.algorithm() != self.inner.algorithm {
            return Err(IssuerError::InvalidKey(format!(
                "rotated key `{}` is pinned to {:?}, not {:?}",
                info.id,
                key.algorithm(),
                self.inner.algorithm
            )));
        }
        tracing::info!(kid = %info.id, "jwks-auth: signing key rotated");
        *state = State {
            key: Arc::new(key),
            id: info.id,
            created_ms: info.created_at_ms,
            minted: 0,
        };
        Ok(())
    }

    /// The versions a verifier may use at `now_ms`: the current one, every newer one, and
    /// each older one whose retention window (from its successor's creation) is still open.
    /// Also returns when the next retained version leaves the set.
    fn published(&self, now_ms: i64) -> Result<(Vec<KeyInfo>, Option<i64>), IssuerError> {
        let current = self.current_kid();
        let versions = self.inner.store.list_versions(&self.inner.base)?;
        let mut out = Vec::new();
        let mut next_drop: Option<i64> = None;
        let mut successor_created: Option<i64> = None;
        for info in versions.into_iter().rev() {
            let created = info.created_at_ms;
            let keep = match successor_created {
                None => true,
                Some(_) if info.id.version() >= current.version() => true,
                Some(retired) => {
                    let ends = retired.saturating_add(self.inner.retention_ms);
                    let open = now_ms < ends;
                    if open {
                        next_drop = Some(next_drop.map_or(ends, |d| d.min(ends)));
                    }
                    open
                }
            };
            successor_created = Some(successor_created.map_or(created, |s| s.min(created)));
            if keep {
                out.push(info);
            }
        }
        Ok((out, next_drop))
    }

    /// Whether a token naming `kid` may be verified now: `kid` must be exactly
    /// `base.version` of a published version of this signer, or (a kid naming no version)
    /// this signer's bare base, which means its newest version. Another base or an unknown
    /// version never matches another version.
    #[must_use]
    pub fn accepts_kid(&self, kid: &str) -> bool {
        match KeyRef::parse(kid) {
            Ok(KeyRef::Exact(id)) => {
                id.base() == self.inner.base
                    && self
                        .published(self.inner.clock.now_millis())
                        .is_ok_and(|(infos, _)| infos.iter().any(|i| i.id == id))
            }
            Ok(KeyRef::Newest(base)) => base == self.inner.base,
            Err(_) => false,
        }
    }

    /// The current and retained public keys, as a [`KeySource`](crate::jwks::KeySource) for a [`JwksVerifier`] or the
    /// [`JwksPublisher`](super::JwksPublisher). HMAC signers publish an empty set.
    pub fn key_source(&self) -> SignerKeys {
        SignerKeys::new(self.clone())
    }

    /// A verifier builder preset for this signer's tokens: its key source, issuer and clock.
    /// Add the audience (or `any_audience`) and build.
    pub fn verifier_builder(&self) -> JwksVerifierBuilder {
        JwksVerifier::builder()
            .key_source(self.key_source())
            .issuer(self.inner.issuer.clone())
            .versioned_kids(true)
            .clock(ClockHandle(self.inner.clock.clone()))
    }

    pub(crate) fn document(&self, previous: Option<&Validators>) -> Result<Fetched, FetchError> {
        let now = self.inner.clock.now_millis();
        let (infos, next_drop) = self
            .published(now)
            .map_err(|e| FetchError::transient(format!("local key store: {e}")))?;
        let mut keys = Vec::new();
        for info in infos.iter().filter(|i| !i.spec.kind.is_symmetric()) {
            let jwk = self
                .inner
                .store
                .public_jwk(&info.id)
                .map_err(|e| FetchError::transient(format!("local key store: {e}")))?;
            keys.push(jwk);
        }
        let until_drop =
            next_drop.map(|t| Duration::from_millis(u64::try_from(t - now).unwrap_or(0).max(1000)));
        let max_age = until_drop.map_or(self.inner.publish_max_age, |d| {
            d.min(self.inner.publish_max_age)
        });
        Ok(answer(keys, Some(max_age), previous))
    }
}
