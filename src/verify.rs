//! Verification for one issuer, top to bottom: token -> (verified-token cache) -> JOSE header
//! -> key -> signature -> claims -> policy -> [`User`].
//!
//! This is the hot path. On a known key it takes no lock, parses no JWK, builds no
//! `Validation`, and awaits nothing. When the key set must be fetched first, the synchronous
//! attempt hands what it learnt (header, token cache slot) to the slow path in a [`Pending`],
//! so nothing is parsed or hashed twice.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tracing::Instrument;
use tracing::field::Empty;

use crate::algorithms::{Algorithm, Algorithms};
use crate::claims::{self, NumericDate};
use crate::clock::SharedClock;
use crate::error::{AuthError, AuthReason};
use crate::jwks::cache::{KeyCache, Trigger};
use crate::jwks::keyset::{Candidates, KeySet, Selection, VerifyKey};
use crate::jwt::{self, Compact};
use crate::policy::Policy;
use crate::rules::IssuerRule;
use crate::token_cache::{CachedToken, TokenCache, TokenKey};
use crate::user::User;

/// Everything needed to verify one issuer's tokens.
pub(crate) struct IssuerVerifier {
    pub(crate) keys: Arc<KeyCache>,
    /// Locally configured HMAC secrets: the only keys HS* tokens are ever checked against.
    pub(crate) hmac_keys: Vec<VerifyKey>,
    pub(crate) policy: Policy,
    pub(crate) clock: SharedClock,
    pub(crate) token_cache: Option<TokenCache>,
}

/// The result of the synchronous part of verification.
pub(crate) enum Attempt {
    /// Decided without waiting, without the verified-token cache's help.
    Done(Result<User, AuthError>),
    /// Decided from the verified-token cache.
    Cached(Result<User, AuthError>),
    /// The key set must be fetched or refreshed first: go async with what was learnt.
    NeedsKeys(Pending),
}

/// What the synchronous attempt learnt about a token whose key set must be fetched first:
/// its checked JOSE header and its slot in the verified-token cache.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Which issuer of a multi-issuer verifier the token was routed to.
    route: usize,
    alg: Algorithm,
    kid: Option<Box<str>>,
    typ: Option<Box<str>>,
    cache_key: Option<TokenKey>,
    /// The key set generation the attempt saw (0: none). A refresh finished since then is
    /// used as it is, not fetched again: many requests that found no keys at once share one
    /// fetch even when some of them reach the slow path only after it completed.
    observed: u64,
}

impl Pending {
    pub(crate) fn routed(self, route: usize) -> Self {
        Self { route, ..self }
    }

    pub(crate) fn route(&self) -> usize {
        self.route
    }

    /// The compact form again, from the token it was learnt from: only the split, no decode.
    fn compact<'a>(&'a self, token: &'a str) -> Result<Compact<'a>, AuthError> {
        let (signing_input, payload, signature) = jwt::split(token)?;
        Ok(Compact {
            alg: self.alg,
            kid: self.kid.as_deref().map(Into::into),
            typ: self.typ.as_deref().map(Into::into),
            signing_input,
            payload,
            signature,
        })
    }
}

impl IssuerVerifier {
    /// The synchronous path: everything that can be decided without awaiting. No span here (a
    /// span costs more than a cached verification): one `debug` event, built only when a
    /// subscriber wants it.
    pub(crate) fn verify_now(&self, token: &str) -> Attempt {
        let attempt = self.attempt_now(token);
        if let Attempt::Done(result) | Attempt::Cached(result) = &attempt
            && tracing::enabled!(tracing::Level::DEBUG)
        {
            let (outcome, reason) = outcome(result);
            tracing::debug!(
                issuer = self.policy.issuer.as_ref().and_then(IssuerRule::single),
                outcome,
                reason,
                "jwks-auth: verified without waiting"
            );
        }
        attempt
    }

