//! Where key sets come from: the [`KeySource`] trait and its plain implementations.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

use super::http::HttpFetcher;

/// A boxed, sendable future, as returned by [`KeySource::fetch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// HTTP cache validators remembered from the last successful fetch, sent back as
/// `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` of the last document.
    pub etag: Option<String>,
    /// The `Last-Modified` of the last document.
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is anything to send.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// What a fetch brought back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fetched {
    /// A (possibly changed) JWKS document.
    Document {
        /// The JWKS JSON.
        body: Bytes,
        /// Freshness lifetime announced by the source (`Cache-Control: max-age`), if any.
        max_age: Option<Duration>,
        /// Validators for the next conditional fetch.
        validators: Validators,
    },
    /// The document has not changed since the validators were issued (HTTP 304).
    NotModified {
        /// Freshness lifetime announced with the 304, if any.
        max_age: Option<Duration>,
    },
}

/// Why a fetch failed. The message names the URL and the cause, never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    message: String,
    retryable: bool,
}

impl FetchError {
    /// A failure that retrying may fix (connection error, timeout, 5xx).
    #[must_use]
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that retrying right away will not fix (4xx, bad document, refused redirect).
    #[must_use]
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }

    /// Whether an immediate retry may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FetchError {}

/// A source of JWKS documents: a URL, an OIDC issuer, a static document, local keys, or a
/// combination of these.
///
/// The cache calls [`KeySource::fetch`] once per refresh (never per request) and parses the
/// document under its own key policy, so an implementation only has to produce bytes.
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// Fetches the current JWKS document. `previous` holds the validators of the last document,
    /// for a conditional request; answering [`Fetched::NotModified`] keeps the cached set.
    fn fetch<'a>(
        &'a self,
        previous: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>>;
}

/// A JWKS served over HTTP(S) at a fixed URL.
#[derive(Debug, Clone)]
pub(crate) struct JwksUrl {
    url: reqwest::Url,
    http: HttpFetcher,
}

impl JwksUrl {
    pub(crate) fn new(url: reqwest::Url, http: HttpFetcher) -> Self {
        Self { url, http }
    }
}

impl KeySource for JwksUrl {
    fn fetch<'a>(
        &'a self,
        previous: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(self.http.get(&self.url, previous))
    }
}

/// A JWKS document given in configuration; never changes.
#[derive(Debug, Clone)]
pub(crate) struct StaticJwks(pub(crate) Bytes);

impl KeySource for StaticJwks {
    fn fetch<'a>(
        &'a self,
        _previous: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        let body = self.0.clone();
        Box::pin(async move {
            Ok(Fetched::Document {
                body,
                max_age: None,
                validators: Validators::default(),
            })
        })
    }
}
