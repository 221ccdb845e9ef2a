//! Fetching documents over HTTP, hardened: timeout over the whole exchange (a slow drip
//! included), exactly 200 or 304, no cross-origin redirects, a body cap, and retries with
//! backoff and jitter on connection errors, timeouts and 5xx only.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode, header};
use reqwest::Url;

use super::source::{FetchError, Fetched, Validators};

/// The User-Agent sent with every fetch.
pub(crate) const USER_AGENT: &str = concat!("jwks-auth/", env!("CARGO_PKG_VERSION"));

/// HTTP settings shared by every fetch of one verifier.
#[derive(Debug, Clone)]
pub(crate) struct HttpFetcher {
    pub(crate) client: reqwest::Client,
    pub(crate) timeout: Duration,
    pub(crate) max_body: usize,
    pub(crate) retries: u32,
}

/// The default client: no redirects to another origin, at most 5 hops.
pub(crate) fn default_client() -> Result<reqwest::Client, reqwest::Error> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin && attempt.previous().len() <= 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .user_agent(USER_AGENT)
        .build()
}

impl HttpFetcher {
    /// GETs `url`, retrying transient failures.
    pub(crate) async fn get(
        &self,
        url: &Url,
        previous: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        self.get_retrying(url, previous, &HeaderMap::new())
            .await
            .map_err(|failure| failure.error)
    }

    /// The body of a GET answered exactly 200, sending `extra` headers (e.g. a cookie) on top
    /// of the usual ones, with the same hardening as [`get`](Self::get). On failure, the
    /// status the server answered (if it answered) comes with the error, so that callers can
    /// tell a refusal (4xx) from an outage.
    pub(crate) async fn get_body_with_headers(
        &self,
        url: &Url,
        extra: &HeaderMap,
    ) -> Result<Bytes, GetFailure> {
        match self.get_retrying(url, None, extra).await? {
            Fetched::Document { body, .. } => Ok(body),
            Fetched::NotModified { .. } => Err(GetFailure {
                status: Some(StatusCode::NOT_MODIFIED),
                error: FetchError::permanent(format!("GET {url}: unexpected 304")),
            }),
        }
    }

