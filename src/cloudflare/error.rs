//! [`IdentityError`]: why an identity could not be obtained, and its kinds.

use std::fmt;

use http::StatusCode;

use crate::error::{AuthError, AuthErrorKind, AuthReason};

/// What kind of failure an [`IdentityError`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdentityErrorKind {
    /// The request carries no Access token (401).
    MissingToken,
    /// The token does not verify (401).
    InvalidToken,
    /// The token verifies but a policy of the [`CloudflareAccess`](super::CloudflareAccess)
    /// refuses it (403).
    Forbidden,
    /// The identity endpoint refused the token (it answered 400, 401 or 403, or an `err`
    /// document): 401.
    Rejected,
    /// The identity endpoint answered something unusable: another status, a body that is not
    /// an identity document, or too large a body (502).
    BadResponse,
    /// The identity endpoint (or the signing keys) could not be reached in time: connection
    /// error, timeout, 5xx after the retries (503).
    Unavailable,
    /// The `Identity` extractor ran on a route without `CloudflareAccess::layer()` (500).
    LayerMissing,
}

impl IdentityErrorKind {
    /// The HTTP status this kind maps to.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken | Self::Rejected => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadResponse => StatusCode::BAD_GATEWAY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short description safe to show to clients.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::MissingToken => "missing Access token",
            Self::InvalidToken => "CFA token verification failed",
            Self::Forbidden => "forbidden",
            Self::Rejected => "the identity endpoint refused the token",
            Self::BadResponse => "bad answer from the identity endpoint",
            Self::Unavailable => "identity endpoint unavailable",
            Self::LayerMissing => {
                "identity unavailable: is `CloudflareAccess::layer()` installed on this route?"
            }
        }
    }
}

/// Why an identity could not be obtained.
///
/// [`Display`](fmt::Display) gives the full message for logs (the URL and the cause, never the
/// token). With the `axum` feature it is also a response: status from [`kind`](Self::kind),
/// `{"detail": ...}` body with only the kind's short description, an RFC 6750 challenge on 401
/// and 403, and this error (and the [`AuthError`] behind it, if any) in the response
/// extensions for outer layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityError {
    kind: IdentityErrorKind,
    message: String,
    auth: Option<AuthError>,
}

impl IdentityError {
    pub(crate) fn new(kind: IdentityErrorKind, message: impl Into<String>) -> Self {
        // The endpoint refusing the token is a refusal of the token: it carries an
        // `AuthError`, so it is answered like every other 401.
        let auth = (kind == IdentityErrorKind::Rejected)
            .then(|| AuthError::new(AuthReason::IdentityRejected));
        Self {
            kind,
            message: message.into(),
            auth,
        }
    }

    pub(crate) fn of_kind(kind: IdentityErrorKind) -> Self {
        Self::new(kind, kind.description())
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> IdentityErrorKind {
        self.kind
    }

    /// The HTTP status for this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The refusal behind this error, when the token itself was refused (missing, invalid,
    /// forbidden by a policy, keys unavailable, or refused by the identity endpoint).
    #[must_use]
    pub fn auth_error(&self) -> Option<&AuthError> {
        self.auth.as_ref()
    }
}

impl From<AuthError> for IdentityError {
    fn from(error: AuthError) -> Self {
        let kind = match error.kind() {
            AuthErrorKind::MissingToken => IdentityErrorKind::MissingToken,
            AuthErrorKind::Forbidden => IdentityErrorKind::Forbidden,
            AuthErrorKind::KeysUnavailable => IdentityErrorKind::Unavailable,
            _ => IdentityErrorKind::InvalidToken,
        };
        // The core's missing-token wording names the `Bearer` scheme; an Access token arrives
        // in `Cf-Access-Jwt-Assertion` or the cookie, so say so in Access's terms.
        let message = match kind {
            IdentityErrorKind::MissingToken => kind.description().to_owned(),
            _ => error.description().to_owned(),
        };
        Self {
            kind,
            message,
            auth: Some(error),
        }
    }
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

// No `source()`: the message already is the cause's description (see `auth_error`), and a
// reporter would print it twice.
impl std::error::Error for IdentityError {}
