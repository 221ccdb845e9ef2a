//! Where key sets come from: the [`KeySource`] trait and its plain implementations.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::clock::SharedClock;
use crate::fetch::HttpFetcher;
pub use crate::fetch::{FetchError, Fetched, Validators};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The future returned by [`KeySource::fetch`].
///
/// Boxed because the verifier holds its source as `Arc<dyn KeySource>` (any source, chosen at
/// runtime), and an `async fn` in a trait cannot be called through `dyn` on the MSRV (1.88).
pub type FetchFuture<'a> = BoxFuture<'a, Result<Fetched, FetchError>>;

/// A source of JWKS documents: a URL, an OIDC issuer, a static document, local keys, or a
/// combination of these.
///
/// The cache calls [`KeySource::fetch`] once per refresh (never per request) and parses the
/// document under its own key policy, so an implementation only has to produce bytes.
///
/// ```
/// use jwks_auth::jwks::{FetchFuture, Fetched, KeySource, Validators};
///
/// #[derive(Debug)]
/// struct FromFile(std::path::PathBuf);
///
/// impl KeySource for FromFile {
///     fn fetch<'a>(&'a self, _previous: Option<&'a Validators>) -> FetchFuture<'a> {
///         Box::pin(async move {
///             let body = std::fs::read(&self.0)
///                 .map_err(|e| jwks_auth::jwks::FetchError::transient(e.to_string()))?;
///             Ok(Fetched::Document { body: body.into(), max_age: None, validators: Validators::default() })
///         })
///     }
/// }
/// ```
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// Fetches the current JWKS document. `previous` holds the validators of the last document,
    /// for a conditional request; answering [`Fetched::NotModified`] keeps the cached set.
    fn fetch<'a>(&'a self, previous: Option<&'a Validators>) -> FetchFuture<'a>;

    /// The URL this source fetches from, if it has one: it names the source in metrics (the
    /// `jwks` label, without query or fragment) and in the errors about the documents it
    /// returns. `None` (the default): `custom`.
    fn url(&self) -> Option<&url::Url> {
        None
    }
}

/// A JWKS served over HTTP(S) at a fixed URL.
#[derive(Debug, Clone)]
pub(crate) struct JwksUrl {
    url: reqwest::Url,
    http: HttpFetcher,
    clock: SharedClock,
}

impl JwksUrl {
    pub(crate) fn new(url: reqwest::Url, http: HttpFetcher, clock: SharedClock) -> Self {
        Self { url, http, clock }
    }
}

impl KeySource for JwksUrl {
    fn fetch<'a>(&'a self, previous: Option<&'a Validators>) -> FetchFuture<'a> {
        Box::pin(self.http.get(&self.url, previous, &self.clock))
    }

    fn url(&self) -> Option<&url::Url> {
        Some(&self.url)
    }
}

/// A JWKS document given in configuration; never changes.
#[derive(Debug, Clone)]
pub(crate) struct StaticJwks(pub(crate) Bytes);

impl KeySource for StaticJwks {
    fn fetch<'a>(&'a self, _previous: Option<&'a Validators>) -> FetchFuture<'a> {
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
