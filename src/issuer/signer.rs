//! [`RotatingSigner`]: mints JWTs with a fixed algorithm, rotating its key by time or count.
//! Its builder is in `signer_builder.rs`, what it publishes in `published.rs`.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::algorithms::Algorithm;
use serde_json::{Map, Value};

use super::IssuerError;
use super::keyring::KeyRing;
use super::kid::KeyId;
use super::signing::SigningKey;
use super::store::KeyInfo;
use crate::clock::SharedClock;
use crate::jwks::MAX_KEYS;

/// Claims only the signer sets.
const RESERVED_CLAIMS: [&str; 7] = ["iat", "nbf", "exp", "iss", "sub", "aud", "scope"];

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
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) store: KeyRing,
    pub(super) base: String,
    pub(super) algorithm: Algorithm,
    pub(super) issuer: String,
    pub(super) audiences: Vec<String>,
    pub(super) lifetime: Duration,
    pub(super) max_lifetime: Duration,
    pub(super) retention_ms: i64,
    pub(super) rotate_every_ms: Option<i64>,
    pub(super) max_tokens: Option<u64>,
    pub(super) publish_max_age: Duration,
    pub(super) clock: SharedClock,
    pub(super) state: Mutex<State>,
}

pub(super) struct State {
    pub(super) key: Arc<SigningKey>,
    pub(super) id: KeyId,
    pub(super) created_ms: i64,
    pub(super) minted: u64,
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
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
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

    /// The key ring.
    #[must_use]
    pub fn key_ring(&self) -> &KeyRing {
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
        let base = &self.inner.base;
        let now_ms = self.inner.clock.now_millis();
        let (live, _) = self.published_at(&state.id, now_ms)?;
        // Every live version stays published until its tokens expire; one more must still fit
        // in what a verifier takes from one set, or tokens would be refused as "unknown key".
        if live.len() >= MAX_KEYS {
            return Err(IssuerError::Mint(format!(
                "rotating `{base}` would publish {} versions, over the {MAX_KEYS} keys a \
                 verifier takes from one set: raise max_tokens_per_key or shorten retention \
                 (the signer rotates again once old versions leave their retention window)",
                live.len() + 1
            )));
        }
        let info = self.inner.store.rotate_key(base)?;
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
        // Versions past their retention window are never published again: drop them, so the
        // store does not grow with every rotation. A failure only delays the cleanup.
        let retired = state.id.version();
        let keep = |v: u32| v >= retired || live.iter().any(|i| i.id.version() == v);
        if let Err(e) = self.inner.store.prune(base, keep) {
            tracing::warn!(base = %base, error = %e, "jwks-auth: pruning expired key versions failed");
        }
        *state = State {
            key: Arc::new(key),
            id: info.id,
            created_ms: info.created_at_ms,
            minted: 0,
        };
        Ok(())
    }

    /// The versions a verifier may use at `now_ms` given the `current` one: the current one,
    /// every newer one, and each older one whose retention window (from its successor's
    /// creation) is still open. Also returns when the next retained version leaves the set.
    pub(super) fn published_at(
        &self,
        current: &KeyId,
        now_ms: i64,
    ) -> Result<(Vec<KeyInfo>, Option<i64>), IssuerError> {
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
}
