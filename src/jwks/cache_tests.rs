//! Unit tests of the key cache's schedule: the jittered refresh-ahead point.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::algorithms::Algorithms;
use crate::clock::ManualClock;
use crate::jwks::source::StaticJwks;

const TTL: Duration = Duration::from_secs(600);

fn cache(clock: &ManualClock) -> Arc<KeyCache> {
    let n = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        [0xf1; 256],
    );
    let doc =
        format!(r#"{{"keys":[{{"kty":"RSA","kid":"k","alg":"RS256","n":"{n}","e":"AQAB"}}]}}"#);
    Arc::new(KeyCache::new(
        Arc::new(StaticJwks(Bytes::from(doc))),
        KeyPolicy {
            algorithms: Algorithms::ASYMMETRIC,
            versioned_kids: false,
        },
        CacheConfig {
            ttl: TTL,
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(86_400),
            refresh_ahead: 0.8,
            unknown_kid_cooldown: Duration::ZERO,
            failure_backoff: Duration::ZERO,
            max_stale: Duration::from_secs(3_600),
            max_wait: Duration::from_secs(1),
            require_kid: true,
        },
        SharedClock(Arc::new(clock.clone())),
    ))
}

/// Milliseconds after the fetch at which `cache` is due, found on the injected clock: the
/// first millisecond whose freshness is `RefreshAhead` (a binary search over the window).
fn due_after(cache: &KeyCache, clock: &ManualClock) -> i64 {
    let snap = cache.current.load_full().expect("a set");
    let fetched = snap.fetched_at;
    let at = |ms: i64| {
        let now = cache.now();
        clock.advance(Duration::from_millis(
            u64::try_from(fetched + ms - now).unwrap_or(0),
        ));
        cache.freshness(&snap, cache.now())
    };
    // Monotonic: probe upwards only. Coarse steps of 1 s, then 1 ms steps in the last second.
    let mut second = 0;
    while at(second + 1_000) == Freshness::Fresh {
        second += 1_000;
    }
    let mut ms = second + 1;
    while at(ms) == Freshness::Fresh {
        ms += 1;
    }
    ms
}

#[tokio::test]
async fn replicas_started_together_refresh_at_different_points_within_the_window() {
    let ttl = i64::try_from(TTL.as_millis()).expect("ms");
    let (low, high) = (ttl * 75 / 100, ttl * 85 / 100);
    let mut points = Vec::new();
    // Eight replicas, each with its own clock, all fetching the same set at their start.
    for _ in 0..8 {
        let clock = ManualClock::at_unix(1_000_000);
        let cache = cache(&clock);
        cache.force_refresh().await.expect("static set");
        assert_eq!(cache.status().fetches, 1);
        let due = due_after(&cache, &clock);
        assert!(
            (low..=high).contains(&due),
            "due {due} ms after the fetch, outside 75-85% of {ttl} ms"
        );
        points.push(due);
    }
    points.sort_unstable();
    points.dedup();
    // Equal points for all eight would take seven 1-in-60,000 coincidences in a row.
    assert!(
        points.len() > 1,
        "every replica due at the same instant: {points:?}"
    );
}
