//! The verifier: token -> key -> signature -> claims policy -> [`User`].

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::SharedClock;
use crate::error::AuthError;
use crate::jwks::cache::{CacheStatus, Freshness, KeyCache, Trigger};
use crate::jwks::keyset::{KeySet, Selection, VerifyKey};
use crate::jwt::{self, Compact};
use crate::token_cache::{CachedToken, TokenCache};
use crate::user::User;

use crate::builder::JwksVerifierBuilder;

/// Verifies JWTs against a cached JSON Web Key Set.
///
/// Cheap to clone (one `Arc`); build one per key source and share it. See
/// [`JwksVerifier::builder`] for the settings and their defaults.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use jwks_auth::JwksVerifier;
/// let verifier = JwksVerifier::builder()
///     .jwks_url("https://idp.example.com/.well-known/jwks.json")
///     .issuer("https://idp.example.com")
///     .audience("my-api")
///     .build()?;
/// let user = verifier.verify("eyJ...").await?;
/// println!("hello {:?}", user.sub());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksVerifier {
    pub(crate) inner: Arc<Inner>,
}

/// Claim checks applied to every token, after the signature.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway_secs: i64,
    pub(crate) required_claims: Vec<String>,
    pub(crate) max_token_len: usize,
    pub(crate) allow_missing_kid: bool,
}

pub(crate) struct Inner {
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) policy: Policy,
    pub(crate) clock: SharedClock,
    pub(crate) token_cache: Option<TokenCache>,
}

/// The result of the synchronous part of verification.
pub(crate) enum Attempt {
    /// Decided without waiting.
    Done(Result<User, AuthError>),
    /// The key set must be fetched or refreshed first: go async.
    NeedsKeys,
}

impl JwksVerifier {
    /// Starts a builder. Defaults: asymmetric algorithms only, 30 s leeway, 15 min TTL,
    /// 30 s unknown-kid cooldown, 24 h max stale, 5 s HTTP timeout with 2 retries, 1 MiB JWKS
    /// cap, 16 KiB token cap, a 10,000-entry verified-token cache.
    #[must_use]
    pub fn builder() -> JwksVerifierBuilder {
        JwksVerifierBuilder::default()
    }

    /// Verifies a token (without any `Bearer ` prefix) and returns its user.
    ///
    /// Waits for the key set only when it must: on the first use, for an unknown kid outside
    /// the cooldown, or when the cached set is past `max_stale`.
    ///
    /// # Errors
    /// An [`AuthError`]: invalid token (401), or keys unavailable (503).
    pub async fn verify(&self, token: &str) -> Result<User, AuthError> {
        match self.verify_now(token) {
            Attempt::Done(result) => result,
            Attempt::NeedsKeys => self.verify_after_refresh(token).await,
        }
    }

    /// Forces a key set refresh now (ignores the cooldown and failure backoff), joining one
    /// already in flight.
    ///
    /// # Errors
    /// [`crate::AuthErrorKind::KeysUnavailable`] when the fetch fails and no set was ever
    /// obtained.
    pub async fn refresh(&self) -> Result<(), AuthError> {
        let observed = self.inner.keys.load().as_ref().map_or(0, |s| s.generation);
        self.inner
            .keys
            .refresh(observed, Trigger::Forced)
            .await
            .map(|_| ())
    }

    /// The current key set as a public JWKS document (`None` before the first fetch).
    #[must_use]
    pub fn jwks(&self) -> Option<Value> {
        self.inner.keys.load().as_ref().map(|s| s.keys.to_jwks())
    }

    /// A status snapshot of the key cache: freshness, age, last error, counters.
    #[must_use]
    pub fn status(&self) -> CacheStatus {
        self.inner.keys.status()
    }

