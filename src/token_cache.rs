//! The verified-token cache: a token seen before skips the signature check.
//!
//! Keyed by the SHA-256 of the whole token (the token itself is never stored), valued with the
//! user and what must be re-checked on every hit: `exp`/`nbf` against the clock, and that the
//! key which verified it is still in the current set. An entry never outlives the token's
//! `exp` (plus leeway), and a token that failed is never cached. Memory is bounded by the
//! capacity: about 200 bytes per entry plus the token's claims.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::claims::NumericDate;
use crate::clock::SharedClock;
use crate::user::User;

/// What a hit needs to be re-validated.
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    pub(crate) user: User,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) fingerprint: [u8; 16],
    pub(crate) exp: NumericDate,
    pub(crate) nbf: Option<NumericDate>,
}

pub(crate) type TokenKey = [u8; 32];

#[derive(Debug, Clone)]
pub(crate) struct TokenCache {
    entries: moka::sync::Cache<TokenKey, Arc<CachedToken>>,
}

/// Expires each entry at its token's `exp` + leeway, measured on the verifier's clock when the
/// entry is created (moka keeps its own monotonic clock; the hit path re-checks `exp` anyway).
/// `exp` is exclusive (RFC 7519 section 4.1.4): the entry's lifetime ends *at* `exp + leeway`
/// (moka treats an entry as expired once its duration has elapsed), and a token created with
/// `exp + leeway <= now` gets a zero lifetime, never a hit.
struct UntilExp {
    clock: SharedClock,
    leeway: Duration,
}

impl moka::Expiry<TokenKey, Arc<CachedToken>> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        value: &Arc<CachedToken>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(
            self.clock
                .now()
                .until(value.exp.saturating_add(self.leeway)),
        )
    }
}

impl TokenCache {
    pub(crate) fn new(capacity: u64, clock: SharedClock, leeway: Duration) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExp { clock, leeway })
                .build(),
        }
    }

    pub(crate) fn key(&self, token: &str) -> TokenKey {
        Sha256::digest(token.as_bytes()).into()
    }

    pub(crate) fn get(&self, key: &TokenKey) -> Option<Arc<CachedToken>> {
        self.entries.get(key)
    }

    pub(crate) fn insert(&self, key: TokenKey, cached: CachedToken) {
        self.entries.insert(key, Arc::new(cached));
    }

    pub(crate) fn remove(&self, key: &TokenKey) {
        self.entries.invalidate(key);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn entry(exp: i64) -> CachedToken {
        CachedToken {
            user: User::from_claims(serde_json::json!({"exp": exp})),
            kid: Some("k".into()),
            fingerprint: [0; 16],
            exp: NumericDate::from_secs(exp),
            nbf: None,
        }
    }

    #[test]
    fn memory_is_bounded_by_capacity() {
        let clock = ManualClock::at_unix(1_000);
        let cache = TokenCache::new(10, SharedClock(Arc::new(clock)), Duration::ZERO);
        for i in 0..1_000 {
            cache.insert(cache.key(&format!("token-{i}")), entry(10_000));
        }
        assert!(cache.len() <= 10, "{} entries", cache.len());
    }

    #[test]
    fn entries_never_outlive_their_token() {
        let clock = ManualClock::at_unix(1_000);
        let cache = TokenCache::new(10, SharedClock(Arc::new(clock)), Duration::ZERO);
        let key = cache.key("expired");
        cache.insert(key, entry(999));
        assert!(
            cache.get(&key).is_none(),
            "an already expired token is not kept"
        );
        let key = cache.key("at exp");
        cache.insert(key, entry(1_000));
        assert!(
            cache.get(&key).is_none(),
            "exp is exclusive: a token at its exp is not kept"
        );
        let key = cache.key("live");
        cache.insert(key, entry(5_000));
        assert!(cache.get(&key).is_some());
    }

    #[test]
    fn keys_are_collision_resistant_digests() {
        let cache = TokenCache::new(10, SharedClock::default(), Duration::ZERO);
        assert_ne!(cache.key("a.b.c"), cache.key("a.b.d"));
        assert_eq!(cache.key("a.b.c"), cache.key("a.b.c"));
    }
}
