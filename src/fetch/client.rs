//! The hardened HTTP GET: timeout over the whole exchange (a slow drip included), exactly 200
//! or 304, no cross-origin redirects, a body cap, and retries with backoff and jitter on
//! connection errors, timeouts and 5xx only.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode, header};
use reqwest::Url;
use tracing::Instrument;
use tracing::field::Empty;

use super::document::{FetchError, Fetched, Validators};
use super::encoding::{ACCEPT_ENCODING, decode};
use super::freshness::max_age;
use super::url::redacted;
use crate::clock::SharedClock;

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

/// The default client for POSTs that carry a token (introspection): no redirect followed at
/// all, so that a 307 or 308 cannot make it resend the token, even to the same origin.
pub(crate) fn no_redirect_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()
}

/// A GET answered 200 (with its body) or 304, with the headers freshness is read from.
enum Answer {
    Document { body: Bytes, headers: HeaderMap },
    NotModified { headers: HeaderMap },
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

impl HttpFetcher {
    /// GETs a document that may be cached (a key set): conditional on `previous`, retrying
    /// transient failures. Its freshness is computed against `clock` (the verifier's injected
    /// clock) when the server sends `Expires` without `Date`.
    pub(crate) async fn get(
        &self,
        url: &Url,
        previous: Option<&Validators>,
        clock: &SharedClock,
    ) -> Result<Fetched, FetchError> {
        let span = tracing::debug_span!(
            "jwks_auth.fetch",
            url = %redacted(url),
            status = Empty,
            bytes = Empty,
            duration_ms = Empty,
            etag_reused = Empty,
        );
        let started = std::time::Instant::now();
        let answer = self
            .get_retrying(url, previous, &HeaderMap::new())
            .instrument(span.clone())
            .await;
        if !span.is_disabled() {
            record_fetch(&span, &answer, started.elapsed());
        }
        let answer = answer.map_err(|failure| failure.error)?;
        // Wall time: it stands in for a missing `Date`, compared with the `Expires` date.
        let now = SystemTime::UNIX_EPOCH
            + Duration::from_millis(u64::try_from(clock.now().as_millis()).unwrap_or(0));
        Ok(match answer {
            Answer::Document { body, headers } => Fetched::Document {
                body,
                max_age: max_age(&headers, now),
                validators: Validators {
                    etag: header_string(&headers, header::ETAG),
                    last_modified: header_string(&headers, header::LAST_MODIFIED),
                },
            },
            Answer::NotModified { headers } => Fetched::NotModified {
                max_age: max_age(&headers, now),
            },
        })
    }

    /// The body of a GET answered exactly 200, for documents that are not key sets
    /// (discovery, identity). Same hardening, no conditional request.
    pub(crate) async fn get_body(&self, url: &Url) -> Result<Bytes, FetchError> {
        self.get_body_with_headers(url, &HeaderMap::new())
            .await
            .map_err(|failure| failure.error)
    }

    /// [`get_body`](Self::get_body), sending `extra` headers (e.g. a cookie) on top of the
    /// usual ones. On failure, the status the server answered (if it answered) comes with the
    /// error, so that callers can tell a refusal (4xx) from an outage.
    pub(crate) async fn get_body_with_headers(
        &self,
        url: &Url,
        extra: &HeaderMap,
    ) -> Result<Bytes, GetFailure> {
        match self.get_retrying(url, None, extra).await? {
            Answer::Document { body, .. } => Ok(body),
            Answer::NotModified { .. } => Err(GetFailure {
                status: Some(StatusCode::NOT_MODIFIED),
                error: FetchError::permanent(format!("GET {}: unexpected 304", redacted(url))),
            }),
        }
    }

    async fn get_retrying(
        &self,
        url: &Url,
        previous: Option<&Validators>,
        extra: &HeaderMap,
    ) -> Result<Answer, GetFailure> {
        self.retrying("GET", url, || self.get_once(url, previous, extra))
            .await
    }

