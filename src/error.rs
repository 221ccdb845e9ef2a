//! Errors: [`ConfigError`] when building, [`AuthError`] when a request is refused.

use std::fmt;
use std::time::Duration;

/// A configuration mistake, reported by a builder's `build()` (never at request time).
///
/// The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jwks-auth configuration error: {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// What kind of refusal an [`AuthError`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No token in any configured source (401, challenge without error code).
    MissingToken,
    /// The token is malformed, forged, expired, for another issuer or audience, or signed by
    /// an unknown key (401 `invalid_token`).
    InvalidToken,
    /// The token is valid but a policy refuses it (403 `insufficient_scope`).
    Forbidden,
    /// No usable key set could be obtained (503 with `Retry-After`).
    KeysUnavailable,
}

impl AuthErrorKind {
    /// The HTTP status this kind maps to.
    #[must_use]
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken => http::StatusCode::UNAUTHORIZED,
            Self::Forbidden => http::StatusCode::FORBIDDEN,
            Self::KeysUnavailable => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Why a request (or a direct `verify` call) was refused.
///
/// The description never contains the token. The rejection response carries a clone of this
/// error in its extensions, so outer layers (logging, metrics) can inspect [`AuthError::kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    description: &'static str,
    retry_after: Option<Duration>,
}

impl AuthError {
    pub(crate) const fn new(kind: AuthErrorKind, description: &'static str) -> Self {
        Self {
            kind,
            description,
            retry_after: None,
        }
    }

    pub(crate) const fn missing() -> Self {
        Self::new(AuthErrorKind::MissingToken, "missing bearer token")
    }

    pub(crate) const fn invalid(description: &'static str) -> Self {
        Self::new(AuthErrorKind::InvalidToken, description)
    }

    pub(crate) const fn forbidden(description: &'static str) -> Self {
        Self::new(AuthErrorKind::Forbidden, description)
    }

    pub(crate) fn unavailable(description: &'static str, retry_after: Duration) -> Self {
        Self {
            kind: AuthErrorKind::KeysUnavailable,
            description,
            retry_after: Some(retry_after),
        }
    }

    /// The kind of refusal.
    #[must_use]
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// A short, fixed description safe to show to clients (it never contains token data).
    #[must_use]
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// For [`AuthErrorKind::KeysUnavailable`]: when a retry may succeed.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The HTTP status for this error.
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        self.kind.status()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description)
    }
}

impl std::error::Error for AuthError {}
