//! The key cache: the current key set behind a lock-free pointer, refreshed single-flight.
//!
//! Requests read the current [`Snapshot`] with one atomic load and never wait while it is
//! usable. Fetches are single-flight (`flight.rs`): one in the air at a time, run as its own
//! task, joined by whoever needs it meanwhile. The generation doubles as the "double check": a
//! request that saw generation `g` and finds `g` already replaced just uses the newer set.
//!
//! Every instant here is a monotonic reading of the injected clock (milliseconds): wall time
//! can jump, and must neither freeze nor expire the set.
//!
//! What an unknown kid gets: a request whose kid is missing waits (at most `max_wait`, the
//! HTTP timeout) for a fetch. Failed fetch: 503 with `Retry-After` (the key may exist; we could
//! not check) and the failure backoff. Successful fetch without the kid: 401, and - if this
//! request's kid started that fetch - the unknown-kid cooldown, during which unknown kids are
//! refused at once. A fetch that was already in flight when the request arrived may predate
//! its key: the request may then start (or join) one more fetch, unless the cooldown runs.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::{ArcSwapOption, Guard};
use tracing::Instrument;

use super::flight::{Boarding, Departure, Flights, Ticket};
use super::keyset::{KeyPolicy, KeySet};
use super::kid::{self, VersionedKid};
use super::schedule::{jitter_seed, refresh_ahead_point};
use super::source::{FetchError, Fetched, KeySource, Validators};
pub(crate) use super::status::CacheStatus;
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
    /// Longest a request waits for a fetch it started or joined (the HTTP timeout: one
    /// attempt); the fetch itself goes on, retries included.
    pub(crate) max_wait: Duration,
    /// Tokens without kid are refused (no `allow_missing_kid`): a set with no kid is useless.
    pub(crate) require_kid: bool,
}

/// One installed key set and its freshness (monotonic milliseconds).
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

/// Why a request asks for a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// No usable set (never fetched, or past `max_stale`).
    NoKeys,
    /// The token's kid is not in the set.
    UnknownKid,
}

