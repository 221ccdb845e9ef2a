//! Token sources of your own.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;

use crate::error::AuthError;

/// A place to read tokens from that the built-in sources do not cover: give it to
/// [`TokenSource::Custom`](super::TokenSource::Custom) through [`CustomSource::new`], or write
/// a closure with [`TokenSource::custom`](super::TokenSource::custom).
///
/// Follow the rule of the built-in sources, so that an
/// [`optional`](crate::JwksAuthLayer::optional) layer cannot let a bad credential through as
/// anonymous: answer `Ok(None)` only when the request carries no credential for this source
/// (an empty token counts as none), and an `Err` (for instance
/// `AuthError::new(AuthReason::MalformedHeader)`) when one is present but unusable.
///
/// Borrow the token from `parts` when you can (`Cow::Borrowed`); an owned token (decoded,
/// say) costs one copy into the [`VerifiedToken`](crate::VerifiedToken).
///
/// # Warning: URLs
/// A source that reads the query string puts credentials where access logs, proxies and
/// `Referer` headers keep them. If you must (a browser `EventSource` cannot send headers),
/// limit it to the routes that need it, and prefer short-lived tokens.
pub trait ExtractToken: Send + Sync + 'static {
    /// The token in the request head, if any.
    ///
    /// # Errors
    /// A present but unusable credential.
    fn extract<'p>(&self, parts: &'p Parts) -> Result<Option<Cow<'p, str>>, AuthError>;
}

impl<F> ExtractToken for F
where
    F: for<'p> Fn(&'p Parts) -> Result<Option<Cow<'p, str>>, AuthError> + Send + Sync + 'static,
{
    fn extract<'p>(&self, parts: &'p Parts) -> Result<Option<Cow<'p, str>>, AuthError> {
        self(parts)
    }
}

/// A shared [`ExtractToken`], the payload of [`TokenSource::Custom`](super::TokenSource::Custom).
/// Two are equal when they are clones of one source.
#[derive(Clone)]
pub struct CustomSource(Arc<dyn ExtractToken>);

impl CustomSource {
    /// Wraps `source`.
    #[must_use]
    pub fn new(source: impl ExtractToken) -> Self {
        Self(Arc::new(source))
    }

    pub(super) fn extract<'p>(&self, parts: &'p Parts) -> Result<Option<Cow<'p, str>>, AuthError> {
        self.0.extract(parts)
    }
}

impl PartialEq for CustomSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CustomSource {}

impl fmt::Debug for CustomSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomSource(..)")
    }
}
