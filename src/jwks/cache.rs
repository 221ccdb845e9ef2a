//! The key cache: the current key set behind a lock-free pointer, refreshed single-flight.
//!
//! Requests read the current [`Snapshot`] with one atomic load and never wait while it is
//! usable. A refresh is coalesced per observed generation through a moka cache
//! (`try_get_with`: one loader per key, errors not cached, a waiter takes over if the loading
//! task is cancelled), and the generation doubles as the "double check": a request that saw
//! generation `g` joins the refresh of `g`, or - if `g` was already replaced - just uses the
//! newer set.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::{ArcSwapOption, Guard};

use super::keyset::{KeyPolicy, KeySet};
use super::source::{FetchError, Fetched, KeySource, Validators};
use crate::clock::{SharedClock, millis};
use crate::error::AuthError;

/// Refresh and failure policy of the key cache.
#[derive(Debug, Clone)]
pub(crate) struct CacheConfig {
    pub(crate) ttl: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) refresh_ahead: f64,
    pub(crate) unknown_kid_cooldown: Duration,
    pub(crate) failure_backoff: Duration,
    pub(crate) max_stale: Duration,
}

/// One installed key set and its freshness.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) keys: Arc<KeySet>,
    pub(crate) generation: u64,
    pub(crate) fetched_at: i64,
    refresh_at: i64,
    fresh_until: i64,
    validators: Validators,
}

/// How usable a snapshot is at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    Fresh,
    /// Fresh, but due for a background refresh.
    RefreshAhead,
    /// Past its TTL, within `max_stale`: served, counted, refreshed in the background.
    Stale,
    /// Past `max_stale`: not served.
    Expired,
}

/// Counters kept by the cache (all monotonic).
#[derive(Debug, Default)]
struct Counters {
    fetches: AtomicU64,
    not_modified: AtomicU64,
    failures: AtomicU64,
    stale_uses: AtomicU64,
    cooldown_rejections: AtomicU64,
}

/// A point-in-time view of the key cache, for health checks and debugging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatus {
    /// Generation of the installed set (0 when none was ever obtained).
    pub generation: u64,
    /// Kids of the installed set.
    pub kids: Vec<String>,
    /// Whether the installed set is within its TTL.
    pub fresh: bool,
    /// Whether the installed set is past its TTL but still served (within `max_stale`).
    pub stale: bool,
    /// Age of the installed set.
    pub age: Option<Duration>,
    /// `ETag` of the installed document.
    pub etag: Option<String>,
    /// The last fetch error, if the last fetch failed.
    pub last_error: Option<String>,
    /// Time left in the unknown-kid cooldown.
    pub cooldown_remaining: Option<Duration>,
    /// Fetch attempts (a retried fetch counts once).
    pub fetches: u64,
    /// Fetches answered 304 Not Modified.
    pub not_modified: u64,
    /// Failed fetches.
    pub failures: u64,
    /// Requests served from a set past its TTL.
    pub stale_uses: u64,
    /// Unknown-kid requests refused at once during the cooldown.
    pub cooldown_rejections: u64,
}

impl CacheStatus {
    /// Combines the status of several caches (several issuers).
    pub(crate) fn merge(&mut self, other: Self) {
        self.generation = self.generation.max(other.generation);
        self.kids.extend(other.kids);
        self.fresh &= other.fresh;
        self.stale |= other.stale;
        self.age = self.age.max(other.age);
        self.etag = None;
        self.last_error = self.last_error.take().or(other.last_error);
        self.cooldown_remaining = self.cooldown_remaining.max(other.cooldown_remaining);
        self.fetches += other.fetches;
        self.not_modified += other.not_modified;
        self.failures += other.failures;
        self.stale_uses += other.stale_uses;
        self.cooldown_rejections += other.cooldown_rejections;
    }
}

/// Why a request asks for a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// No usable set (never fetched, or past `max_stale`).
    NoKeys,
    /// The token's kid is not in the set.
    UnknownKid,
    /// The set is due (refresh ahead, or stale).
    Due,
}

pub(crate) struct KeyCache {
    source: Arc<dyn KeySource>,
    policy: KeyPolicy,
    config: CacheConfig,
    clock: SharedClock,
    current: ArcSwapOption<Snapshot>,
    next_generation: AtomicU64,
    inflight: moka::future::Cache<u64, Arc<Snapshot>>,
    cooldown_until: AtomicI64,
    retry_at: AtomicI64,
    background: AtomicBool,
    counters: Counters,
    // Only written when a fetch fails and read by `status()`; never touched by requests.
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("source", &self.source)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    pub(crate) fn new(
        source: Arc<dyn KeySource>,
        policy: KeyPolicy,
        config: CacheConfig,
        clock: SharedClock,
    ) -> Self {
        Self {
            source,
            policy,
            config,
            clock,
            current: ArcSwapOption::empty(),
            next_generation: AtomicU64::new(1),
            inflight: moka::future::Cache::builder()
                .max_capacity(16)
                .time_to_live(Duration::from_secs(60))
                .build(),
            cooldown_until: AtomicI64::new(i64::MIN),
            retry_at: AtomicI64::new(i64::MIN),
            background: AtomicBool::new(false),
            counters: Counters::default(),
            last_error: Mutex::new(None),
        }
    }