    /// The synchronous path: everything that can be decided without awaiting.
    pub(crate) fn verify_now(&self, token: &str) -> Attempt {
        let inner = &*self.inner;
        let now = inner.clock.now_millis();
        let cache_key = inner.token_cache.as_ref().map(|c| c.key(token));
        if let (Some(cache), Some(key)) = (&inner.token_cache, &cache_key) {
            if let Some(hit) = cache.get(key) {
                match self.reuse(&hit, now) {
                    Some(result) => return Attempt::Done(result),
                    None => cache.remove(key),
                }
            }
        }
        let mut header_buf = Vec::new();
        let compact = match jwt::parse(token, inner.policy.max_token_len, &mut header_buf) {
            Ok(c) => c,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let guard = inner.keys.load();
        let Some(snap) = guard.as_ref() else {
            return Attempt::NeedsKeys;
        };
        match inner.keys.freshness(snap, now) {
            Freshness::Fresh => {}
            Freshness::RefreshAhead => inner.keys.refresh_in_background(snap, now),
            Freshness::Stale => {
                inner.keys.note_stale_use();
                inner.keys.refresh_in_background(snap, now);
            }
            Freshness::Expired => return Attempt::NeedsKeys,
        }
        match self.select(&snap.keys, &compact) {
            Selection::Found(key) => {
                let result = self.check(&compact, key, now);
                Attempt::Done(result.map(|(user, cached)| {
                    if let (Some(cache), Some(k)) = (&inner.token_cache, cache_key) {
                        cache.insert(k, cached);
                    }
                    user
                }))
            }
            Selection::Refused(why) => Attempt::Done(Err(AuthError::invalid(why))),
            Selection::UnknownKid if inner.keys.refuse_unknown_kid_now(now) => {
                Attempt::Done(Err(AuthError::invalid("unknown key id")))
            }
            Selection::UnknownKid => Attempt::NeedsKeys,
        }
    }

    /// The slow path: refresh (single-flight) and try once more against the new set.
    async fn verify_after_refresh(&self, token: &str) -> Result<User, AuthError> {
        let inner = &*self.inner;
        let (observed, trigger) = match inner.keys.load_full_generation() {
            None => (0, Trigger::NoKeys),
            Some((generation, expired)) if expired => (generation, Trigger::NoKeys),
            Some((generation, _)) => (generation, Trigger::UnknownKid),
        };
        let snap = inner.keys.refresh(observed, trigger).await?;
        let now = inner.clock.now_millis();
        if inner.keys.freshness(&snap, now) == Freshness::Expired {
            return Err(inner.keys.unavailable_error(now));
        }
        let mut header_buf = Vec::new();
        let compact = jwt::parse(token, inner.policy.max_token_len, &mut header_buf)?;
        match self.select(&snap.keys, &compact) {
            Selection::Found(key) => {
                let (user, cached) = self.check(&compact, key, now)?;
                if let Some(cache) = &inner.token_cache {
                    cache.insert(cache.key(token), cached);
                }
                Ok(user)
            }
            Selection::Refused(why) => Err(AuthError::invalid(why)),
            Selection::UnknownKid => Err(AuthError::invalid("unknown key id")),
        }
    }

    fn select<'k>(&self, keys: &'k KeySet, compact: &Compact<'_>) -> Selection<'k> {
        keys.select(
            compact.kid.as_deref(),
            compact.alg,
            self.inner.policy.allow_missing_kid,
        )
    }

    /// A cached verification, if it still holds: within exp/nbf and its key still published.
    fn reuse(&self, hit: &CachedToken, now_ms: i64) -> Option<Result<User, AuthError>> {
        let now = now_ms.div_euclid(1000);
        if let Err(e) = self.check_times(hit.exp, hit.nbf, now) {
            return Some(Err(e));
        }
        let guard = self.inner.keys.load();
        let snap = guard.as_ref()?;
        match self.inner.keys.freshness(snap, now_ms) {
            Freshness::Expired => return None,
            Freshness::Stale => {
                self.inner.keys.note_stale_use();
                self.inner.keys.refresh_in_background(snap, now_ms);
            }
            Freshness::RefreshAhead => self.inner.keys.refresh_in_background(snap, now_ms),
            Freshness::Fresh => {}
        }
        snap.keys
            .contains(hit.kid.as_deref(), &hit.fingerprint)
            .then(|| Ok(hit.user.clone()))
    }

    /// Signature, then claims. Returns the user and what the token cache needs to re-check.
    fn check(
        &self,
        compact: &Compact<'_>,
        key: &VerifyKey,
        now_ms: i64,
    ) -> Result<(User, CachedToken), AuthError> {
        verify_signature(compact, key)?;
        let claims = jwt::decode_payload(compact.payload)?;
        let (exp, nbf) = self.check_claims(&claims, now_ms.div_euclid(1000))?;
        let user = User::new(Value::Object(claims), false);
        let cached = CachedToken {
            user: user.clone(),
            kid: key.kid.clone(),
            fingerprint: key.fingerprint,
            exp,
            nbf,
        };
        Ok((user, cached))
    }

    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<(i64, Option<i64>), AuthError> {
        let policy = &self.inner.policy;
        let exp = jwt::numeric_date(claims, "exp")?
            .ok_or(AuthError::invalid("missing exp claim"))?;
        let nbf = jwt::numeric_date(claims, "nbf")?;
        jwt::numeric_date(claims, "iat")?;
        self.check_times(exp, nbf, now)?;
        if let Some(expected) = &policy.issuer {
            match claims.get("iss") {
                Some(Value::String(iss)) if iss == expected => {}
                _ => return Err(AuthError::invalid("issuer mismatch")),
            }
        }
        if !policy.audiences.is_empty() && !audience_matches(claims.get("aud"), &policy.audiences)
        {
            return Err(AuthError::invalid("audience mismatch"));
        }
        for name in &policy.required_claims {
            if !claims.contains_key(name) {
                return Err(AuthError::invalid("missing required claim"));
            }
        }
        Ok((exp, nbf))
    }

    /// `exp` and `nbf` against `now` with leeway: valid while `now <= exp + leeway` and
    /// `nbf - leeway <= now`.
    fn check_times(&self, exp: i64, nbf: Option<i64>, now: i64) -> Result<(), AuthError> {
        let leeway = self.inner.policy.leeway_secs;
        if now > exp.saturating_add(leeway) {
            return Err(AuthError::invalid("token expired"));
        }
        if nbf.is_some_and(|nbf| now < nbf.saturating_sub(leeway)) {
            return Err(AuthError::invalid("token not yet valid"));
        }
        Ok(())
    }
}

fn verify_signature(compact: &Compact<'_>, key: &VerifyKey) -> Result<(), AuthError> {
    // `select` already pinned the alg to the key; HS* never reaches a remote key.
    debug_assert!(key.algorithms.contains(compact.alg));
    match jsonwebtoken::crypto::verify(
        compact.signature,
        compact.signing_input.as_bytes(),
        &key.key,
        compact.alg,
    ) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(AuthError::invalid("invalid signature")),
    }
}

/// `aud` is a string or a non-empty array of strings; one of them must be expected.
fn audience_matches(aud: Option<&Value>, expected: &[String]) -> bool {
    match aud {
        Some(Value::String(aud)) => expected.iter().any(|e| e == aud),
        Some(Value::Array(list)) if !list.is_empty() => {
            list.iter().all(Value::is_string)
                && list
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|aud| expected.iter().any(|e| e == aud))
        }
        _ => false,
    }
}

impl fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("keys", &self.inner.keys)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audience_is_any_of_and_strict_about_shapes() {
        let expected = vec!["api".to_string(), "other".to_string()];
        assert!(audience_matches(Some(&json!("api")), &expected));
        assert!(audience_matches(Some(&json!(["x", "other"])), &expected));
        assert!(!audience_matches(Some(&json!(["x"])), &expected));
        assert!(!audience_matches(Some(&json!([])), &expected));
        assert!(!audience_matches(Some(&json!([1])), &expected));
        assert!(!audience_matches(Some(&json!(["api", 1])), &expected));
        assert!(!audience_matches(Some(&json!(7)), &expected));
        assert!(!audience_matches(None, &expected));
    }
}