    fn attempt_now(&self, token: &str) -> Attempt {
        if token.len() > self.policy.max_token_len {
            // Before hashing it for the token cache: an oversized token costs nothing.
            return Attempt::Done(Err(AuthError::new(AuthReason::TokenTooLarge)));
        }
        let now = self.clock.now();
        let cache_key = self.token_cache.as_ref().map(|c| c.key(token));
        if let (Some(cache), Some(key)) = (&self.token_cache, cache_key) {
            let reused = cache.get(key, token).and_then(|hit| {
                let reused = self.reuse(&hit.verified, now);
                if reused.is_none() {
                    cache.remove(key, &hit);
                }
                reused
            });
            if let Some(result) = reused {
                return Attempt::Cached(result.and_then(|u| self.authorize(u)));
            }
        }
        let mut header_buf = Vec::new();
        let compact = match jwt::parse(token, self.policy.max_token_len, &mut header_buf) {
            Ok(c) => c,
            Err(e) => return Attempt::Done(Err(e)),
        };
        if let Err(e) = self.policy.check_header(&compact) {
            return Attempt::Done(Err(e));
        }
        if Algorithms::HMAC.contains(compact.alg) {
            return Attempt::Done(self.verify_hmac(&compact, now));
        }
        let needs_keys = |observed| {
            Attempt::NeedsKeys(Pending {
                route: 0,
                alg: compact.alg,
                kid: compact.kid.as_deref().map(Into::into),
                typ: compact.typ.as_deref().map(Into::into),
                cache_key,
                observed,
            })
        };
        let guard = self.keys.load();
        let Some(snap) = guard.as_ref() else {
            return needs_keys(0);
        };
        if !self.keys.usable(snap) {
            return needs_keys(snap.generation);
        }
        match self.select(&snap.keys, &compact) {
            Selection::Found(keys) => {
                Attempt::Done(self.finish(token, &compact, keys, now, cache_key))
            }
            Selection::Refused(why) => Attempt::Done(Err(AuthError::new(why))),
            Selection::UnknownKid if self.keys.refuse_unknown_kid_now() => {
                Attempt::Done(Err(AuthError::new(AuthReason::UnknownKeyId)))
            }
            Selection::UnknownKid => needs_keys(snap.generation),
        }
    }

    /// The slow path: refresh (single-flight) and try once more against the new set, in a
    /// `debug` span that the key-set fetch it waits for (if it started it) nests under.
    pub(crate) async fn verify_after_refresh(
        &self,
        token: &str,
        pending: Pending,
    ) -> Result<User, AuthError> {
        let span = tracing::debug_span!(
            "jwks_auth.verify",
            issuer = self.policy.issuer.as_ref().and_then(IssuerRule::single),
            kid = Empty,
            alg = pending.alg.as_str(),
            outcome = Empty,
            reason = Empty,
        );
        // The kid is the token's text until a key set names it: recorded only then, so that a
        // forged header cannot write into the logs.
        let kid = pending.kid.clone();
        let result = self
            .refresh_and_verify(token, pending)
            .instrument(span.clone())
            .await;
        if !span.is_disabled() {
            let published = kid.as_deref().filter(|kid| {
                self.keys
                    .load()
                    .as_ref()
                    .is_some_and(|snap| snap.keys.kids().any(|k| k == *kid))
            });
            if let Some(kid) = published {
                span.record("kid", kid);
            }
            let (outcome, reason) = outcome(&result);
            span.record("outcome", outcome);
            span.record("reason", reason);
        }
        result
    }

    async fn refresh_and_verify(&self, token: &str, pending: Pending) -> Result<User, AuthError> {
        let trigger = match self.keys.load_full_generation() {
            None | Some((_, true)) => Trigger::NoKeys,
            Some((_, false)) => Trigger::UnknownKid,
        };
        let snap = self
            .keys
            .refresh(pending.observed, trigger, pending.kid.as_deref())
            .await?;
        let now = self.clock.now();
        let compact = pending.compact(token)?;
        match self.select(&snap.keys, &compact) {
            Selection::Found(keys) => self.finish(token, &compact, keys, now, pending.cache_key),
            Selection::Refused(why) => Err(AuthError::new(why)),
            Selection::UnknownKid => Err(AuthError::new(AuthReason::UnknownKeyId)),
        }
    }

    fn select<'k>(&self, keys: &'k KeySet, compact: &Compact<'_>) -> Selection<'k> {
        keys.select(
            compact.kid.as_deref(),
            compact.alg,
            self.policy.allow_missing_kid,
        )
    }

