//! Time, injectable so that expiry, cooldowns and staleness can be tested exactly.
//!
//! Two readings: wall time, for what is dated in the world (a token's `exp`/`nbf`/`iat`, HTTP
//! dates, key publication windows), and monotonic time, for every duration the crate measures
//! itself (key-set TTL, refresh ahead, unknown-kid cooldown, failure backoff, `max_stale`,
//! discovery TTL). A wall-clock jump (NTP step, an operator fixing the date) then moves claim
//! checks, as it must, but can neither freeze nor expire the key cache.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::claims::NumericDate;

/// A source of the current time: wall time (milliseconds since the Unix epoch) and a monotonic
/// reading.
///
/// The default is [`SystemClock`]. Tests inject a [`ManualClock`]. An implementation must
/// provide both readings: the monotonic one is deliberately not derived from wall time (that
/// would let a wall-clock jump freeze the key cache), nor from the system's `Instant` (that
/// would ignore a test clock's wall time moving).
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since 1970-01-01T00:00:00Z. May jump in either direction; used only for
    /// claim times and HTTP dates.
    fn now_millis(&self) -> i64;

    /// Time elapsed since an arbitrary fixed origin (the same for the life of the clock).
    /// Never decreases and does not follow changes of wall time; every duration the crate
    /// measures (TTLs, cooldowns, backoff, staleness) runs on it.
    fn monotonic(&self) -> Duration;
}

/// The system clock: wall time from [`SystemTime`], monotonic time from [`Instant`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn monotonic(&self) -> Duration {
        // One origin per process, so that every handle of the system clock agrees.
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

/// A clock that only moves when told to: for tests of expiry, cooldowns and staleness.
///
/// [`advance`](Self::advance) is time passing: both readings move. [`set_unix`](Self::set_unix)
/// is a wall-clock jump (an NTP step, a corrected date): only wall time moves, so claim times
/// see it and the key cache's durations do not.
///
/// ```
/// use jwks_auth::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::at_unix(1_700_000_000);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now_millis(), 1_700_000_005_000);
/// assert_eq!(clock.monotonic(), Duration::from_secs(5));
/// // A jump of the wall clock, an hour ahead: the monotonic reading does not follow.
/// clock.set_unix(1_700_003_605);
/// assert_eq!(clock.monotonic(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<ManualReadings>);

#[derive(Debug)]
struct ManualReadings {
    wall_ms: AtomicI64,
    monotonic_ms: AtomicU64,
}

impl ManualClock {
    /// A clock whose wall time stands at `secs` seconds since the epoch, and whose monotonic
    /// reading stands at zero.
    #[must_use]
    pub fn at_unix(secs: i64) -> Self {
        Self::at_millis(secs.saturating_mul(1000))
    }

    /// A clock whose wall time stands at the system's current time, and whose monotonic
    /// reading stands at zero.
    #[must_use]
    pub fn now() -> Self {
        Self::at_millis(SystemClock.now_millis())
    }

    fn at_millis(wall_ms: i64) -> Self {
        Self(Arc::new(ManualReadings {
            wall_ms: AtomicI64::new(wall_ms),
            monotonic_ms: AtomicU64::new(0),
        }))
    }

    /// Lets time pass: moves both the wall and the monotonic reading forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0
            .wall_ms
            .fetch_add(i64::try_from(ms).unwrap_or(i64::MAX), Ordering::SeqCst);
        self.0.monotonic_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the wall clock to `secs` seconds since the epoch, forward or back, without moving
    /// the monotonic reading: a wall-clock jump. Claim checks follow it; TTLs, cooldowns and
    /// backoff do not.
    pub fn set_unix(&self, secs: i64) {
        self.0
            .wall_ms
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.wall_ms.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_millis(self.0.monotonic_ms.load(Ordering::SeqCst))
    }
}

/// A shared clock handle.
#[derive(Clone)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl SharedClock {
    /// Wall-clock milliseconds since the epoch.
    pub(crate) fn now_millis(&self) -> i64 {
        self.0.now_millis()
    }

    /// Wall-clock time as a NumericDate: what claim times are compared with.
    pub(crate) fn now(&self) -> NumericDate {
        NumericDate::from_millis(self.0.now_millis())
    }

    /// Monotonic milliseconds (from the clock's own origin): what cache durations are
    /// measured on.
    pub(crate) fn monotonic_millis(&self) -> i64 {
        millis(self.0.monotonic())
    }
}

// The crate's one clock handle, handed to the verifier the issuer's signer presets: both then
// read the same clock.
impl Clock for SharedClock {
    fn now_millis(&self) -> i64 {
        Self::now_millis(self)
    }

    fn monotonic(&self) -> Duration {
        self.0.monotonic()
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        Self(Arc::new(SystemClock))
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
