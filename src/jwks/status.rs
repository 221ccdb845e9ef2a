//! What the key cache reports about itself: [`CacheStatus`].

use std::time::Duration;

/// A point-in-time view of the key cache, for health checks and debugging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatus {
    /// Generation of the installed set (0 when none was ever obtained).
    pub generation: u64,
    /// Kids of the installed set.
    pub kids: Vec<String>,
    /// Whether a key set can be served now: one was obtained and it is fresh or stale, not
    /// past `max_stale` (for several issuers: every one's). What a readiness probe asks.
    pub usable: bool,
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
        self.usable &= other.usable;
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
