//! When a key set is due for its background refresh: the refresh-ahead point, jittered.

/// Spread of the refresh-ahead point: the configured fraction of the TTL, moved by up to
/// this much either way (0.8 gives 75-85%), so that replicas started together, which fetch
/// the same set with the same TTL, do not all refresh in the same second.
const REFRESH_JITTER: f64 = 0.05;

/// A cheap random number, drawn once per fetch (not per request): std's randomly keyed hasher,
/// as the fetch retries' backoff does; no RNG crate for a spread that needs no quality.
pub(crate) fn jitter_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Milliseconds after the fetch at which a background refresh starts: `fraction` of the TTL
/// +/- [`REFRESH_JITTER`] (by `seed`), kept within the TTL.
pub(crate) fn refresh_ahead_point(ttl_ms: i64, fraction: f64, seed: u64) -> i64 {
    #[allow(clippy::cast_precision_loss)]
    let unit = (seed >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let jittered = (fraction + (unit * 2.0 - 1.0) * REFRESH_JITTER).clamp(0.0, 1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let ahead = (ttl_ms as f64 * jittered) as i64;
    ahead
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_point_spreads_within_the_window() {
        let ttl = 600_000;
        let points: Vec<i64> = (0..64u64)
            .map(|i| refresh_ahead_point(ttl, 0.8, i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        for p in &points {
            assert!(
                (450_000..=510_000).contains(p),
                "{p} outside 75-85% of the TTL"
            );
        }
        let (min, max) = (points.iter().min().unwrap(), points.iter().max().unwrap());
        assert!(max - min > 30_000, "points are spread: {min}..{max}");
        assert_eq!(
            refresh_ahead_point(ttl, 0.8, 0),
            450_000,
            "seed 0: the low edge"
        );
        assert_eq!(
            refresh_ahead_point(ttl, 0.8, u64::MAX),
            510_000,
            "the high edge"
        );
    }
}
