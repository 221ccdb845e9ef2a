//! The axum extractor for [`Identity`] and the response for [`IdentityError`].

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::header;
use http::request::Parts;

use super::{CloudflareAccess, Identity, IdentityError, IdentityErrorKind};
use crate::challenge::BearerChallenge;
use crate::error::AuthError;
use crate::layer::Anonymous;
use crate::response::{SharedRejection, rejection_response};
use crate::user::{User, VerifiedToken};

/// The identity fetched for this request, so that a second extraction does not fetch again.
#[derive(Clone)]
struct Fetched(Arc<Identity>);

/// Finds the request's identity: fetched on first use (through the cache), `None` for an
/// anonymous request of an optional layer.
async fn identity(parts: &mut Parts) -> Result<Option<Arc<Identity>>, IdentityError> {
    if let Some(Fetched(identity)) = parts.extensions.get::<Fetched>() {
        return Ok(Some(Arc::clone(identity)));
    }
    let Some(access) = parts.extensions.get::<CloudflareAccess>().cloned() else {
        tracing::error!("{}", IdentityErrorKind::LayerMissing.description());
        return Err(IdentityError::of_kind(IdentityErrorKind::LayerMissing));
    };
    if let Some(user) = parts.extensions.get::<User>().filter(|u| u.is_dev_bypass()) {
        // No token to send to Cloudflare: the dev user's claims are all there is.
        return Ok(Some(Arc::new(Identity::from_user(user))));
    }
    if parts.extensions.get::<Anonymous>().is_some() {
        return Ok(None);
    }
    // What the layer verified, from whichever source it was configured to read: nothing is
    // extracted or verified again here.
    let verified = (
        parts.extensions.get::<User>(),
        parts.extensions.get::<VerifiedToken>(),
    );
    let (Some(user), Some(token)) = verified else {
        tracing::error!("{}", IdentityErrorKind::LayerMissing.description());
        return Err(IdentityError::of_kind(IdentityErrorKind::LayerMissing));
    };
    let identity = access.identity_of(user, token).await?;
    parts.extensions.insert(Fetched(Arc::clone(&identity)));
    Ok(Some(identity))
}

/// Extracts the caller's [`Identity`], fetching it from Cloudflare on first use in the request
/// (only handlers that ask for it pay for it) and reusing the [`CloudflareAccess`] cache.
///
/// Needs [`CloudflareAccess::layer`] on the route (else 500). The token sent to Cloudflare is
/// exactly the one the layer verified (its [`VerifiedToken`]), whatever
/// [`token_sources`](crate::JwksAuthLayer::token_sources) the layer reads; nothing is
/// extracted or verified twice. With the dev-user bypass, the identity is built from the dev
/// user's claims. Failures are [`IdentityError`] responses (401, 403, 502, 503, or 500 without
/// the layer) carrying the error in their extensions.
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        identity(parts)
            .await
            .and_then(|found| {
                found
                    .map(|identity| Self::clone(&identity))
                    // An anonymous request of an optional layer: the same refusal the layer
                    // gives when no token is found.
                    .ok_or_else(|| IdentityError::from(AuthError::missing()))
            })
            .map_err(|error| IdentityRejection::new(parts, error))
    }
}

/// `Option<Identity>`: `None` for an anonymous request of an
/// [`optional`](crate::JwksAuthLayer::optional) layer; failures still refuse the request.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        identity(parts)
            .await
            .map(|found| found.map(|identity| Self::clone(&identity)))
            .map_err(|error| IdentityRejection::new(parts, error))
    }
}

/// Why the [`Identity`] extractor refused a request.
///
/// A refusal of the token itself (missing, invalid, forbidden, refused by the identity
/// endpoint) is answered by the layer's rejection handler, like every other refusal - for the
/// preset, `{"detail":"Invalid CFA Token"}` and friends - with the [`AuthError`] and the
/// [`IdentityError`] in the response extensions. A failure of the identity endpoint itself
/// (502, 503) or a missing layer (500) is answered by the [`IdentityError`] response.
#[derive(Debug)]
pub struct IdentityRejection {
    error: IdentityError,
    handler: Option<SharedRejection>,
}

impl IdentityRejection {
    fn new(parts: &Parts, error: IdentityError) -> Self {
        Self {
            error,
            handler: parts.extensions.get::<SharedRejection>().cloned(),
        }
    }

    /// The error behind the refusal.
    #[must_use]
    pub fn error(&self) -> &IdentityError {
        &self.error
    }
}

impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        let Some(auth) = self
            .error
            .auth_error()
            .filter(|a| a.status() != 503)
            .cloned()
        else {
            return self.error.into_response();
        };
        tracing::debug!(error = %self.error, "jwks-auth: no Cloudflare identity");
        let mut response =
            rejection_response(self.handler.as_ref(), &auth).map(axum::body::Body::from);
        response.extensions_mut().insert(self.error);
        response
    }
}

/// The kind's status, a `{"detail": ...}` body with the kind's short description (the full
/// message is logged, not sent), an RFC 6750 challenge on 401 and 403, and in the response
/// extensions this `IdentityError` and, when the token itself was refused, its [`AuthError`]
/// (as the layer's refusals carry theirs), for outer layers (logging, metrics).
impl IntoResponse for IdentityError {
    fn into_response(self) -> Response {
        let kind = self.kind();
        match kind {
            IdentityErrorKind::BadResponse | IdentityErrorKind::Unavailable => {
                tracing::warn!(error = %self, "jwks-auth: Cloudflare identity fetch failed");
            }
            _ => tracing::debug!(error = %self, "jwks-auth: no Cloudflare identity"),
        }
        let body = axum::Json(serde_json::json!({ "detail": kind.description() }));
        let mut response = (kind.status(), body).into_response();
        let challenge = match kind {
            IdentityErrorKind::MissingToken => Some(BearerChallenge::new()),
            IdentityErrorKind::InvalidToken | IdentityErrorKind::Rejected => {
                Some(BearerChallenge::new().error("invalid_token"))
            }
            IdentityErrorKind::Forbidden => {
                Some(BearerChallenge::new().error("insufficient_scope"))
            }
            _ => None,
        };
        if let Some(challenge) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge.to_header_value());
        }
        if let Some(auth) = self.auth_error() {
            response.extensions_mut().insert(auth.clone());
        }
        response.extensions_mut().insert(self);
        response
    }
}
