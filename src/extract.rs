//! axum extractors: [`User`] and [`Claims<T>`], and their `Option` forms.

use std::fmt;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::challenge::BearerChallenge;
use crate::layer::Anonymous;
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

/// Why an extractor failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No `User` in the extensions and no sign of the layer: a setup mistake (500).
    LayerMissing,
    /// The layer is optional and the request carried no token (401).
    Anonymous,
    /// The claims do not deserialize into the requested type (401 `invalid_token`).
    ClaimsMismatch(serde_json::Error),
}

impl AuthRejection {
    /// The HTTP status of this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Anonymous | Self::ClaimsMismatch(_) => StatusCode::UNAUTHORIZED,
        }
    }

    /// The body text of this rejection.
    #[must_use]
    pub fn body_text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LayerMissing => f.write_str(
                "no authenticated user in the request extensions: is `JwksAuthLayer` installed \
                 on this route?",
            ),
            Self::Anonymous => f.write_str("missing bearer token"),
            Self::ClaimsMismatch(_) => f.write_str("token claims do not have the expected shape"),
        }
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ClaimsMismatch(e) => Some(e),
            _ => None,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        if matches!(self, Self::LayerMissing) {
            tracing::error!("{self}");
        }
        let status = self.status();
        let body = axum::Json(serde_json::json!({ "detail": self.body_text() }));
        let mut response = (status, body).into_response();
        let challenge = match self {
            Self::LayerMissing => None,
            Self::Anonymous => Some(BearerChallenge::new()),
            Self::ClaimsMismatch(_) => Some(BearerChallenge::new().error("invalid_token")),
        };
        if let Some(challenge) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge.to_header_value());
        }
        response
    }
}

fn user_or_none(parts: &Parts) -> Result<Option<User>, AuthRejection> {
    match parts.extensions.get::<User>() {
        Some(user) => Ok(Some(user.clone())),
        None if parts.extensions.get::<Anonymous>().is_some() => Ok(None),
        None => Err(AuthRejection::LayerMissing),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        user_or_none(parts)?.ok_or(AuthRejection::Anonymous)
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
        let user = user_or_none(parts)?.ok_or(AuthRejection::Anonymous)?;
        user.claims_as()
            .map(Claims)
            .map_err(AuthRejection::ClaimsMismatch)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match user_or_none(parts)? {
            Some(user) => user
                .claims_as()
                .map(|c| Some(Self(c)))
                .map_err(AuthRejection::ClaimsMismatch),
            None => Ok(None),
        }
    }
}