    /// The installed snapshot: one atomic load, no lock, no refcount traffic.
    pub(crate) fn load(&self) -> Guard<Option<Arc<Snapshot>>> {
        self.current.load()
    }

    /// The installed generation and whether it is past `max_stale`.
    pub(crate) fn load_full_generation(&self) -> Option<(u64, bool)> {
        let now = self.now();
        self.current
            .load()
            .as_ref()
            .map(|s| (s.generation, self.freshness(s, now) == Freshness::Expired))
    }

    /// Monotonic milliseconds: every duration of the cache runs on them, never on wall time, so
    /// a wall-clock jump can neither freeze nor expire the set.
    fn now(&self) -> i64 {
        self.clock.monotonic_millis()
    }

    fn freshness(&self, snap: &Snapshot, now: i64) -> Freshness {
        if now < snap.refresh_at {
            Freshness::Fresh
        } else if now < snap.fresh_until {
            Freshness::RefreshAhead
        } else if now
            < snap
                .fresh_until
                .saturating_add(millis(self.config.max_stale))
        {
            Freshness::Stale
        } else {
            Freshness::Expired
        }
    }

    /// Whether a request may use `snap` now. Starts a background refresh when the set is due
    /// and counts uses past the TTL; `false` once it is past `max_stale`.
    pub(crate) fn usable(self: &Arc<Self>, snap: &Snapshot) -> bool {
        let now = self.now();
        match self.freshness(snap, now) {
            Freshness::Fresh => true,
            Freshness::RefreshAhead => {
                self.refresh_in_background(snap, now);
                true
            }
            Freshness::Stale => {
                self.counters.stale_uses.fetch_add(1, Ordering::Relaxed);
                self.refresh_in_background(snap, now);
                true
            }
            Freshness::Expired => false,
        }
    }

    /// Whether an unknown kid must be refused without a fetch; counts the refusal.
    pub(crate) fn refuse_unknown_kid_now(&self) -> bool {
        let now = self.now();
        let cooling = now < self.cooldown_until.load(Ordering::Relaxed)
            || now < self.retry_at.load(Ordering::Relaxed);
        if cooling {
            self.counters
                .cooldown_rejections
                .fetch_add(1, Ordering::Relaxed);
        }
        cooling
    }

    fn unavailable_error(&self) -> AuthError {
        let now = self.now();
        let wait = self.retry_at.load(Ordering::Relaxed).saturating_sub(now);
        let secs = u64::try_from(wait.max(0))
            .unwrap_or(0)
            .div_ceil(1000)
            .max(1);
        AuthError::unavailable(Duration::from_secs(secs))
    }

    /// Starts a background refresh of `snap` unless one is running or failures are backing off.
    pub(crate) fn refresh_in_background(self: &Arc<Self>, snap: &Snapshot, now: i64) {
        if now < self.retry_at.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = Arc::clone(self);
        let generation = snap.generation;
        runtime.spawn(async move {
            let _ = cache.refresh(generation, Trigger::Due).await;
            cache.background.store(false, Ordering::Release);
        });
    }

    /// Refreshes the set that was current at `observed` (0: none), or joins that refresh if one
    /// is in flight, and returns the newest snapshot; a snapshot past `max_stale` is never
    /// returned (503 instead).
    ///
    /// Fails at once (no fetch) while failures are backing off, unless forced.
    pub(crate) async fn refresh(
        &self,
        observed: u64,
        trigger: Trigger,
    ) -> Result<Arc<Snapshot>, AuthError> {
        if let Some(snap) = self.current.load_full()
            && snap.generation != observed
        {
            // Double check: someone already replaced the set this request saw.
            return Ok(snap);
        }
        let now = self.now();
        if now < self.retry_at.load(Ordering::Relaxed) {
            return self
                .current
                .load_full()
                .ok_or_else(|| self.unavailable_error());
        }
        let result = self
            .inflight
            .try_get_with(observed, self.fetch_and_install())
            .await;
        if trigger == Trigger::UnknownKid {
            let until = self
                .now()
                .saturating_add(millis(self.config.unknown_kid_cooldown));
            self.cooldown_until.fetch_max(until, Ordering::Relaxed);
        }
        let snap = match result {
            Ok(snap) => snap,
            Err(_) => self
                .current
                .load_full()
                .ok_or_else(|| self.unavailable_error())?,
        };
        if self.freshness(&snap, self.now()) == Freshness::Expired {
            return Err(self.unavailable_error());
        }
        Ok(snap)
    }

