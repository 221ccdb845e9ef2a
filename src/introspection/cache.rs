//! Cached introspection answers, and one call in the air per token.
//!
//! Keyed by the SHA-256 of the token: the token itself is never stored. An entry's lifetime
//! is decided when it lands, on the verifier's clock (so tests drive it with a
//! `ManualClock`), and checked on every hit; moka's own expiry, on its own clock, only frees
//! the memory of entries nobody asks for. Failures are never cached.
//!
//! The flights are a map from token digest to the watch channel its answer will appear on.
//! The first request for an uncached token starts the call as its own task (so a request
//! that goes away does not cancel it for the others) and the rest join it. A guard removes
//! the map entry on every exit of that task; the map holds at most one entry per distinct
//! token being asked about, so it is bounded by the requests in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::response::Verdict;
use crate::claims::NumericDate;

/// Longest time moka keeps an entry in memory (a year), whatever the configured lifetimes.
const MAX_MEMORY_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// The cache key: SHA-256 of the token.
pub(crate) type Digest32 = [u8; 32];

/// What a call brings back: the verdict, or that the endpoint gave none (the operator saw why).
pub(crate) type Outcome = Result<Arc<Verdict>, ()>;

/// A cached verdict and the end of its lifetime.
#[derive(Debug)]
struct Entry {
    verdict: Arc<Verdict>,
    until: NumericDate,
}

/// Lifetimes of cached verdicts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetimes {
    pub(crate) positive: Duration,
    pub(crate) negative: Duration,
    pub(crate) leeway: Duration,
}

/// The verdict cache and the flights.
#[derive(Debug)]
pub(crate) struct AnswerCache {
    entries: Option<moka::sync::Cache<Digest32, Arc<Entry>>>,
    lifetimes: Lifetimes,
    flights: Mutex<HashMap<Digest32, watch::Receiver<Option<Outcome>>>>,
}

/// How a request got onto a call.
pub(crate) enum Boarding {
    /// A call for this token is in the air: wait for its outcome.
    Joined(watch::Receiver<Option<Outcome>>),
    /// This request must make the call, and land it.
    Started(watch::Receiver<Option<Outcome>>, Departure),
}

/// The running call's hold on its flight; frees it when landed or dropped.
pub(crate) struct Departure {
    cache: Arc<AnswerCache>,
    key: Digest32,
    sender: watch::Sender<Option<Outcome>>,
}

