//! The hardened form POST (token introspection, RFC 7662): the GET's hardening, for a request
//! whose body carries a token. Timeout over the whole exchange, exactly 200, no redirect
//! followed (a redirected POST would resend the token elsewhere, or lose its body: the default
//! client follows none, and an answer from another URL than asked is refused), a body
//! cap, and retries with backoff on connection errors, timeouts and 5xx only: asking again
//! is harmless, introspection changes nothing on the server.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode, header};
use reqwest::Url;

use super::client::{GetFailure, HttpFetcher, USER_AGENT, error_chain};
use super::document::FetchError;
use super::encoding::{ACCEPT_ENCODING, decode};
use super::url::redacted;

impl HttpFetcher {
    /// POSTs `form` (already `application/x-www-form-urlencoded`) with `extra` headers (the
    /// client authentication, `Accept`), retrying transient failures. On failure, the status
    /// the server answered (if it answered) comes with the error, so that callers can tell
    /// refused credentials (401) from an outage. Error messages name the URL (redacted) and
    /// the cause, never the form: it holds the token.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        form: &str,
        extra: &HeaderMap,
    ) -> Result<Bytes, GetFailure> {
        self.retrying("POST", url, || self.post_once(url, form, extra))
            .await
    }

    async fn post_once(
        &self,
        url: &Url,
        form: &str,
        extra: &HeaderMap,
    ) -> Result<Bytes, GetFailure> {
        let url_shown = redacted(url);
        let mut request = self
            .client
            .post(url.clone())
            .header(header::USER_AGENT, USER_AGENT)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT_ENCODING, ACCEPT_ENCODING)
            .body(form.to_owned());
        for (name, value) in extra {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(|e| {
            FetchError::transient(format!(
                "POST {url_shown}: {}",
                error_chain(&e.without_url())
            ))
        })?;
        let status = response.status();
        if response.url() != url {
            return Err(GetFailure {
                status: Some(status),
                error: FetchError::permanent(format!(
                    "POST {url_shown}: redirected; refused (configure the final URL)"
                )),
            });
        }
        if status != StatusCode::OK {
            let message = format!("POST {url_shown}: status {status}, expected 200");
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
                "POST {url_shown}: body larger than {} bytes",
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
                "POST {url_shown}: reading body: {}",
                error_chain(&e.without_url())
            ))
        })? {
            if body.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let body = decode(&headers, body.freeze(), self.max_body)
            .map_err(|why| FetchError::permanent(format!("POST {url_shown}: {why}")))?;
        Ok(body)
    }
}
