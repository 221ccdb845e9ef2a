//! The verified-token cache: a token seen before skips the signature check.
//!
//! Keyed by the SHA-256 of the whole token (the token itself is never stored), valued with the
//! user and what must be re-checked on every hit: `exp`/`nbf` against the clock, and that the
//! key which verified it is still in the current set. An entry never outlives the token's
//! `exp` (plus leeway), and a token that failed is never cached. Memory is bounded twice: by
//! the entry capacity, and by [`DEFAULT_MAX_BYTES`] of estimated entry sizes (see
//! [`CachedToken::weight`]), so that large tokens cannot multiply the footprint.

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
    /// Estimated bytes this entry holds (see [`CachedToken::weight`]).
    pub(crate) weight: u32,
}

/// The byte budget of the verified-token cache: 5 MiB of estimated entry sizes. Chosen so
/// that a server that has seen 20,000 distinct ~800-byte RS256 tokens stays under 16 MiB
/// resident (measured with `examples/token_memory.rs`: ~9.3 MiB without the cache). A token
/// with ~250 bytes of claims weighs ~1.8 KiB, so ~2,900 such tokens stay cached; with the
/// default 10,000 entries the entry cap binds only for tokens under ~520 bytes an entry.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 5 << 20;

/// Fixed cost of one entry: the digest key, the `Arc`, this struct, moka's node, timer and
/// deque entries, and the `User`'s map (a `BTreeMap` leaf is ~600 bytes however few claims);
/// calibrated against resident memory, rounded up.
const ENTRY_OVERHEAD: usize = 1024;

impl CachedToken {
    /// Estimated bytes an entry for claims of `payload_len` bytes of JSON holds: the fixed
    /// overhead, plus three times the JSON (a `serde_json::Value` map spends its text again
    /// in separately allocated keys and strings, plus node headers and allocator slack).
    pub(crate) fn weight(payload_len: usize) -> u32 {
        u32::try_from(ENTRY_OVERHEAD.saturating_add(payload_len.saturating_mul(3)))
            .unwrap_or(u32::MAX)
    }
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
        Self::with_max_bytes(capacity, DEFAULT_MAX_BYTES, clock, leeway)
    }

    /// Bounded by entries and bytes at once with one moka weigher: the capacity is the byte
    /// budget, and each entry weighs at least `max_bytes / capacity`, so that no more than
    /// `capacity` entries ever fit, however small.
    pub(crate) fn with_max_bytes(
        capacity: u64,
        max_bytes: u64,
        clock: SharedClock,
        leeway: Duration,
    ) -> Self {
        let capacity = capacity.max(1);
        let max_bytes = max_bytes.max(capacity);
        let floor = u32::try_from(max_bytes.div_ceil(capacity)).unwrap_or(u32::MAX);
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(move |_: &TokenKey, v: &Arc<CachedToken>| v.weight.max(floor))
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

    #[cfg(test)]
    fn bytes(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
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
            weight: CachedToken::weight(20),
        }
    }

    fn weighing(exp: i64, payload_len: usize) -> CachedToken {
        CachedToken {
            weight: CachedToken::weight(payload_len),
            ..entry(exp)
        }
    }

    #[test]
    fn memory_is_bounded_by_bytes_at_the_edge() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        // 100 entries allowed, 10,000 bytes: an entry weighs at least 100.
        let cache = TokenCache::with_max_bytes(100, 10_000, clock.clone(), Duration::ZERO);
        let big = CachedToken::weight(1_000); // 4,024 bytes: two fit, a third does not
        assert_eq!(big, 4_024);
        for i in 0..50 {
            cache.insert(cache.key(&format!("big-{i}")), weighing(10_000, 1_000));
        }
        assert!(cache.bytes() <= 10_000, "{} bytes", cache.bytes());
        assert!(cache.len() <= 2, "{} entries of {big} bytes", cache.len());
        // The edge: an entry weighing exactly the budget is kept; one byte more is not.
        let exact = TokenCache::with_max_bytes(1, 4_024, clock.clone(), Duration::ZERO);
        exact.insert(exact.key("exact"), weighing(10_000, 1_000));
        assert_eq!((exact.len(), exact.bytes()), (1, 4_024));
        let over = TokenCache::with_max_bytes(1, 4_023, clock, Duration::ZERO);
        over.insert(over.key("over"), weighing(10_000, 1_000));
        assert_eq!(over.len(), 0, "4,024 bytes > the 4,023-byte budget");
    }

    #[test]
    fn small_entries_are_still_bounded_by_count() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        let cache = TokenCache::with_max_bytes(10, 1 << 20, clock, Duration::ZERO);
        for i in 0..1_000 {
            cache.insert(cache.key(&format!("small-{i}")), weighing(10_000, 1));
        }
        assert!(cache.len() <= 10, "{} entries", cache.len());
        assert!(cache.bytes() <= 1 << 20);
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
