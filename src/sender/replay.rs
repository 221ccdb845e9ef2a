//! The DPoP replay cache (RFC 9449 section 11.1): the `jti` of every accepted proof, for as
//! long as that proof could still be accepted, in bounded memory.
//!
//! An entry is kept until the proof's `iat` window has closed for every `iat` the proof could
//! carry: `max_age + max_future` after it was first seen, and at least a millisecond past the
//! last moment its own `iat` passes (the window's bounds are inclusive). After that the proof
//! is refused as stale, so forgetting it lets nothing through. Entries are 16-byte digests of
//! the key thumbprint and the `jti` (so one client cannot block another's `jti`, and a long
//! `jti` costs no more memory than a short one).
//!
//! When the cache holds `capacity` live entries, new proofs are *refused* (503 with
//! `Retry-After` until the oldest entry expires) rather than evicting a live entry: a cache
//! that forgot a live `jti` would let its replay through silently.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// What the cache says of a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// First time: recorded.
    New,
    /// Recorded before: a replay.
    Replayed,
    /// The cache is full of live entries; the oldest expires after this long.
    Full(Duration),
}

#[derive(Debug)]
pub(crate) struct ReplayCache {
    capacity: usize,
    /// How long an entry lives, in milliseconds.
    lifetime_ms: i64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashSet<[u8; 16]>,
    /// Entries in insertion order with their expiry (wall milliseconds); the front expires
    /// first as long as the clock does not step back (if it does, entries live longer: safe).
    order: VecDeque<(i64, [u8; 16])>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize, lifetime: Duration) -> Self {
        Self {
            capacity,
            lifetime_ms: i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX),
            state: Mutex::default(),
        }
    }

    /// Records the proof `jti` of the key `thumbprint` at `now_ms` (wall milliseconds), a
    /// proof whose `iat` passes until `passes_until_ms` included.
    ///
    /// The entry lives `lifetime` from now, and past `passes_until_ms` in any case: a proof
    /// first seen with its `iat` at the future edge of the window passes until exactly
    /// `now + lifetime`, and an entry expiring at that millisecond would let its replay in.
    pub(crate) fn check_and_insert(
        &self,
        thumbprint: &str,
        jti: &str,
        now_ms: i64,
        passes_until_ms: i64,
    ) -> Seen {
        let mut digest = Sha256::new();
        digest.update(thumbprint.as_bytes());
        digest.update([0]);
        digest.update(jti.as_bytes());
        let mut key = [0; 16];
        key.copy_from_slice(&digest.finalize()[..16]);
        // One short critical section (hash lookups, no allocation once warm), and only for
        // requests carrying a DPoP proof.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *state;
        while let Some(&(expiry, old)) = state.order.front() {
            if expiry > now_ms {
                break;
            }
            state.order.pop_front();
            state.seen.remove(&old);
        }
        if state.seen.contains(&key) {
            return Seen::Replayed;
        }
        if state.order.len() >= self.capacity {
            let oldest = state.order.front().map_or(0, |(expiry, _)| *expiry);
            let wait = u64::try_from(oldest.saturating_sub(now_ms)).unwrap_or(0);
            return Seen::Full(Duration::from_millis(wait));
        }
        state.seen.insert(key);
        let expiry = now_ms
            .saturating_add(self.lifetime_ms)
            .max(passes_until_ms.saturating_add(1));
        state.order.push_back((expiry, key));
        Seen::New
    }

    /// Live entries (for tests and the memory bound).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .order
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_refuses_new_proofs_and_never_forgets_a_live_one() {
        let cache = ReplayCache::new(3, Duration::from_secs(65));
        for jti in ["a", "b", "c"] {
            assert_eq!(cache.check_and_insert("k", jti, 1_000, 0), Seen::New);
        }
        // The N+1th distinct jti while the N are live: refused, with the wait until the
        // oldest expires; the live ones still count as replays.
        assert_eq!(
            cache.check_and_insert("k", "d", 2_000, 0),
            Seen::Full(Duration::from_millis(64_000))
        );
        assert_eq!(cache.check_and_insert("k", "a", 2_000, 0), Seen::Replayed);
        assert_eq!(cache.len(), 3);
        // Another key's identical jti is another proof.
        assert_eq!(
            cache.check_and_insert("other", "a", 2_000, 0),
            Seen::Full(Duration::from_millis(64_000))
        );
        // Once the first entries expire, new proofs are accepted again.
        assert_eq!(cache.check_and_insert("k", "d", 66_000, 0), Seen::New);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.check_and_insert("k", "d", 66_001, 0), Seen::Replayed);
    }

    #[test]
    fn an_entry_outlives_the_last_moment_its_proof_passes() {
        let cache = ReplayCache::new(3, Duration::from_secs(65));
        // First seen at 0 with a proof that passes until 65_000 included.
        assert_eq!(cache.check_and_insert("k", "a", 0, 65_000), Seen::New);
        assert_eq!(
            cache.check_and_insert("k", "a", 65_000, 65_000),
            Seen::Replayed
        );
        assert_eq!(cache.check_and_insert("k", "b", 65_001, 0), Seen::New);
        assert_eq!(cache.len(), 1, "a expired after 65_000");
    }
}
