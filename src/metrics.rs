//! Metric names and labels, and the crate's recording helpers.
//!
//! With the `metrics` feature, the crate records through the [`metrics`](https://docs.rs/metrics)
//! facade: install the exporter of your choice (for Prometheus,
//! `metrics-exporter-prometheus`) and these series appear. Without the feature, the recording
//! helpers are empty inline functions and compile to nothing; the names below stay available
//! so that dashboards and tests can refer to them.
//!
//! Every label value is one of a fixed, documented set, or (for the `jwks` label) the URL the
//! verifier was configured with: cardinality is bounded by the configuration, never by traffic.
//! No label, and no value, ever contains token data, claims or secrets.
//!
//! | Name | Kind | Labels |
//! |------|------|--------|
//! | [`REQUESTS`] | counter | `outcome`: `accepted`, `refused`, `unavailable`; `reason`: [`AuthReason::code`](crate::AuthReason::code), or `none` when accepted; `token_cache`: `hit`, `miss`, `none` |
//! | [`KEY_FETCHES`] | counter | `jwks`; `result`: `200`, `304`, `error` |
//! | [`KEY_FETCH_DURATION`] | histogram (seconds) | `jwks`; `result` |
//! | [`KEY_SET_AGE`] | gauge (seconds) | `jwks` |
//! | [`KEY_SET_STALE`] | gauge (0 fresh, 1 stale, expired or never fetched) | `jwks` |
//! | [`KEY_SET_STALE_USES`] | counter | `jwks` |
//! | [`UNKNOWN_KID_COOLDOWN`] | counter | `jwks` |
//! | [`IDENTITY_FETCHES`] | counter | `result`: `ok`, `refused`, `unavailable`, `error` |
//! | [`INTROSPECTIONS`] | counter | `result`: `active`, `inactive`, `refused`, `error`, `saturated` |
//!
//! The `jwks` label is the key set's URL without query or fragment (`custom` for a
//! [`KeySource`](crate::jwks::KeySource) that does not name itself). The key-set gauges are
//! updated after every fetch and whenever `status()` is read (as the
//! `jwks_auth::health` probes do), so a probe every few seconds keeps them current.
//!
//! Read [`JwksVerifier::status`](crate::JwksVerifier::status) of the verifier you gave the
//! layer in the handler that renders your metrics, before rendering (as `examples/metrics.rs`
//! does). Besides the gauges, it publishes the accepted requests decided from the
//! verified-token cache: those are counted per verifier without calling the recorder (a
//! recorder call per request would cost more than the cached verification it counts), in 16
//! shards that threads take round robin, and published when a shard reaches 64, at every
//! `status()` read, and when the verifier is dropped. There is no time bound otherwise:
//! without a `status()` read the `token_cache="hit"` series can trail by up to 63 per shard in
//! use (at most 1,008 per verifier), for as long as traffic is too low to fill a shard, and a
//! hit ratio then reads low (misses are recorded at once). An exporter that renders on its own
//! (`metrics-exporter-prometheus`'s HTTP listener, a push gateway) has no "before rendering":
//! keep the `jwks_auth::health` probes on, or read `status()` from a periodic task (every
//! scrape interval). Everything else is recorded as it happens.

