//! How long a fetched document stays fresh, from its response headers (RFC 9111 section 4.2).

use std::time::{Duration, SystemTime};

use http::{HeaderMap, header};

/// The freshness left to a response (RFC 9111 sections 4.2.1 and 4.2.3): its lifetime -
/// `Cache-Control: max-age=N` (zero for `no-cache` / `no-store`), else `Expires` minus `Date`
/// (an `Expires` that does not parse means "already expired") - minus its `Age` (the time a
/// CDN or proxy already held it). Zero when `Age` reaches the lifetime; the cache clamps the
/// result to its minimum TTL. `now` stands in for a missing `Date`; it comes from the
/// verifier's injected clock, never from the system directly.
///
/// The apparent age (our clock minus the server's `Date`) is not used: it measures the clock
/// difference between two machines as much as the time in transit.
pub(crate) fn max_age(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let lifetime = cache_control_max_age(headers).or_else(|| expires(headers, now))?;
    Some(lifetime.saturating_sub(age(headers)))
}

/// The `Age` header (RFC 9111 section 5.1): delta-seconds; a value too large to represent is
/// 2^31 s (section 1.2.2); a missing or malformed one counts as zero.
fn age(headers: &HeaderMap) -> Duration {
    let Some(value) = headers.get(header::AGE).and_then(|v| v.to_str().ok()) else {
        return Duration::ZERO;
    };
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Duration::ZERO;
    }
    Duration::from_secs(value.parse::<u64>().unwrap_or(1 << 31).min(1 << 31))
}

fn expires(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let expires = headers.get(header::EXPIRES)?.to_str().ok()?;
    let Ok(expires) = httpdate::parse_http_date(expires) else {
        return Some(Duration::ZERO);
    };
    let date = headers
        .get(header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or(now);
    Some(expires.duration_since(date).unwrap_or(Duration::ZERO))
}

fn cache_control_max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut found = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(secs) = lower.strip_prefix("max-age=")
                && let Ok(secs) = secs.trim_matches('"').parse::<u64>()
            {
                found = Some(Duration::from_secs(secs));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn max_age_reads_cache_control() {
        let now = at(0);
        let mut h = HeaderMap::new();
        assert_eq!(max_age(&h, now), None);
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=300, must-revalidate".parse().unwrap(),
        );
        assert_eq!(max_age(&h, now), Some(Duration::from_secs(300)));
        h.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&h, now), Some(Duration::ZERO));
        h.insert(header::CACHE_CONTROL, "max-age=junk".parse().unwrap());
        assert_eq!(max_age(&h, now), None);
    }

    #[test]
    fn expires_minus_date_when_there_is_no_max_age() {
        let now = at(0);
        let mut h = HeaderMap::new();
        h.insert(
            header::DATE,
            "Sun, 01 Nov 2026 10:00:00 GMT".parse().unwrap(),
        );
        h.insert(
            header::EXPIRES,
            "Sun, 01 Nov 2026 10:05:00 GMT".parse().unwrap(),
        );
        assert_eq!(max_age(&h, now), Some(Duration::from_secs(300)));
        h.insert(header::EXPIRES, "0".parse().unwrap());
        assert_eq!(
            max_age(&h, now),
            Some(Duration::ZERO),
            "an invalid Expires is already expired"
        );
        h.insert(
            header::EXPIRES,
            "Sun, 01 Nov 2026 10:05:00 GMT".parse().unwrap(),
        );
        h.insert(header::CACHE_CONTROL, "max-age=60".parse().unwrap());
        assert_eq!(
            max_age(&h, now),
            Some(Duration::from_secs(60)),
            "max-age wins"
        );
    }

    #[test]
    fn age_is_subtracted_from_max_age_and_from_expires_minus_date() {
        let now = at(0);
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=3600".parse().unwrap(),
        );
        h.insert(header::AGE, "3000".parse().unwrap());
        assert_eq!(max_age(&h, now), Some(Duration::from_secs(600)));
        for (age, left) in [("3600", 0), ("4000", 0), ("99999999999999999999999", 0)] {
            h.insert(header::AGE, age.parse().unwrap());
            assert_eq!(
                max_age(&h, now),
                Some(Duration::from_secs(left)),
                "Age {age}"
            );
        }
        for malformed in ["-5", "1.5", "soon", ""] {
            h.insert(header::AGE, malformed.parse().unwrap());
            assert_eq!(
                max_age(&h, now),
                Some(Duration::from_secs(3600)),
                "Age {malformed:?}"
            );
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::DATE,
            "Sun, 01 Nov 2026 10:00:00 GMT".parse().unwrap(),
        );
        h.insert(
            header::EXPIRES,
            "Sun, 01 Nov 2026 11:00:00 GMT".parse().unwrap(),
        );
        h.insert(header::AGE, "3000".parse().unwrap());
        assert_eq!(max_age(&h, now), Some(Duration::from_secs(600)));
        // Without a lifetime, Age alone says nothing.
        let mut h = HeaderMap::new();
        h.insert(header::AGE, "3000".parse().unwrap());
        assert_eq!(max_age(&h, now), None);
    }

    #[test]
    fn without_date_expires_counts_from_the_given_now_not_the_system_clock() {
        let mut h = HeaderMap::new();
        // 2026-11-01T10:05:00Z.
        h.insert(
            header::EXPIRES,
            "Sun, 01 Nov 2026 10:05:00 GMT".parse().unwrap(),
        );
        let expires = httpdate::parse_http_date("Sun, 01 Nov 2026 10:05:00 GMT").unwrap();
        let two_minutes_before = expires - Duration::from_secs(120);
        assert_eq!(
            max_age(&h, two_minutes_before),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            max_age(&h, expires + Duration::from_secs(1)),
            Some(Duration::ZERO)
        );
    }
}