    async fn get_retrying(
        &self,
        url: &Url,
        previous: Option<&Validators>,
        extra: &HeaderMap,
    ) -> Result<Fetched, GetFailure> {
        let mut attempt = 0;
        loop {
            let result =
                match tokio::time::timeout(self.timeout, self.get_once(url, previous, extra)).await
                {
                    Ok(result) => result,
                    Err(_) => Err(GetFailure::from(FetchError::transient(format!(
                        "GET {url}: no complete answer within {:?}",
                        self.timeout
                    )))),
                };
            match result {
                Err(e) if e.error.is_retryable() && attempt < self.retries => {
                    tracing::debug!(%url, error = %e.error, attempt, "retrying fetch");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The body of a GET answered exactly 200, for documents that are not key sets
    /// (discovery, identity). Same hardening, no conditional request.
    pub(crate) async fn get_body(&self, url: &Url) -> Result<Bytes, FetchError> {
        match self.get(url, None).await? {
            Fetched::Document { body, .. } => Ok(body),
            Fetched::NotModified { .. } => {
                Err(FetchError::permanent(format!("GET {url}: unexpected 304")))
            }
        }
    }

    async fn get_once(
        &self,
        url: &Url,
        previous: Option<&Validators>,
        extra: &HeaderMap,
    ) -> Result<Fetched, GetFailure> {
        let mut request = self
            .client
            .get(url.clone())
            .header(header::USER_AGENT, USER_AGENT)
            .header(header::ACCEPT, "application/json");
        for (name, value) in extra {
            request = request.header(name, value);
        }
        if let Some(v) = previous {
            if let Some(etag) = &v.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, date);
            }
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| FetchError::transient(format!("GET {url}: {}", error_chain(&e))))?;
        if response.url().origin() != url.origin() {
            return Err(GetFailure {
                status: Some(response.status()),
                error: FetchError::permanent(format!(
                    "GET {url}: redirected to another origin; refused"
                )),
            });
        }
        let status = response.status();
        let max_age = max_age(response.headers());
        if status == StatusCode::NOT_MODIFIED && previous.is_some() {
            return Ok(Fetched::NotModified { max_age });
        }
        if status != StatusCode::OK {
            let message = format!("GET {url}: status {status}, expected 200");
            return Err(GetFailure {
                status: Some(status),
                error: if status.is_server_error() {
                    FetchError::transient(message)
                } else {
                    FetchError::permanent(message)
                },
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body as u64)
        {
            return Err(GetFailure::from(FetchError::permanent(format!(
                "GET {url}: body larger than {} bytes",
                self.max_body
            ))));
        }
        let validators = Validators {
            etag: header_string(response.headers(), header::ETAG),
            last_modified: header_string(response.headers(), header::LAST_MODIFIED),
        };
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            FetchError::transient(format!("GET {url}: reading body: {}", error_chain(&e)))
        })? {
            if body.len() + chunk.len() > self.max_body {
                return Err(GetFailure::from(FetchError::permanent(format!(
                    "GET {url}: body larger than {} bytes",
                    self.max_body
                ))));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Document {
            body: body.freeze(),
            max_age,
            validators,
        })
    }
}

/// A failed GET: the error, and the status when the server answered with one.
#[derive(Debug, Clone)]
pub(crate) struct GetFailure {
    pub(crate) status: Option<StatusCode>,
    pub(crate) error: FetchError,
}

impl From<FetchError> for GetFailure {
    fn from(error: FetchError) -> Self {
        Self {
            status: None,
            error,
        }
    }
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The freshness lifetime announced by a response: `Cache-Control: max-age=N` (zero for
/// `no-cache` / `no-store`; the cache clamps it to its minimum TTL), else `Expires` minus `Date`
/// (RFC 9111 section 4.2.1; an `Expires` that does not parse means "already expired").
pub(crate) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    cache_control_max_age(headers).or_else(|| expires(headers))
}

fn expires(headers: &HeaderMap) -> Option<Duration> {
    let expires = headers.get(header::EXPIRES)?.to_str().ok()?;
    let Ok(expires) = httpdate::parse_http_date(expires) else {
        return Some(Duration::ZERO);
    };
    let date = headers
        .get(header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or_else(std::time::SystemTime::now);
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

/// Exponential backoff (100 ms, 200 ms, 400 ms, ...) with up to 100% random jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << attempt.min(6));
    let jitter = RandomState::new().hash_one(attempt) % base.max(1);
    Duration::from_millis(base + jitter)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_reads_cache_control() {
        let mut h = HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=300, must-revalidate".parse().unwrap(),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(300)));
        h.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&h), Some(Duration::ZERO));
        h.insert(header::CACHE_CONTROL, "max-age=junk".parse().unwrap());
        assert_eq!(max_age(&h), None);
    }

    #[test]
    fn expires_minus_date_when_there_is_no_max_age() {
        let mut h = HeaderMap::new();
        h.insert(
            header::DATE,
            "Sun, 01 Nov 2026 10:00:00 GMT".parse().unwrap(),
        );
        h.insert(
            header::EXPIRES,
            "Sun, 01 Nov 2026 10:05:00 GMT".parse().unwrap(),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(300)));
        h.insert(header::EXPIRES, "0".parse().unwrap());
        assert_eq!(
            max_age(&h),
            Some(Duration::ZERO),
            "an invalid Expires is already expired"
        );
        h.insert(
            header::EXPIRES,
            "Sun, 01 Nov 2026 10:05:00 GMT".parse().unwrap(),
        );
        h.insert(header::CACHE_CONTROL, "max-age=60".parse().unwrap());
        assert_eq!(max_age(&h), Some(Duration::from_secs(60)), "max-age wins");
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 0..10 {
            let b = backoff(attempt);
            let base = 100u64 << attempt.min(6);
            assert!(b >= Duration::from_millis(base) && b < Duration::from_millis(2 * base));
        }
    }
}
