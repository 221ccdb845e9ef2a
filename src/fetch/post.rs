//! The hardened form POST (token introspection, RFC 7662): the GET's hardening, for a request
//! whose body carries a token. Timeout over the whole exchange, exactly 200, no redirect
//! followed (a redirected POST would resend the token elsewhere, or lose its body: the default
//! client follows none, and an answer from another URL than asked is refused), a body
//! cap, and retries with backoff on connection errors, timeouts and 5xx only: asking again
//! is harmless, introspection changes nothing on the server.

use bytes::Bytes;
use http::{HeaderMap, header};
use reqwest::Url;

use super::client::{GetFailure, HttpFetcher, USER_AGENT, error_chain};
use super::document::FetchError;
use super::encoding::ACCEPT_ENCODING;
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
        let response = request.send().await.map_err(|e| {
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
        let (_, body) = self.read_ok("POST", &url_shown, response).await?;
        Ok(body)
    }
}
