//! [`RotatingSignerBuilder`]: the signer's settings, checked before its key is opened.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::algorithms::Algorithm;

use super::IssuerError;
use super::keyring::KeyRing;
use super::kind::KeyKind;
use super::signer::{Inner, RotatingSigner, State};
use super::store::{ExportPolicy, KeySpec};
use crate::clock::{Clock, SharedClock, millis};
use crate::error::ConfigError;
use crate::jwks::MAX_KEYS;

/// Builds a [`RotatingSigner`].
///
/// | setting | default |
/// |---|---|
/// | [`algorithm`](Self::algorithm) | RS256 (or the [`key_kind`](Self::key_kind)'s algorithm) |
/// | [`key_kind`](Self::key_kind) (for a new key) | the smallest kind fitting the algorithm |
/// | [`token_lifetime`](Self::token_lifetime) | 1 h |
/// | [`retention`](Self::retention) | 24 h |
/// | [`leeway_allowance`](Self::leeway_allowance) | 5 min (the largest leeway a [`JwksVerifier`](crate::JwksVerifier) accepts) |
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
    keys: Option<KeyRing>,
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
    /// The key ring holding the signer's versions (required): e.g.
    /// `KeyRing::new(FileStore::open(dir)?)`.
    pub fn key_ring(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
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

    /// An audience put in tokens whose [`MintOptions`](super::MintOptions) name none; call again for several.
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

    /// Rotate when the current version is this old (checked at each mint). [`build`](Self::build)
    /// refuses a period that would publish more than [`MAX_KEYS`](crate::jwks::MAX_KEYS)
    /// versions within one retention window.
    pub fn rotate_every(mut self, every: Duration) -> Self {
        self.rotate_every = Some(every);
        self
    }

    /// Rotate after this many tokens signed by the current version. The count lives in
    /// memory: a restart starts it again.
    ///
    /// Versions past their retention window are pruned at each rotation. A rotation that
    /// would publish more than [`MAX_KEYS`](crate::jwks::MAX_KEYS) versions at once (the
    /// most a verifier takes from one set) is refused: the mint fails with
    /// [`IssuerError::Mint`] until old versions leave their window, rather than publish a
    /// set whose oldest keys verifiers would drop.
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
    /// key ring the same clock ([`KeyRing::with_clock`]): creation times come from the ring.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock(Arc::new(clock));
        self
    }

    fn check(&self) -> Result<(KeyRing, String, Algorithm, KeyKind), ConfigError> {
        let store = self.keys.clone().ok_or_else(|| {
            ConfigError::new("signer: no key store: call .key_ring(KeyRing::new(store))")
        })?;
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
        if let Some(every) = self.rotate_every.filter(|d| !d.is_zero()) {
            // Versions published at once: the current one and every one retired within the
            // last `retention`.
            let live = self.retention.as_millis().div_ceil(every.as_millis()) + 1;
            if live > MAX_KEYS as u128 {
                return Err(ConfigError::new(format!(
                    "signer: rotate_every ({}s) with retention ({}s) publishes up to {live} \
                     versions at once, over the {MAX_KEYS} keys a verifier takes from one set: \
                     rotate less often or shorten retention",
                    every.as_secs(),
                    self.retention.as_secs()
                )));
            }
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

impl RotatingSigner {
    /// A builder with the defaults listed on [`RotatingSignerBuilder`].
    pub fn builder() -> RotatingSignerBuilder {
        RotatingSignerBuilder {
            keys: None,
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
}
