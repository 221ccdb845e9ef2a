//! Time, injectable so that expiry, cooldowns and staleness can be tested exactly.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::claims::NumericDate;

/// A source of the current time, in milliseconds since the Unix epoch.
///
/// The default is the system clock. Tests inject a [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to: for tests of expiry, cooldowns and staleness.
///
/// ```
/// use jwks_auth::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::at_unix(1_700_000_000);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now_millis(), 1_700_000_005_000);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `secs` seconds since the epoch.
    #[must_use]
    pub fn at_unix(secs: i64) -> Self {
        Self(Arc::new(AtomicI64::new(secs.saturating_mul(1000))))
    }

    /// A clock standing at the system's current time.
    #[must_use]
    pub fn now() -> Self {
        Self(Arc::new(AtomicI64::new(SystemClock.now_millis())))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `secs` seconds since the epoch.
    pub fn set_unix(&self, secs: i64) {
        self.0.store(secs.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
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
