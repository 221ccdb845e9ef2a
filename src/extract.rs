//! axum extractors: [`User`] and [`Claims<T>`], and their `Option` forms.

use std::fmt;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{AuthError, AuthReason};
use crate::layer::Anonymous;
use crate::response::{SharedRejection, rejection_response};
use crate::user::User;

/// The verified claims, deserialized into your type.
///
/// ```
/// use jwks_auth::Claims;
/// #[derive(serde::Deserialize)]
/// struct MyClaims { sub: String, scope: Option<String> }
/// async fn handler(Claims(c): Claims<MyClaims>) -> String { c.sub }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

/// Why an extractor refused the request.
///
/// An authentication refusal (anonymous request, claims that do not fit `T`) is answered by
/// the same [`RejectionHandler`](crate::RejectionHandler) as the layer's own refusals, with
/// the [`AuthError`] attached to the response's extensions, so one format covers every
/// refusal. A route without the layer is a setup mistake: 500, with a body naming the fix.
#[derive(Debug)]
pub struct AuthRejection {
    problem: Problem,
    handler: Option<SharedRejection>,
}

#[derive(Debug)]
enum Problem {
    /// No `User` in the extensions and no sign of the layer.
    LayerMissing,
    /// Refused as the layer would refuse it.
    Refused(AuthError, Option<serde_json::Error>),
}

impl AuthRejection {
    fn layer_missing() -> Self {
        Self {
            problem: Problem::LayerMissing,
            handler: None,
        }
    }

    pub(crate) fn refused(
        parts: &Parts,
        error: AuthError,
        source: Option<serde_json::Error>,
    ) -> Self {
        Self {
            problem: Problem::Refused(error, source),
            handler: parts.extensions.get::<SharedRejection>().cloned(),
        }
    }

    /// The refusal, or `None` when the layer is missing from the route.
    #[must_use]
    pub fn error(&self) -> Option<&AuthError> {
        match &self.problem {
            Problem::Refused(error, _) => Some(error),
            Problem::LayerMissing => None,
        }
    }

    /// The HTTP status of this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.error()
            .map_or(StatusCode::INTERNAL_SERVER_ERROR, AuthError::status)
    }

    /// The body text of this rejection with the default handler.
    #[must_use]
    pub fn body_text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::LayerMissing => f.write_str(
                "no authenticated user in the request extensions: is `JwksAuthLayer` installed \
                 on this route?",
            ),
            Problem::Refused(error, _) => error.fmt(f),
        }
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Refused(_, Some(e)) => Some(e),
            _ => None,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match &self.problem {
            Problem::LayerMissing => {
                tracing::error!("{self}");
                let body = axum::Json(serde_json::json!({ "detail": self.body_text() }));
                (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
            }
            Problem::Refused(error, _) => {
                tracing::debug!(
                    reason = error.reason().code(),
                    "jwks-auth: extractor refused"
                );
                // Counted here, when the refusal becomes a response, as a per-route `Require`
                // counts its own (after the layer accepted the request, so `none`).
                crate::metrics::refused(error, crate::metrics::Lookup::NoToken);
                rejection_response(self.handler.as_ref(), error).map(axum::body::Body::from)
            }
        }
    }
}

pub(crate) fn user_or_none(parts: &Parts) -> Result<Option<User>, AuthRejection> {
    match parts.extensions.get::<User>() {
        Some(user) => Ok(Some(user.clone())),
        None if parts.extensions.get::<Anonymous>().is_some() => Ok(None),
        None => Err(AuthRejection::layer_missing()),
    }
}

fn anonymous(parts: &Parts) -> AuthRejection {
    AuthRejection::refused(parts, AuthError::missing(), None)
}

fn claims_of<T: DeserializeOwned>(parts: &Parts, user: &User) -> Result<T, AuthRejection> {
    user.claims_as().map_err(|e| {
        AuthRejection::refused(parts, AuthError::new(AuthReason::ClaimsMismatch), Some(e))
    })
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        user_or_none(parts)?.ok_or_else(|| anonymous(parts))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for User {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        user_or_none(parts)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = user_or_none(parts)?.ok_or_else(|| anonymous(parts))?;
        claims_of(parts, &user).map(Claims)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match user_or_none(parts)? {
            Some(user) => claims_of(parts, &user).map(|c| Some(Self(c))),
            None => Ok(None),
        }
    }
}
