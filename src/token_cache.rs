//! The verified-token cache: a token seen before skips the signature check.
//!
//! Keyed by a fast hash of the whole token under a random key drawn per cache, and valued with
//! the token itself, the user and what must be re-checked on every hit: `exp`/`nbf` against
//! the clock, and that the key which verified it is still in the current set. A hit compares
//! the whole token with the stored one, so two tokens whose hashes collide can never share an
//! entry's user: the hash only picks the slot, equality decides. (A SHA-256 digest as the key
//! avoided storing the token, but it cost ~500 ns for an 800-byte token even with the CPU's
//! SHA extensions, half of the whole repeat path; the keyed hash and the comparison cost
//! ~25 ns.) An entry never outlives the token's `exp` (plus leeway), and a token that failed is
//! never cached. Memory is bounded twice: by the entry capacity, and by [`DEFAULT_MAX_BYTES`]
//! of estimated entry sizes (see [`CachedToken::weight`]; the stored token counts), so that
//! large tokens cannot multiply the footprint.
//!
//! The trade-off: the cache holds the text of every token it caches - live bearer credentials
//! (RFC 6750 section 5: whoever holds one is its user) - in process memory, until its `exp`
//! plus leeway (dropped at the cache's next housekeeping pass after that, or earlier when the
//! byte budget evicts it), and freed memory is not zeroed. A core dump, swap, or anyone able to
//! read the process's memory can see them. Deployments for which that is unacceptable turn the
//! cache off with `token_cache_capacity(0)` and pay a signature check on every request. The
//! token never leaves memory through this module: `Debug` shows counts and lengths only.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use foldhash::SharedSeed;
use foldhash::quality::SeedableRandomState;
use moka::ops::compute::Op;

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
/// resident (measured with `examples/token_memory.rs`: ~9.3 MiB without the cache). A
/// 780-byte token with ~250 bytes of claims weighs ~2.6 KiB (the token itself included), so
/// ~2,000 such tokens stay cached; with the default 10,000 entries the entry cap binds only
/// for entries under ~520 bytes.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 5 << 20;

/// Fixed cost of one entry: the key, the `Arc`, the entry, the stored token's allocation
/// header, moka's node, timer and deque entries, and the `User`'s map (a `BTreeMap` leaf is
/// ~600 bytes however few claims); calibrated against resident memory, rounded up.
const ENTRY_OVERHEAD: usize = 1024;

impl CachedToken {
    /// Estimated bytes an entry for claims of `payload_len` bytes of JSON holds, the token
    /// aside (the cache adds its length): the fixed overhead, plus three times the JSON (a
    /// `serde_json::Value` map spends its text again in separately allocated keys and
    /// strings, plus node headers and allocator slack).
    pub(crate) fn weight(payload_len: usize) -> u32 {
        u32::try_from(ENTRY_OVERHEAD.saturating_add(payload_len.saturating_mul(3)))
            .unwrap_or(u32::MAX)
    }
}

/// Where a token's entry lives: its keyed hash. Not a proof of identity (see [`Entry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey(u64);

/// A cache entry: the token it was verified from (compared on every hit), and the result.
/// Its `Debug` shows the token's length only: the token is a live credential.
pub(crate) struct Entry {
    token: Box<str>,
    pub(crate) verified: CachedToken,
    /// `verified.weight` plus the token's length.
    weight: u32,
}