/// Requests seen by the layer: `outcome` (`accepted`, `refused` for 401/403, `unavailable`
/// for 503), `reason` (the refusal's stable code; `none` when accepted) and `token_cache`, how
/// the verified-token cache took part:
///
/// - `hit`: the decision reused a verification from the cache (no signature checked);
/// - `miss`: the token reached the verifier and was not answered from the cache (verified in
///   full, refused before its signature, introspected, or the cache is off);
/// - `none`: no token reached the verifier (missing or malformed credentials), or a per-route
///   requirement or an extractor refused the request after the layer.
///
/// The cache's hit ratio is therefore
/// `sum(rate(jwks_auth_requests_total{token_cache="hit"}[5m])) /
/// sum(rate(jwks_auth_requests_total{token_cache=~"hit|miss"}[5m]))`. It is a label rather
/// than a counter of its own so that a request served from the cache records one series, not
/// two: the repeat-token path is short enough that a second increment shows in its cost.
/// Introspected opaque tokens are always `miss` (their answers have a cache of their own, seen
/// in [`INTROSPECTIONS`] as the calls it saved): with
/// [`Routing::AllTokens`](crate::introspection::Routing::AllTokens) the ratio is 0.
///
/// A per-route requirement ([`Require`](crate::Require)) or an extractor
/// ([`Authorized`](crate::authz::Authorized), [`User`](crate::User) or [`Claims`](crate::Claims) under
/// an optional layer) that refuses a request adds a `refused` count with its reason
/// (`insufficient_scope`, `missing_role`, `missing_token`, ...) and `token_cache` `none`. A
/// token-bearing request was `accepted` by the layer first, so it counts once under each: to
/// count requests, sum the layer's own outcomes (`token_cache` `hit`, `miss`, or `none` with
/// `reason` `missing_token` and the like), or mind the double count.
///
/// Not counted: requests the layer lets through without a verified token (an
/// [`optional`](crate::JwksAuthLayer::optional) layer's anonymous requests, the dev-user
/// bypass), and [`JwksVerifier::verify`](crate::JwksVerifier::verify) called outside the layer
/// (the key-set series still move).
pub const REQUESTS: &str = "jwks_auth_requests_total";
/// Key-set fetches (a retried fetch counts once): `jwks`, `result` = `200` (a new document),
/// `304` (not modified, the cached set kept) or `error` (failed; the previous set stays).
pub const KEY_FETCHES: &str = "jwks_auth_key_fetches_total";
/// Duration of each key-set fetch in seconds, retries included: `jwks`, `result`.
pub const KEY_FETCH_DURATION: &str = "jwks_auth_key_fetch_duration_seconds";
/// Age of the installed key set in seconds: `jwks`.
pub const KEY_SET_AGE: &str = "jwks_auth_key_set_age_seconds";
/// 0 while the key set is fresh; 1 when it is not: past its TTL (still served within
/// `max_stale`), past `max_stale`, or never fetched. `jwks`.
pub const KEY_SET_STALE: &str = "jwks_auth_key_set_stale";
/// Requests served from a key set past its TTL: `jwks`.
pub const KEY_SET_STALE_USES: &str = "jwks_auth_key_set_stale_uses_total";
/// Unknown-kid requests refused at once during the unknown-kid cooldown: `jwks`.
pub const UNKNOWN_KID_COOLDOWN: &str = "jwks_auth_unknown_kid_cooldown_refusals_total";
/// Cloudflare Access identity fetches: `result` = `ok`, `refused` (Access refused the
/// token), `unavailable` (outage, timeout) or `error` (an unreadable answer).
pub const IDENTITY_FETCHES: &str = "jwks_auth_identity_fetches_total";
/// Calls to the token introspection endpoint (cache hits are not calls): `result` = `active`,
/// `inactive`, `refused` (active, but its claims fail the verifier's checks), `error` (no
/// usable answer: outage, refused client credentials, malformed answer) or `saturated` (not
/// called: `max_in_flight` calls already in the air; the request got 503).
pub const INTROSPECTIONS: &str = "jwks_auth_introspections_total";

/// How the verified-token cache took part in a request: the `token_cache` label of
/// [`REQUESTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The decision came from the cache.
    Hit,
    /// The token reached the verifier; the cache did not answer.
    Miss,
    /// No token reached the verifier.
    NoToken,
}

impl Lookup {
    #[cfg(feature = "metrics")]
    fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::NoToken => "none",
        }
    }
}

#[cfg(feature = "metrics")]
mod record {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::error::{AuthError, AuthErrorKind};

