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
//! Read [`JwksVerifier::status`](crate::JwksVerifier::status) in the handler that renders
//! your metrics, before rendering (as `examples/metrics.rs` does). Besides the gauges, it
//! makes the accepted-request counters register their handles with the recorder again: they
//! are cached per thread (a registry lookup per request would cost more than the cached
//! verification it counts), and an exporter that drops idle series (Prometheus
//! `idle_timeout` for counters) would otherwise leave them counting into a series nobody
//! renders. The same holds for tests that replace one local recorder with another on the
//! same thread: read `status()` after the swap, or give each recorder its own thread.

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

    // The accepted-request counters, one per `token_cache` value, are looked up in the
    // recorder once per thread, not per request: a registry lookup costs more than the cached
    // verification it would count (measured with the Prometheus exporter: +14% on the repeat
    // path per lookup pair). A cached handle is used again only while two things hold:
    // - the recorder is the same (its address): installing a recorder later, or a test's
    //   local recorder, is seen at the next call;
    // - no `status()` read happened since it was registered (the epoch): a handle outlives
    //   its series when an exporter drops idle series (Prometheus `idle_timeout`; see
    //   metrics-rs/metrics#372) or when a dropped local recorder's address is reused by the
    //   next one. Every `status()` read (each health probe, the `/metrics` handler) makes every
    //   thread register its handles again at its next hit.
    // A hit records this one counter and nothing else.
    mod hot {
        use std::cell::RefCell;
        use std::sync::atomic::{AtomicU64, Ordering};

        use ::metrics::{Counter, Key, Label, Level, Metadata, Recorder};

        use super::super::REQUESTS;

        static HIT_LABELS: [Label; 3] = [
            Label::from_static_parts("outcome", "accepted"),
            Label::from_static_parts("reason", "none"),
            Label::from_static_parts("token_cache", "hit"),
        ];
        static MISS_LABELS: [Label; 3] = [
            Label::from_static_parts("outcome", "accepted"),
            Label::from_static_parts("reason", "none"),
            Label::from_static_parts("token_cache", "miss"),
        ];
        static HIT: Key = Key::from_static_parts(REQUESTS, &HIT_LABELS);
        static MISS: Key = Key::from_static_parts(REQUESTS, &MISS_LABELS);
        static METADATA: Metadata<'static> =
            Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

        /// Moves on at every `status()` read; handles registered before are registered again.
        static EPOCH: AtomicU64 = AtomicU64::new(0);

        struct Handles {
            recorder: usize,
            epoch: u64,
            hit: Counter,
            miss: Counter,
        }

        thread_local! {
            static HANDLES: RefCell<Option<Handles>> = const { RefCell::new(None) };
        }

        pub(crate) fn register_again() {
            EPOCH.fetch_add(1, Ordering::Relaxed);
        }

        #[inline]
        pub(crate) fn accepted(hit: bool) {
            let key = if hit { &HIT } else { &MISS };
            ::metrics::with_recorder(|recorder| {
                let id = std::ptr::from_ref::<dyn Recorder>(recorder).cast::<()>() as usize;
                let epoch = EPOCH.load(Ordering::Relaxed);
                let cached = HANDLES.try_with(|cell| {
                    let mut cell = cell.borrow_mut();
                    let handles = match &mut *cell {
                        Some(h) if h.recorder == id && h.epoch == epoch => h,
                        slot => slot.insert(Handles {
                            recorder: id,
                            epoch,
                            hit: recorder.register_counter(&HIT, &METADATA),
                            miss: recorder.register_counter(&MISS, &METADATA),
                        }),
                    };
                    if hit { &handles.hit } else { &handles.miss }.increment(1);
                });
                // The thread is being torn down (its locals are gone): count without a cache.
                if cached.is_err() {
                    recorder.register_counter(key, &METADATA).increment(1);
                }
            });
        }
    }

    /// Handles cached for the hot counters are registered again at each thread's next hit.
    pub(crate) fn register_again() {
        hot::register_again();
    }

    /// An accepted request; `hit` when the verified-token cache decided it.
    #[inline]
    pub(crate) fn accepted(hit: bool) {
        hot::accepted(hit);
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
    pub(crate) fn accepted(_: bool) {}
    #[inline(always)]
    pub(crate) fn register_again() {}
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
    accepted, cooldown_refusal, identity_fetch, introspection, key_fetch, key_set, refused,
    register_again, stale_use,
};

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