/// Its `Debug` shows the counts, never the entries (moka's would list them all).
#[derive(Clone)]
pub(crate) struct TokenCache {
    entries: moka::sync::Cache<TokenKey, Arc<Entry>>,
    /// The hash key, drawn from the OS once per cache: tokens an attacker chooses cannot be
    /// aimed at each other's slots (a collision would only cost a miss, never a wrong user).
    hasher: SeedableRandomState,
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

impl UntilExp {
    fn lifetime(&self, value: &Entry) -> Option<Duration> {
        Some(
            self.clock
                .now()
                .until(value.verified.exp.saturating_add(self.leeway)),
        )
    }
}

impl moka::Expiry<TokenKey, Arc<Entry>> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        self.lifetime(value)
    }

    /// A replaced slot takes its new token's lifetime. moka's default keeps the old entry's,
    /// and the new token may be another one (a slot collision) expiring sooner: its entry,
    /// which holds the token itself, must not outlive it.
    fn expire_after_update(
        &self,
        _key: &TokenKey,
        value: &Arc<Entry>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.lifetime(value)
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
                .weigher(move |_: &TokenKey, v: &Arc<Entry>| v.weight.max(floor))
                .expire_after(UntilExp { clock, leeway })
                .build(),
            hasher: SeedableRandomState::with_seed(random_seed(), SharedSeed::global_random()),
        }
    }

    /// The token's slot: foldhash (hashbrown's default hasher) over the whole token, ~20 ns
    /// for 800 bytes.
    pub(crate) fn key(&self, token: &str) -> TokenKey {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(token.as_bytes());
        TokenKey(hasher.finish())
    }

    /// The entry for exactly `token`, if cached: another token in the same slot is a miss.
    /// (The comparison is not constant-time, and need not be: only a token in the same slot
    /// reaches it, and slots are drawn under a key the caller never sees.)
    pub(crate) fn get(&self, key: TokenKey, token: &str) -> Option<Arc<Entry>> {
        self.entries.get(&key).filter(|e| *e.token == *token)
    }

    /// Caches `token`'s verification, replacing whatever the slot held.
    pub(crate) fn insert(&self, key: TokenKey, token: &str, verified: CachedToken) {
        let length = u32::try_from(token.len()).unwrap_or(u32::MAX);
        let weight = verified.weight.saturating_add(length);
        self.entries.insert(
            key,
            Arc::new(Entry {
                token: token.into(),
                verified,
                weight,
            }),
        );
    }

    /// Drops `stale` (which a [`get`](Self::get) returned) from its slot, unless the slot
    /// already holds another entry: a fresh one inserted meanwhile by another request stays.
    pub(crate) fn remove(&self, key: TokenKey, stale: &Arc<Entry>) {
        self.entries
            .entry(key)
            .and_compute_with(|current| match current {
                Some(current) if Arc::ptr_eq(current.value(), stale) => Op::Remove,
                _ => Op::Nop,
            });
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

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("token_len", &self.token.len())
            .field("verified", &self.verified)
            .field("weight", &self.weight)
            .finish()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .field("bytes", &self.entries.weighted_size())
            .finish_non_exhaustive()
    }
}