    /// An accepted request the verified-token cache did not decide (verified in full, or
    /// introspected): it costs a signature check or a call, next to which a registry lookup
    /// is nothing.
    #[cold]
    #[inline(never)]
    pub(crate) fn accepted_miss() {
        ::metrics::counter!(
            super::REQUESTS,
            "outcome" => "accepted",
            "reason" => "none",
            "token_cache" => "miss"
        )
        .increment(1);
    }

    /// Publishes `n` accepted cache hits.
    #[cold]
    #[inline(never)]
    pub(crate) fn accepted_hits(n: u64) {
        ::metrics::counter!(
            super::REQUESTS,
            "outcome" => "accepted",
            "reason" => "none",
            "token_cache" => "hit"
        )
        .increment(n);
    }

    // Everything below is off the accepted path: kept out of line, so that the code of the
    // functions that call it (the key cache's `usable` check is on every request) stays what
    // it is without the feature.
    #[cold]
    #[inline(never)]
    pub(crate) fn refused(error: &AuthError, lookup: super::Lookup) {
        let outcome = if error.kind() == AuthErrorKind::KeysUnavailable {
            "unavailable"
        } else {
            "refused"
        };
        ::metrics::counter!(
            super::REQUESTS,
            "outcome" => outcome,
            "reason" => error.reason().code(),
            "token_cache" => lookup.label()
        )
        .increment(1);
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn key_fetch(jwks: &Arc<str>, result: &'static str, took: Duration) {
        let labels = [
            ::metrics::Label::new("jwks", Arc::clone(jwks)),
            ::metrics::Label::from_static_parts("result", result),
        ];
        ::metrics::counter!(super::KEY_FETCHES, labels.iter()).increment(1);
        ::metrics::histogram!(super::KEY_FETCH_DURATION, labels.iter()).record(took);
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn key_set(jwks: &Arc<str>, age: Option<Duration>, stale: bool) {
        let labels = [::metrics::Label::new("jwks", Arc::clone(jwks))];
        if let Some(age) = age {
            ::metrics::gauge!(super::KEY_SET_AGE, labels.iter()).set(age);
        }
        ::metrics::gauge!(super::KEY_SET_STALE, labels.iter()).set(f64::from(u8::from(stale)));
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn stale_use(jwks: &Arc<str>) {
        let labels = [::metrics::Label::new("jwks", Arc::clone(jwks))];
        ::metrics::counter!(super::KEY_SET_STALE_USES, labels.iter()).increment(1);
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn cooldown_refusal(jwks: &Arc<str>) {
        let labels = [::metrics::Label::new("jwks", Arc::clone(jwks))];
        ::metrics::counter!(super::UNKNOWN_KID_COOLDOWN, labels.iter()).increment(1);
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn identity_fetch(result: &'static str) {
        ::metrics::counter!(super::IDENTITY_FETCHES, "result" => result).increment(1);
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn introspection(result: &'static str) {
        ::metrics::counter!(super::INTROSPECTIONS, "result" => result).increment(1);
    }
}

// Without the feature: the same signatures, empty, so that every call site compiles to nothing.
#[cfg(not(feature = "metrics"))]
#[allow(clippy::inline_always)]
mod record {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::error::AuthError;

    #[inline(always)]
    pub(crate) fn accepted_miss() {}
    #[inline(always)]
    pub(crate) fn refused(_: &AuthError, _: super::Lookup) {}
    #[inline(always)]
    pub(crate) fn key_fetch(_: &Arc<str>, _: &'static str, _: Duration) {}
    #[inline(always)]
    pub(crate) fn key_set(_: &Arc<str>, _: Option<Duration>, _: bool) {}
    #[inline(always)]
    pub(crate) fn stale_use(_: &Arc<str>) {}
    #[inline(always)]
    pub(crate) fn cooldown_refusal(_: &Arc<str>) {}
    #[inline(always)]
    pub(crate) fn identity_fetch(_: &'static str) {}
    #[inline(always)]
    pub(crate) fn introspection(_: &'static str) {}
}

pub(crate) use record::{
    accepted_miss, cooldown_refusal, identity_fetch, introspection, key_fetch, key_set, refused,
    stale_use,
};

/// Accepted requests decided from the verified-token cache, counted per verifier in
/// cache-line-sized shards (threads take one each, round robin) and published to the recorder in
/// batches: when a shard reaches `BATCH` hits, at every
/// [`JwksVerifier::status`](crate::JwksVerifier::status) read, and when the verifier is
/// dropped. A hit then costs one uncontended atomic add instead of a recorder call: the
/// facade's lookups and the exporter's own increment were most of what the `metrics` feature
/// added to the repeat-token path. Publishing registers the series anew each time, so a series
/// an exporter dropped as idle comes back, and a new recorder gets its own.
#[derive(Default)]
pub(crate) struct HitCounts {
    #[cfg(feature = "metrics")]
    shards: hits::Shards,
}

impl HitCounts {
    /// Counts one accepted cache hit.
    #[inline]
    pub(crate) fn hit(&self) {
        #[cfg(feature = "metrics")]
        self.shards.hit();
    }

    /// Publishes every shard's pending hits.
    pub(crate) fn publish(&self) {
        #[cfg(feature = "metrics")]
        self.shards.publish();
    }
}

impl Drop for HitCounts {
    fn drop(&mut self) {
        self.publish();
    }
}

#[cfg(feature = "metrics")]
mod hits {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::record::accepted_hits;

    /// Hits a shard holds before it publishes them itself.
    pub(super) const BATCH: u64 = 64;
    const SHARDS: usize = 16;

    /// A counter alone on its cache line(s), so that threads on different shards never
    /// contend (128 bytes: adjacent-line prefetching pairs 64-byte lines on x86).
    #[derive(Default)]
    #[repr(align(128))]
    struct Shard(AtomicU64);

    #[derive(Default)]
    pub(super) struct Shards([Shard; SHARDS]);

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        /// This thread's shard, chosen at its first hit.
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    fn my_shard() -> usize {
        MINE.try_with(|mine| {
            let mut index = mine.get();
            if index == usize::MAX {
                index = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
                mine.set(index);
            }
            index
        })
        .unwrap_or(0) // a thread being torn down: any shard will do
    }

    impl Shards {
        #[inline]
        pub(super) fn hit(&self) {
            let shard = &self.0[my_shard()].0;
            if shard.fetch_add(1, Ordering::Relaxed) + 1 >= BATCH {
                // Whoever swaps takes what is there: every hit is published exactly once.
                let n = shard.swap(0, Ordering::Relaxed);
                if n > 0 {
                    accepted_hits(n);
                }
            }
        }

        pub(super) fn publish(&self) {
            let pending: u64 = self.0.iter().map(|s| s.0.swap(0, Ordering::Relaxed)).sum();
            if pending > 0 {
                accepted_hits(pending);
            }
        }
    }
}

/// Counts a Cloudflare Access identity fetch by its result, and passes the result through.
#[inline]
pub(crate) fn identity_fetched<T>(
    result: Result<T, crate::cloudflare::IdentityError>,
) -> Result<T, crate::cloudflare::IdentityError> {
    use crate::cloudflare::IdentityErrorKind;
    identity_fetch(match &result {
        Ok(_) => "ok",
        Err(e) => match e.kind() {
            IdentityErrorKind::Unavailable => "unavailable",
            IdentityErrorKind::Rejected | IdentityErrorKind::InvalidToken => "refused",
            _ => "error",
        },
    });
    result
}

/// The `jwks` label of a key source: its URL without query or fragment (which could carry
/// credentials), or `custom`.
pub(crate) fn jwks_label(url: Option<&url::Url>) -> std::sync::Arc<str> {
    match url {
        Some(url) => crate::fetch::redacted(url).into(),
        None => "custom".into(),
    }
}
