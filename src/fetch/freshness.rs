//! How long a fetched document stays fresh, from its response headers (RFC 9111 section 4.2.1).

use std::time::{Duration, SystemTime};

use http::{HeaderMap, header};

/// The freshness lifetime announced by a response: `Cache-Control: max-age=N` (zero for
/// `no-cache` / `no-store`; the cache clamps it to its minimum TTL), else `Expires` minus `Date`
/// (an `Expires` that does not parse means "already expired"). `now` stands in for a missing
/// `Date`; it comes from the verifier's injected clock, never from the system directly.
pub(crate) fn max_age(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    cache_control_max_age(headers).or_else(|| expires(headers, now))
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