    /// HS* tokens are checked only against locally configured secrets, never a key set.
    fn verify_hmac(&self, compact: &Compact<'_>, now: NumericDate) -> Result<User, AuthError> {
        let kid = compact.kid.as_deref();
        let mut fitting = self
            .hmac_keys
            .iter()
            .filter(|k| k.algorithms.contains(compact.alg))
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid);
        let key = match (fitting.next(), fitting.next()) {
            (Some(key), None) if kid.is_some() || self.policy.allow_missing_kid => key,
            (None, _) => return Err(AuthError::new(AuthReason::AlgorithmNotAllowed)),
            _ => return Err(AuthError::new(AuthReason::MissingKeyId)),
        };
        // Not cached: HMAC verification is cheaper than a cache round trip would save.
        self.check(compact, std::iter::once(key), now)
            .map(|(user, _)| user)
            .and_then(|u| self.authorize(u))
    }

    /// Verify, cache the success, apply the authorization policy.
    fn finish(
        &self,
        token: &str,
        compact: &Compact<'_>,
        keys: Candidates<'_>,
        now: NumericDate,
        cache_key: Option<TokenKey>,
    ) -> Result<User, AuthError> {
        let (user, cached) = self.check(compact, keys.iter(), now)?;
        if let (Some(cache), Some(k)) = (&self.token_cache, cache_key) {
            cache.insert(k, token, cached);
        }
        self.authorize(user)
    }

    /// The policy that can refuse a valid token (403).
    fn authorize(&self, user: User) -> Result<User, AuthError> {
        self.policy.authorize(&user)?;
        Ok(user)
    }

    /// A cached verification, if it still holds: within exp/nbf and its key still published.
    fn reuse(&self, hit: &CachedToken, now: NumericDate) -> Option<Result<User, AuthError>> {
        if let Err(e) = self.policy.check_times(hit.exp, hit.nbf, now) {
            return Some(Err(e));
        }
        let guard = self.keys.load();
        let snap = guard.as_ref()?;
        if !self.keys.usable(snap) {
            return None;
        }
        snap.keys
            .contains(hit.kid.as_deref(), &hit.fingerprint)
            .then(|| Ok(hit.user.clone()))
    }

    /// Signature (against each candidate key in turn, first that verifies wins), then claims.
    /// Returns the user and what the token cache needs to re-check.
    fn check<'k>(
        &self,
        compact: &Compact<'_>,
        keys: impl IntoIterator<Item = &'k VerifyKey>,
        now: NumericDate,
    ) -> Result<(User, CachedToken), AuthError> {
        let key = keys
            .into_iter()
            .find(|key| verify_signature(compact, key))
            .ok_or(AuthError::new(AuthReason::InvalidSignature))?;
        let claims = claims::decode(compact.payload)?;
        let (exp, nbf) = self.policy.check_claims(&claims, now)?;
        let user = User::new(Value::Object(claims), false);
        let cached = CachedToken {
            user: user.clone(),
            kid: key.kid.clone(),
            fingerprint: key.fingerprint,
            exp,
            nbf,
            // Base64url: 4 characters for 3 bytes of JSON.
            weight: CachedToken::weight(compact.payload.len() / 4 * 3),
        };
        Ok((user, cached))
    }
}

/// The `outcome` and `reason` of a verification, as the metrics name them.
fn outcome(result: &Result<User, AuthError>) -> (&'static str, &'static str) {
    match result {
        Ok(_) => ("accepted", "none"),
        Err(e) if e.kind() == crate::error::AuthErrorKind::KeysUnavailable => {
            ("unavailable", e.reason().code())
        }
        Err(e) => ("refused", e.reason().code()),
    }
}

fn verify_signature(compact: &Compact<'_>, key: &VerifyKey) -> bool {
    // `select` already pinned the alg to the key; HS* never reaches a remote key.
    debug_assert!(key.algorithms.contains(compact.alg));
    crate::crypto::verify(
        &key.key,
        compact.alg,
        compact.signing_input.as_bytes(),
        compact.signature,
    )
}

impl fmt::Debug for IssuerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerVerifier")
            .field("keys", &self.keys)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