impl AnswerCache {
    pub(crate) fn new(capacity: u64, lifetimes: Lifetimes) -> Self {
        // Real time: only frees memory; validity is `Entry::until` on the clock. Bounded:
        // moka panics past 1000 years, and an entry freed early only costs one more call.
        let longest = lifetimes
            .positive
            .max(lifetimes.negative)
            .clamp(Duration::from_secs(1), MAX_MEMORY_TTL);
        let entries = (capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(longest)
                .build()
        });
        Self {
            entries,
            lifetimes,
            flights: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn key(token: &str) -> Digest32 {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The cached verdict, if it is still within its lifetime at `now`.
    pub(crate) fn get(&self, key: &Digest32, now: NumericDate) -> Option<Arc<Verdict>> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(key)?;
        if now < entry.until {
            return Some(Arc::clone(&entry.verdict));
        }
        entries.invalidate(key);
        None
    }

    /// Caches `verdict` received at `now`: an active one until the earlier of `now` + the
    /// positive lifetime and its `exp` (+ leeway), a refusal for the negative lifetime.
    pub(crate) fn insert(&self, key: Digest32, verdict: Arc<Verdict>, now: NumericDate) {
        let Some(entries) = &self.entries else {
            return;
        };
        let until = match &*verdict {
            Verdict::Active { exp, .. } => {
                let ttl_end = now.saturating_add(self.lifetimes.positive);
                exp.map_or(ttl_end, |exp| {
                    ttl_end.min(exp.saturating_add(self.lifetimes.leeway))
                })
            }
            Verdict::Refused(_) => now.saturating_add(self.lifetimes.negative),
        };
        if until > now {
            entries.insert(key, Arc::new(Entry { verdict, until }));
        }
    }

    /// Joins the call in the air for `key`, or starts one.
    pub(crate) fn board(self: &Arc<Self>, key: Digest32) -> Boarding {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(receiver) = flights.get(&key) {
            return Boarding::Joined(receiver.clone());
        }
        let (sender, receiver) = watch::channel(None);
        flights.insert(key, receiver.clone());
        Boarding::Started(
            receiver,
            Departure {
                cache: Arc::clone(self),
                key,
                sender,
            },
        )
    }

    /// Number of calls in the air (tests).
    #[cfg(test)]
    fn flying(&self) -> usize {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn free(&self, key: &Digest32) {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

impl Departure {
    /// Publishes the outcome (cached by the caller first, so that a request arriving after
    /// the flight is freed finds the entry).
    pub(crate) fn land(self, outcome: Outcome) {
        self.cache.free(&self.key);
        self.sender.send_replace(Some(outcome));
    }
}

impl Drop for Departure {
    fn drop(&mut self) {
        // Landed: a no-op. Dropped mid-call (runtime shut down, panic): frees the flight, and
        // dropping the sender wakes the waiters with no outcome.
        self.cache.free(&self.key);
    }
}

/// Waits for a flight's outcome; `Err` when the call was dropped without landing.
pub(crate) async fn arrival(mut receiver: watch::Receiver<Option<Outcome>>) -> Outcome {
    match receiver.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or(Err(())),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthReason;

    fn cache() -> Arc<AnswerCache> {
        Arc::new(AnswerCache::new(
            10,
            Lifetimes {
                positive: Duration::from_secs(60),
                negative: Duration::from_secs(10),
                leeway: Duration::ZERO,
            },
        ))
    }

    #[test]
    fn entries_live_until_the_earlier_of_ttl_and_exp() {
        let cache = cache();
        let now = NumericDate::from_millis(1_000_000);
        let active = |exp: Option<i64>| {
            Arc::new(Verdict::Active {
                user: crate::User::from_claims(serde_json::json!({})),
                exp: exp.map(NumericDate::from_millis),
                nbf: None,
            })
        };
        cache.insert([1; 32], active(None), now);
        cache.insert([2; 32], active(Some(1_000_000 + 5_000)), now);
        cache.insert(
            [3; 32],
            Arc::new(Verdict::Refused(AuthReason::InactiveToken)),
            now,
        );
        cache.insert([4; 32], active(Some(1_000_000)), now);
        let at = |ms: i64| NumericDate::from_millis(1_000_000 + ms);
        assert!(cache.get(&[4; 32], now).is_none(), "expired: never cached");
        assert!(cache.get(&[2; 32], at(4_999)).is_some());
        assert!(cache.get(&[2; 32], at(5_000)).is_none());
        assert!(cache.get(&[3; 32], at(9_999)).is_some());
        assert!(cache.get(&[3; 32], at(10_000)).is_none());
        assert!(cache.get(&[1; 32], at(59_999)).is_some());
        assert!(cache.get(&[1; 32], at(60_000)).is_none());
    }

    #[tokio::test]
    async fn one_flight_per_token_freed_on_landing_or_drop() {
        let cache = cache();
        let Boarding::Started(first, departure) = cache.board([1; 32]) else {
            panic!("first boards a new flight");
        };
        let Boarding::Joined(second) = cache.board([1; 32]) else {
            panic!("second joins");
        };
        assert!(matches!(cache.board([2; 32]), Boarding::Started(..)));
        assert_eq!(cache.flying(), 1, "the dropped departure freed its flight");
        departure.land(Ok(Arc::new(Verdict::Refused(AuthReason::InactiveToken))));
        assert_eq!(cache.flying(), 0);
        assert!(arrival(first).await.is_ok());
        assert!(arrival(second).await.is_ok());
        let Boarding::Started(waiting, departure) = cache.board([3; 32]) else {
            panic!("new flight");
        };
        drop(departure);
        assert!(arrival(waiting).await.is_err());
        assert_eq!(cache.flying(), 0);
    }
}