/// 64 random bits from the OS, without a dependency: std's `RandomState` keys SipHash with
/// OS randomness (drawn once per thread, then incremented, so successive caches differ too).
fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0x6a77_6b73_u64)
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

    /// Caches `cached` for `token` under its own key.
    fn put(cache: &TokenCache, token: &str, cached: CachedToken) {
        cache.insert(cache.key(token), token, cached);
    }

    fn get(cache: &TokenCache, token: &str) -> Option<Arc<Entry>> {
        cache.get(cache.key(token), token)
    }

    #[test]
    fn memory_is_bounded_by_bytes_at_the_edge() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        // 100 entries allowed, 10,000 bytes: an entry weighs at least 100.
        let cache = TokenCache::with_max_bytes(100, 10_000, clock.clone(), Duration::ZERO);
        // 4,024 bytes of claims estimate, plus the 6-byte token: two fit, a third does not.
        let big = CachedToken::weight(1_000);
        assert_eq!(big, 4_024);
        for i in 0..50 {
            put(&cache, &format!("big-{i:02}"), weighing(10_000, 1_000));
        }
        assert!(cache.bytes() <= 10_000, "{} bytes", cache.bytes());
        assert!(cache.len() <= 2, "{} entries of {big} bytes", cache.len());
        // The edge: an entry weighing exactly the budget is kept; one byte more is not. The
        // stored token counts: 4,024 + 5 bytes of "exact".
        let exact = TokenCache::with_max_bytes(1, 4_029, clock.clone(), Duration::ZERO);
        put(&exact, "exact", weighing(10_000, 1_000));
        assert_eq!((exact.len(), exact.bytes()), (1, 4_029));
        let over = TokenCache::with_max_bytes(1, 4_028, clock, Duration::ZERO);
        put(&over, "token", weighing(10_000, 1_000));
        assert_eq!(over.len(), 0, "4,029 bytes > the 4,028-byte budget");
    }

    #[test]
    fn removing_a_stale_entry_keeps_a_fresh_one_inserted_meanwhile() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        let cache = TokenCache::new(10, clock, Duration::ZERO);
        put(&cache, "token", entry(10_000));
        let stale = get(&cache, "token").expect("cached");
        // Another request re-verified the token and replaced the entry before this one
        // dropped what it found stale: the fresh entry stays.
        put(&cache, "token", entry(20_000));
        cache.remove(cache.key("token"), &stale);
        let kept = get(&cache, "token").expect("the fresh entry is kept");
        assert_eq!(kept.verified.exp, NumericDate::from_secs(20_000));
        // The entry it found is removed.
        cache.remove(cache.key("token"), &kept);
        assert!(get(&cache, "token").is_none());
    }

    #[test]
    fn small_entries_are_still_bounded_by_count() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        let cache = TokenCache::with_max_bytes(10, 1 << 20, clock, Duration::ZERO);
        for i in 0..1_000 {
            put(&cache, &format!("small-{i}"), weighing(10_000, 1));
        }
        assert!(cache.len() <= 10, "{} entries", cache.len());
        assert!(cache.bytes() <= 1 << 20);
    }

    #[test]
    fn memory_is_bounded_by_capacity() {
        let clock = ManualClock::at_unix(1_000);
        let cache = TokenCache::new(10, SharedClock(Arc::new(clock)), Duration::ZERO);
        for i in 0..1_000 {
            put(&cache, &format!("token-{i}"), entry(10_000));
        }
        assert!(cache.len() <= 10, "{} entries", cache.len());
    }

    #[test]
    fn entries_never_outlive_their_token() {
        let clock = ManualClock::at_unix(1_000);
        let cache = TokenCache::new(10, SharedClock(Arc::new(clock)), Duration::ZERO);
        put(&cache, "expired", entry(999));
        assert!(
            get(&cache, "expired").is_none(),
            "an already expired token is not kept"
        );
        put(&cache, "at exp", entry(1_000));
        assert!(
            get(&cache, "at exp").is_none(),
            "exp is exclusive: a token at its exp is not kept"
        );
        put(&cache, "live", entry(5_000));
        assert!(get(&cache, "live").is_some());
    }

    #[test]
    fn a_slot_answers_only_for_the_token_it_holds() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        let cache = TokenCache::new(10, clock, Duration::ZERO);
        assert_ne!(cache.key("a.b.c"), cache.key("a.b.d"));
        assert_eq!(cache.key("a.b.c"), cache.key("a.b.c"));
        // Force a collision: "a.b.d" looked up in "a.b.c"'s slot is a miss, not its user.
        let slot = cache.key("a.b.c");
        cache.insert(slot, "a.b.c", entry(10_000));
        assert!(cache.get(slot, "a.b.c").is_some());
        assert!(
            cache.get(slot, "a.b.d").is_none(),
            "another token, same slot"
        );
        assert!(cache.get(slot, "a.b.").is_none(), "a prefix of the token");
        assert!(cache.get(slot, "a.b.cc").is_none(), "the token and more");
        // The colliding token, once verified, replaces the entry; the first one then misses.
        cache.insert(slot, "a.b.d", entry(10_000));
        assert!(cache.get(slot, "a.b.d").is_some());
        assert!(cache.get(slot, "a.b.c").is_none());
    }

    #[test]
    fn a_replaced_slot_expires_with_its_new_token() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        let cache = TokenCache::new(10, clock, Duration::ZERO);
        let slot = cache.key("a.b.c");
        cache.insert(slot, "a.b.c", entry(10_000));
        // A colliding token at its exp replaces it: zero lifetime, as if created, never the
        // 9,000 s the slot had left.
        cache.insert(slot, "a.b.d", entry(1_000));
        assert!(cache.get(slot, "a.b.d").is_none(), "kept past its exp");
        assert!(cache.get(slot, "a.b.c").is_none(), "replaced");
    }

    #[test]
    fn a_slot_replaced_while_read_never_answers_with_the_other_user() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        let cache = TokenCache::new(10, clock, Duration::ZERO);
        let slot = cache.key("a.b.c");
        let tokens = ["a.b.c", "a.b.d"];
        let verified = |token: &str| CachedToken {
            user: User::from_claims(serde_json::json!({"sub": token, "exp": 10_000})),
            ..entry(10_000)
        };
        std::thread::scope(|s| {
            // Two writers put the colliding tokens in the one slot in turn, while two
            // readers look each token up: a hit is always the token's own user.
            for token in tokens {
                let cache = &cache;
                s.spawn(move || {
                    for _ in 0..2_000 {
                        cache.insert(slot, token, verified(token));
                    }
                });
                s.spawn(move || {
                    for _ in 0..2_000 {
                        if let Some(hit) = cache.get(slot, token) {
                            assert_eq!(hit.verified.user.sub(), Some(token));
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn debug_never_shows_a_token() {
        let clock = SharedClock(Arc::new(ManualClock::at_unix(1_000)));
        let cache = TokenCache::new(10, clock, Duration::ZERO);
        put(&cache, "secret.token.value", entry(10_000));
        let hit = get(&cache, "secret.token.value").expect("cached");
        for shown in [format!("{cache:?}"), format!("{hit:?}")] {
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    #[test]
    fn keys_are_drawn_per_cache() {
        let one = TokenCache::new(10, SharedClock::default(), Duration::ZERO);
        let two = TokenCache::new(10, SharedClock::default(), Duration::ZERO);
        assert_ne!(
            one.key("a.b.c"),
            two.key("a.b.c"),
            "each cache hashes with its own random key"
        );
    }
}
