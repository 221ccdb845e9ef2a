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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::fetch::client::no_redirect_client;

    /// A server answering every connection with `answer` (None: reads, never answers); the
    /// URL to POST to carries user information and a query, which messages must not show.
    async fn server(answer: Option<&'static str>) -> (Url, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0; 65536];
                    let _ = socket.read(&mut buf).await;
                    match answer {
                        Some(text) => {
                            let _ = socket.write_all(text.as_bytes()).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(60)).await,
                    }
                });
            }
        });
        let url = Url::parse(&format!("http://{addr}/introspect?token=secret")).unwrap();
        (url, format!("POST http://{addr}/introspect"))
    }

    fn fetcher() -> HttpFetcher {
        HttpFetcher {
            client: no_redirect_client().expect("client"),
            timeout: Duration::from_millis(500),
            max_body: 16,
            retries: 0,
        }
    }

    #[tokio::test]
    async fn failures_name_the_method_and_the_redacted_url() {
        let headers = HeaderMap::new();
        for (answer, status, expected, retryable) in [
            (
                Some("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"),
                Some(500),
                ": status 500 Internal Server Error, expected 200".to_owned(),
                true,
            ),
            (
                Some(
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: /x\r\ncontent-length: 0\r\n\r\n",
                ),
                Some(307),
                ": status 307 Temporary Redirect, expected 200".to_owned(),
                false,
            ),
            (
                Some("HTTP/1.1 200 OK\r\ncontent-length: 17\r\n\r\n{\"active\":false }"),
                None,
                ": body larger than 16 bytes".to_owned(),
                false,
            ),
            (
                Some("HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 2\r\n\r\n{}"),
                None,
                String::new(),
                false,
            ),
            (
                None,
                None,
                ": no complete answer within 500ms".to_owned(),
                true,
            ),
        ] {
            let (url, shown) = server(answer).await;
            let failure = fetcher()
                .post_form(&url, "token=secret", &headers)
                .await
                .expect_err("refused");
            let message = failure.error.to_string();
            assert!(
                message.starts_with(&format!("{shown}{expected}")),
                "{message}"
            );
            assert!(!message.contains("secret"), "{message}");
            assert_eq!(failure.status.map(|s| s.as_u16()), status, "{message}");
            assert_eq!(failure.error.is_retryable(), retryable, "{message}");
        }
        // And a good answer comes back whole.
        let (url, _) = server(Some("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")).await;
        let body = fetcher().post_form(&url, "token=x", &headers).await;
        assert_eq!(body.expect("ok").as_ref(), b"{}");
    }
}