    /// A refresh that ignores the cooldown and backoff and reports the fetch error itself
    /// (for `JwksVerifier::refresh`). Joins a refresh already in flight.
    pub(crate) async fn force_refresh(&self) -> Result<(), FetchError> {
        let observed = self.current.load().as_ref().map_or(0, |s| s.generation);
        self.inflight
            .try_get_with(observed, self.fetch_and_install())
            .await
            .map(|_| ())
            .map_err(|e| (*e).clone())
    }

    /// The loader: one fetch, parse and install. Runs once per generation however many
    /// requests are waiting.
    async fn fetch_and_install(&self) -> Result<Arc<Snapshot>, FetchError> {
        let previous = self.current.load_full();
        self.counters.fetches.fetch_add(1, Ordering::Relaxed);
        let validators = previous.as_ref().map(|p| &p.validators);
        let outcome = match self.source.fetch(validators).await {
            Ok(Fetched::Document {
                body,
                max_age,
                validators,
            }) => KeySet::parse(&body, self.policy)
                .map(|keys| (Arc::new(keys), max_age, validators))
                .map_err(|e| FetchError::permanent(e.to_string())),
            Ok(Fetched::NotModified { max_age }) => match &previous {
                Some(prev) => {
                    self.counters.not_modified.fetch_add(1, Ordering::Relaxed);
                    Ok((Arc::clone(&prev.keys), max_age, prev.validators.clone()))
                }
                None => Err(FetchError::permanent(
                    "304 Not Modified without a cached set",
                )),
            },
            Err(e) => Err(e),
        };
        let now = self.now();
        match outcome {
            Ok((keys, max_age, validators)) => {
                let ttl = max_age.map_or(self.config.ttl, |age| {
                    age.clamp(self.config.min_ttl, self.config.max_ttl)
                });
                let ttl_ms = millis(ttl);
                #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                let ahead = (ttl_ms as f64 * self.config.refresh_ahead) as i64;
                let snap = Arc::new(Snapshot {
                    keys,
                    generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
                    fetched_at: now,
                    refresh_at: now.saturating_add(ahead),
                    fresh_until: now.saturating_add(ttl_ms),
                    validators,
                });
                self.current.store(Some(Arc::clone(&snap)));
                self.retry_at.store(i64::MIN, Ordering::Relaxed);
                if let Ok(mut last) = self.last_error.lock() {
                    *last = None;
                }
                tracing::debug!(
                    generation = snap.generation,
                    keys = snap.keys.len(),
                    ttl_secs = ttl.as_secs(),
                    "installed key set"
                );
                Ok(snap)
            }
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                self.retry_at.store(
                    now.saturating_add(millis(self.config.failure_backoff)),
                    Ordering::Relaxed,
                );
                tracing::warn!(error = %e, serving_previous = previous.is_some(), "key set refresh failed");
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(e.to_string());
                }
                Err(e)
            }
        }
    }

    pub(crate) fn status(&self) -> CacheStatus {
        let now = self.now();
        let snap = self.current.load_full();
        let freshness = snap.as_ref().map(|s| self.freshness(s, now));
        let cooldown = self
            .cooldown_until
            .load(Ordering::Relaxed)
            .saturating_sub(now);
        CacheStatus {
            generation: snap.as_ref().map_or(0, |s| s.generation),
            kids: snap
                .as_ref()
                .map(|s| s.keys.kids().map(str::to_owned).collect())
                .unwrap_or_default(),
            fresh: matches!(freshness, Some(Freshness::Fresh | Freshness::RefreshAhead)),
            stale: freshness == Some(Freshness::Stale),
            age: snap
                .as_ref()
                .map(|s| Duration::from_millis(u64::try_from(now - s.fetched_at).unwrap_or(0))),
            etag: snap.as_ref().and_then(|s| s.validators.etag.clone()),
            last_error: self.last_error.lock().ok().and_then(|l| l.clone()),
            cooldown_remaining: (cooldown > 0)
                .then(|| Duration::from_millis(u64::try_from(cooldown).unwrap_or(0))),
            fetches: self.counters.fetches.load(Ordering::Relaxed),
            not_modified: self.counters.not_modified.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
            stale_uses: self.counters.stale_uses.load(Ordering::Relaxed),
            cooldown_rejections: self.counters.cooldown_rejections.load(Ordering::Relaxed),
        }
    }
}