pub(crate) struct KeyCache {
    source: Arc<dyn KeySource>,
    policy: KeyPolicy,
    config: CacheConfig,
    clock: SharedClock,
    current: ArcSwapOption<Snapshot>,
    next_generation: AtomicU64,
    flights: Arc<Flights<Snapshot>>,
    /// Unknown kids are refused at once before this instant.
    cooldown_until: AtomicI64,
    /// No fetch is started before this instant (failure backoff).
    retry_at: AtomicI64,
    counters: Counters,
    // Only written when a fetch ends and read by `status()`; never touched by requests.
    last_error: Mutex<Option<String>>,
    /// The `jwks` label of this cache's metrics (see `crate::metrics`).
    label: Arc<str>,
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
        let label = crate::metrics::jwks_label(source.url());
        Self {
            label,
            source,
            policy,
            config,
            clock,
            current: ArcSwapOption::empty(),
            next_generation: AtomicU64::new(1),
            flights: Arc::default(),
            cooldown_until: AtomicI64::new(i64::MIN),
            retry_at: AtomicI64::new(i64::MIN),
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
                self.refresh_in_background(now);
                true
            }
            Freshness::Stale => {
                self.counters.stale_uses.fetch_add(1, Ordering::Relaxed);
                crate::metrics::stale_use(&self.label);
                self.refresh_in_background(now);
                true
            }
            Freshness::Expired => false,
        }
    }

    /// The installed snapshot, if it may still be served (within `max_stale`).
    fn servable(&self) -> Option<Arc<Snapshot>> {
        self.current
            .load_full()
            .filter(|s| self.freshness(s, self.now()) != Freshness::Expired)
    }

    fn cooling_down(&self, now: i64) -> bool {
        now < self.cooldown_until.load(Ordering::SeqCst)
    }

    /// Whether an unknown kid must be refused without a fetch (the cooldown after a successful
    /// fetch that lacked a kid); counts the refusal. During a failure backoff it is not: the
    /// request goes on to get 503, since its key may exist.
    pub(crate) fn refuse_unknown_kid_now(&self) -> bool {
        let cooling = self.cooling_down(self.now());
        if cooling {
            self.counters
                .cooldown_rejections
                .fetch_add(1, Ordering::Relaxed);
            crate::metrics::cooldown_refusal(&self.label);
        }
        cooling
    }

    /// 503 with `Retry-After`: the rest of the failure backoff, at least one second.
    fn unavailable_error(&self) -> AuthError {
        let wait = self
            .retry_at
            .load(Ordering::SeqCst)
            .saturating_sub(self.now());
        let secs = u64::try_from(wait.max(0))
            .unwrap_or(0)
            .div_ceil(1000)
            .max(1);
        AuthError::unavailable(Duration::from_secs(secs))
    }

    /// Starts a background refresh unless one is in the air or failures are backing off.
    /// Takes no lock unless it starts one.
    fn refresh_in_background(self: &Arc<Self>, now: i64) {
        if now < self.retry_at.load(Ordering::SeqCst) || self.flights.is_flying() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Boarding::Started(_, departure) = self.flights.board() {
            runtime.spawn(Arc::clone(self).fly(departure, None));
        }
    }

    /// A flight: fetch, parse, install, land. Runs as its own task (or inline without a tokio
    /// runtime); `wanted` is the unknown kid that started it, if any.
    async fn fly(self: Arc<Self>, departure: Departure<Snapshot>, wanted: Option<Box<str>>) {
        let outcome = self.fetch_and_install(wanted.as_deref()).await;
        departure.land(outcome);
    }

    /// Boards the flight in the air, or starts one (spawned, so that it outlives its waiters).
    /// Returns the ticket and whether the flight was already in the air.
    ///
    /// With `newer_than`, a caller that would start a flight first looks again at the
    /// installed set, under the slot's lock: a flight that installed a servable set newer than
    /// the one the caller saw may have landed between the caller's look and its boarding (a
    /// flight installs before it frees the slot, so that look is conclusive). Then no flight
    /// starts, and no one can have joined one: `Err(that set)`.
    async fn board(
        self: &Arc<Self>,
        wanted: Option<&str>,
        newer_than: Option<u64>,
    ) -> Result<(Ticket<Snapshot>, bool), Arc<Snapshot>> {
        let boarding = match newer_than {
            None => self.flights.board(),
            Some(observed) => {
                let now = self.now();
                self.flights.board_unless(|| {
                    self.current.load_full().filter(|snap| {
                        snap.generation != observed
                            && self.freshness(snap, now) != Freshness::Expired
                    })
                })?
            }
        };
        match boarding {
            Boarding::Joined(ticket) => Ok((ticket, true)),
            Boarding::Started(ticket, departure) => {
                // In the caller's span: the fetch's span nests under the verification it serves.
                let flight = Arc::clone(self)
                    .fly(departure, wanted.map(Box::from))
                    .in_current_span();
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => drop(runtime.spawn(flight)),
                    Err(_) => flight.await,
                }
                Ok((ticket, false))
            }
        }
    }

    /// For a request that needs keys: a set newer than generation `observed` (0: none), from
    /// a fetch it starts or joins, and never one past `max_stale`.
    ///
    /// - Failure backoff running, or the fetch fails: 503 with `Retry-After`.
    /// - No answer within `max_wait`: the current set if servable (the fetch goes on in the
    ///   background), else 503.
    /// - `kid` (for [`Trigger::UnknownKid`]) missing from a set whose fetch was already in the
    ///   air when the request arrived: one more fetch, unless the cooldown runs.
    pub(crate) async fn refresh(
        self: &Arc<Self>,
        observed: u64,
        trigger: Trigger,
        kid: Option<&str>,
    ) -> Result<Arc<Snapshot>, AuthError> {
        let wanted = kid.filter(|_| trigger == Trigger::UnknownKid);
        let deadline = tokio::runtime::Handle::try_current()
            .ok()
            .map(|_| tokio::time::Instant::now() + self.config.max_wait);
        let mut observed = observed;
        let mut one_more = wanted.is_some();
        loop {
            let (snap, predates_request) = match self.current.load_full() {
                // Double check: someone already replaced the set this request saw (and that
                // set is still servable: one installed and expired while the request waited
                // is no refresh of it).
                Some(snap)
                    if snap.generation != observed
                        && self.freshness(&snap, self.now()) != Freshness::Expired =>
                {
                    (snap, true)
                }
                _ => {
                    if self.now() < self.retry_at.load(Ordering::SeqCst) {
                        return Err(self.unavailable_error());
                    }
                    match self.board(wanted, Some(observed)).await {
                        Err(installed) => (installed, true),
                        Ok((ticket, joined)) => match ticket.outcome(deadline).await {
                            Some(Ok(snap)) => (snap, joined),
                            Some(Err(_)) => return Err(self.unavailable_error()),
                            None => {
                                return self.servable().ok_or_else(|| self.unavailable_error());
                            }
                        },
                    }
                }
            };
            let missing = wanted.is_some_and(|kid| !self.names_key(&snap.keys, kid));
            if missing && predates_request && one_more && !self.cooling_down(self.now()) {
                one_more = false;
                observed = snap.generation;
                continue;
            }
            if self.freshness(&snap, self.now()) == Freshness::Expired {
                return Err(self.unavailable_error());
            }
            return Ok(snap);
        }
    }

    /// A refresh that ignores the cooldown and backoff and reports the fetch error itself
    /// (for `JwksVerifier::refresh`). Joins a refresh already in flight.
    pub(crate) async fn force_refresh(self: &Arc<Self>) -> Result<(), FetchError> {
        // Without `newer_than` boarding always gives a ticket; a set already there would do.
        let Ok((ticket, _)) = self.board(None, None).await else {
            return Ok(());
        };
        match ticket.outcome(None).await {
            Some(outcome) => outcome.map(|_| ()),
            None => Err(FetchError::transient(
                "the key set refresh was dropped before it finished (runtime shut down?)",
            )),
        }
    }

    /// Whether a token naming `kid` finds a key in `keys` (exactly, or as the newest version
    /// of a bare base when versioned kids are on): what `KeySet::select` looks up.
    fn names_key(&self, keys: &KeySet, wanted: &str) -> bool {
        if keys.kids().any(|k| k == wanted) {
            return true;
        }
        let Some(VersionedKid::Bare(base)) = self
            .policy
            .versioned_kids
            .then(|| kid::parse(wanted))
            .flatten()
        else {
            return false;
        };
        keys.kids().any(
            |k| matches!(kid::parse(k), Some(VersionedKid::Versioned { base: b, .. }) if b == base),
        )
    }

    /// A parsed set no token could use under this configuration is a failed fetch: the last
    /// good set stays. (`KeySet::parse` already fails a set whose every key was skipped.)
    /// `error`, naming the source's URL when it has one (a document error says where the
    /// document came from, as fetch errors do).
    fn named(&self, error: FetchError) -> FetchError {
        match self.source.url() {
            Some(url) => error.map_message(|m| format!("{}: {m}", crate::fetch::redacted(url))),
            None => error,
        }
    }

    fn check_usable(&self, keys: KeySet) -> Result<KeySet, FetchError> {
        if self.config.require_kid && keys.kids().next().is_none() {
            return Err(FetchError::permanent(format!(
                "JWKS has {} usable key(s) but none with a `kid`, and tokens without kid are \
                 refused (allow_missing_kid is off): the set is unusable",
                keys.len()
            )));
        }
        Ok(keys)
    }

    /// The fetch: one fetch (with the source's own retries), parse and install. Runs once per
    /// flight however many requests are waiting. `wanted`: the unknown kid that started it;
    /// when a successful fetch lacks it, the unknown-kid cooldown starts (before the set is
    /// installed, so that no waiter sees the set without the cooldown).
    async fn fetch_and_install(&self, wanted: Option<&str>) -> Result<Arc<Snapshot>, FetchError> {
        let previous = self.current.load_full();
        self.counters.fetches.fetch_add(1, Ordering::Relaxed);
        let validators = previous.as_ref().map(|p| &p.validators);
        let started = std::time::Instant::now();
        let fetched = self.source.fetch(validators).await;
        let result = match &fetched {
            Ok(Fetched::Document { .. }) => "200",
            Ok(Fetched::NotModified { .. }) => "304",
            Err(_) => "error",
        };
        crate::metrics::key_fetch(&self.label, result, started.elapsed());
        let outcome = match fetched {
            Ok(Fetched::Document {
                body,
                max_age,
                validators,
            }) => KeySet::parse(&body, self.policy)
                .map_err(|e| FetchError::permanent(e.to_string()))
                .and_then(|keys| self.check_usable(keys))
                .map_err(|e| self.named(e))
                .map(|keys| (Arc::new(keys), max_age, validators)),
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
                let ahead = refresh_ahead_point(ttl_ms, self.config.refresh_ahead, jitter_seed());
                if wanted.is_some_and(|kid| !self.names_key(&keys, kid)) {
                    let until = now.saturating_add(millis(self.config.unknown_kid_cooldown));
                    self.cooldown_until.fetch_max(until, Ordering::SeqCst);
                }
                let snap = Arc::new(Snapshot {
                    keys,
                    generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
                    fetched_at: now,
                    refresh_at: now.saturating_add(ahead),
                    fresh_until: now.saturating_add(ttl_ms),
                    validators,
                });
                self.retry_at.store(i64::MIN, Ordering::SeqCst);
                self.current.store(Some(Arc::clone(&snap)));
                if let Ok(mut last) = self.last_error.lock() {
                    *last = None;
                }
                crate::metrics::key_set(&self.label, Some(Duration::ZERO), false);
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
                    Ordering::SeqCst,
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
            .load(Ordering::SeqCst)
            .saturating_sub(now);
        let age = snap
            .as_ref()
            .map(|s| Duration::from_millis(u64::try_from(now - s.fetched_at).unwrap_or(0)));
        // Not fresh = stale, expired or never fetched: a dashboard must not read an absent
        // key set as a healthy one.
        let fresh = matches!(freshness, Some(Freshness::Fresh | Freshness::RefreshAhead));
        crate::metrics::key_set(&self.label, age, !fresh);
        CacheStatus {
            generation: snap.as_ref().map_or(0, |s| s.generation),
            kids: snap
                .as_ref()
                .map(|s| s.keys.kids().map(str::to_owned).collect())
                .unwrap_or_default(),
            usable: matches!(
                freshness,
                Some(Freshness::Fresh | Freshness::RefreshAhead | Freshness::Stale)
            ),
            fresh: matches!(freshness, Some(Freshness::Fresh | Freshness::RefreshAhead)),
            stale: freshness == Some(Freshness::Stale),
            age,
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

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