    /// One exchange (`once`), each attempt under the whole-exchange timeout, retried with
    /// [`backoff`] while it fails transiently and `retries` allow: the GET's and the POST's
    /// shared policy.
    pub(super) async fn retrying<T, F, Fut>(
        &self,
        method: &str,
        url: &Url,
        mut once: F,
    ) -> Result<T, GetFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, GetFailure>>,
    {
        let mut attempt = 0;
        loop {
            let result = match tokio::time::timeout(self.timeout, once()).await {
                Ok(result) => result,
                Err(_) => Err(GetFailure::from(FetchError::transient(format!(
                    "{method} {}: no complete answer within {:?}",
                    redacted(url),
                    self.timeout
                )))),
            };
            match result {
                Err(e) if e.error.is_retryable() && attempt < self.retries => {
                    tracing::debug!(url = %redacted(url), error = %e.error, attempt, method, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_once(
        &self,
        url: &Url,
        previous: Option<&Validators>,
        extra: &HeaderMap,
    ) -> Result<Answer, GetFailure> {
        let url_shown = redacted(url);
        let mut request = self
            .client
            .get(url.clone())
            .header(header::USER_AGENT, USER_AGENT)
            .header(header::ACCEPT, "application/json")
            .header(header::ACCEPT_ENCODING, ACCEPT_ENCODING);
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
        let response = request.send().await.map_err(|e| {
            FetchError::transient(format!(
                "GET {url_shown}: {}",
                error_chain(&e.without_url())
            ))
        })?;
        if response.url().origin() != url.origin() {
            return Err(GetFailure {
                status: Some(response.status()),
                error: FetchError::permanent(format!(
                    "GET {url_shown}: redirected to another origin; refused"
                )),
            });
        }
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && previous.is_some() {
            return Ok(Answer::NotModified {
                headers: response.headers().clone(),
            });
        }
        let (headers, body) = self.read_ok("GET", &url_shown, response).await?;
        Ok(Answer::Document { body, headers })
    }

    /// The answer's body if its status is exactly 200 (a 5xx is transient, anything else
    /// permanent), read under the size cap (the declared length first, then as it streams)
    /// and decoded (gzip/deflate, capped again): what every GET and POST of this module
    /// accepts.
    pub(super) async fn read_ok(
        &self,
        method: &str,
        url_shown: &str,
        mut response: reqwest::Response,
    ) -> Result<(HeaderMap, Bytes), GetFailure> {
        let status = response.status();
        if status != StatusCode::OK {
            let message = format!("{method} {url_shown}: status {status}, expected 200");
            return Err(GetFailure {
                status: Some(status),
                error: if status.is_server_error() {
                    FetchError::transient(message)
                } else {
                    FetchError::permanent(message)
                },
            });
        }
        let too_large = || {
            GetFailure::from(FetchError::permanent(format!(
                "{method} {url_shown}: body larger than {} bytes",
                self.max_body
            )))
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body as u64)
        {
            return Err(too_large());
        }
        let headers = response.headers().clone();
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            FetchError::transient(format!(
                "{method} {url_shown}: reading body: {}",
                error_chain(&e.without_url())
            ))
        })? {
            if body.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let body = decode(&headers, body.freeze(), self.max_body)
            .map_err(|why| FetchError::permanent(format!("{method} {url_shown}: {why}")))?;
        Ok((headers, body))
    }
}

/// The fetch span's outcome fields. `etag_reused`: the server answered 304 to our
/// validators, so the cached set is kept without a download.
fn record_fetch(span: &tracing::Span, answer: &Result<Answer, GetFailure>, took: Duration) {
    span.record(
        "duration_ms",
        u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
    );
    match answer {
        Ok(Answer::Document { body, .. }) => {
            span.record("status", 200);
            span.record("bytes", body.len());
            span.record("etag_reused", false);
        }
        Ok(Answer::NotModified { .. }) => {
            span.record("status", 304);
            span.record("bytes", 0);
            span.record("etag_reused", true);
        }
        Err(failure) => {
            if let Some(status) = failure.status {
                span.record("status", status.as_u16());
            }
        }
    }
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Exponential backoff (100 ms, 200 ms, 400 ms, ...) with up to 100% random jitter.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << attempt.min(6));
    let jitter = RandomState::new().hash_one(attempt) % base.max(1);
    Duration::from_millis(base + jitter)
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
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
    fn backoff_grows_and_stays_bounded() {
        for attempt in 0..10 {
            let b = backoff(attempt);
            let base = 100u64 << attempt.min(6);
            assert!(b >= Duration::from_millis(base) && b < Duration::from_millis(2 * base));
        }
    }
}
