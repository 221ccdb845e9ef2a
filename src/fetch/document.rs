//! What a fetch brings back ([`Fetched`], with its [`Validators`]) or why it failed
//! ([`FetchError`]). Public through `jwks_auth::jwks`, for custom key sources.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

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
        /// Freshness left, as announced by the source (over HTTP: `Cache-Control: max-age`,
        /// else `Expires` minus `Date`, minus `Age`), if any. The cache clamps it to its TTL
        /// bounds.
        max_age: Option<Duration>,
        /// Validators for the next conditional fetch.
        validators: Validators,
    },
    /// The document has not changed since the validators were issued (HTTP 304).
    NotModified {
        /// Freshness left, as announced with the 304 (computed as for a document), if any.
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

    /// The same failure with its message rewritten (e.g. to name where it happened).
    pub(crate) fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        Self {
            message: f(self.message),
            retryable: self.retryable,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FetchError {}
