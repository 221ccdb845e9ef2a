//! Turning an [`AuthError`] into a response: RFC 6750 challenges, JSON bodies, replaceable.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, header};

use crate::challenge::BearerChallenge;
use crate::error::{AuthError, AuthErrorKind};

/// Builds the response for a refused request.
///
/// Implemented for closures `Fn(&AuthError) -> Response<Bytes>`, so a custom body is one line:
///
/// ```
/// use jwks_auth::{AuthError, JwksAuthLayer, JwksVerifier};
/// # fn demo(verifier: JwksVerifier) {
/// let layer = JwksAuthLayer::new(verifier).rejection(|e: &AuthError| {
///     http::Response::builder()
///         .status(e.status())
///         .body(bytes::Bytes::from_static(b"go away"))
///         .unwrap()
/// });
/// # }
/// ```
///
/// Whatever it returns, the layer adds the [`AuthError`] to the response's extensions.
pub trait RejectionHandler: Send + Sync + 'static {
    /// The response for `error`.
    fn rejection(&self, error: &AuthError) -> Response<Bytes>;
}

impl<F> RejectionHandler for F
where
    F: Fn(&AuthError) -> Response<Bytes> + Send + Sync + 'static,
{
    fn rejection(&self, error: &AuthError) -> Response<Bytes> {
        self(error)
    }
}

/// The default rejection: a status per [`AuthErrorKind`], an RFC 6750 `WWW-Authenticate`
/// challenge, `Retry-After` on 503, and a `{"detail": "..."}` JSON body.
///
/// | kind | status | `WWW-Authenticate` |
/// |---|---|---|
/// | missing token | 401 | `Bearer` (with `realm` if set) |
/// | invalid token | 401 | `Bearer error="invalid_token", error_description="..."` |
/// | forbidden | 403 | `Bearer error="insufficient_scope", error_description="..."`, with `scope="..."` first for a scope refusal |
/// | keys unavailable | 503 | none; `Retry-After` instead |
#[derive(Clone, Debug, Default)]
pub struct DefaultRejection {
    realm: Option<String>,
    hide_details: bool,
    missing_detail: Option<String>,
    invalid_detail: Option<String>,
}

impl DefaultRejection {
    /// The default rejection.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `realm="..."` to challenges.
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Replaces every description with a generic one ("unauthorized", "forbidden", ...), in
    /// the body and in `error_description`, and leaves out the challenge's `scope` (the
    /// scopes a route requires).
    #[must_use]
    pub fn hide_details(mut self) -> Self {
        self.hide_details = true;
        self
    }

    /// A fixed `detail` for requests without a token.
    #[must_use]
    pub fn missing_detail(mut self, detail: impl Into<String>) -> Self {
        self.missing_detail = Some(detail.into());
        self
    }

    /// A fixed `detail` for tokens that fail verification.
    #[must_use]
    pub fn invalid_detail(mut self, detail: impl Into<String>) -> Self {
        self.invalid_detail = Some(detail.into());
        self
    }

    fn detail<'a>(&'a self, error: &AuthError) -> &'a str {
        let fixed = match error.kind() {
            AuthErrorKind::MissingToken => self.missing_detail.as_deref(),
            AuthErrorKind::InvalidToken => self.invalid_detail.as_deref(),
            _ => None,
        };
        match fixed {
            Some(fixed) => fixed,
            None if self.hide_details => generic(error.kind()),
            None => error.description(),
        }
    }

    fn challenge(&self, error: &AuthError) -> Option<HeaderValue> {
        if error.kind() == AuthErrorKind::KeysUnavailable {
            return None;
        }
        let description = if self.hide_details {
            generic(error.kind())
        } else {
            error.description()
        };
        let mut challenge = BearerChallenge::for_error(error).description(description);
        if let Some(scope) = error.required_scope().filter(|_| !self.hide_details) {
            challenge = challenge.scope(scope);
        }
        if let Some(realm) = &self.realm {
            challenge = challenge.realm(realm);
        }
        Some(challenge.to_header_value())
    }
}

impl RejectionHandler for DefaultRejection {
    fn rejection(&self, error: &AuthError) -> Response<Bytes> {
        let body = serde_json::json!({ "detail": self.detail(error) }).to_string();
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = error.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(challenge) = self.challenge(error) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(retry) = error.retry_after() {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry.as_secs().max(1)),
            );
        }
        response
    }
}

fn generic(kind: AuthErrorKind) -> &'static str {
    match kind {
        AuthErrorKind::Forbidden => "forbidden",
        AuthErrorKind::KeysUnavailable => "service unavailable",
        _ => "unauthorized",
    }
}

/// The response for `error` from `handler` (the default one if `None`), with the error in
/// its extensions: the one way every refusal (layer or extractor) is answered.
pub(crate) fn rejection_response(
    handler: Option<&SharedRejection>,
    error: &AuthError,
) -> Response<Bytes> {
    let mut response = match handler {
        Some(handler) => handler.0.rejection(error),
        None => DefaultRejection::new().rejection(error),
    };
    response.extensions_mut().insert(error.clone());
    response
}

/// A shared, type-erased handler.
#[derive(Clone)]
pub(crate) struct SharedRejection(pub(crate) Arc<dyn RejectionHandler>);

impl fmt::Debug for SharedRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RejectionHandler")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthReason;
    use std::time::Duration;

    fn header(r: &Response<Bytes>, name: header::HeaderName) -> Option<&str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn missing_token_challenge_has_no_error_code() {
        let r = DefaultRejection::new().rejection(&AuthError::missing());
        assert_eq!(r.status(), 401);
        assert_eq!(header(&r, header::WWW_AUTHENTICATE), Some("Bearer"));
        assert_eq!(
            r.body(),
            &Bytes::from_static(br#"{"detail":"missing bearer token"}"#)
        );
        let r = DefaultRejection::new()
            .realm("api")
            .rejection(&AuthError::missing());
        assert_eq!(
            header(&r, header::WWW_AUTHENTICATE),
            Some(r#"Bearer realm="api""#)
        );
    }

    #[test]
    fn invalid_and_forbidden_carry_codes_and_details_can_be_hidden() {
        let r = DefaultRejection::new().rejection(&AuthError::new(AuthReason::Expired));
        assert_eq!(
            header(&r, header::WWW_AUTHENTICATE),
            Some(r#"Bearer error="invalid_token", error_description="token expired""#)
        );
        let r = DefaultRejection::new().rejection(&AuthError::forbidden("scope read required"));
        assert_eq!(r.status(), 403);
        assert!(
            header(&r, header::WWW_AUTHENTICATE).is_some_and(|h| h.contains("insufficient_scope"))
        );
        let r = DefaultRejection::new()
            .hide_details()
            .rejection(&AuthError::new(AuthReason::Expired));
        assert_eq!(
            r.body(),
            &Bytes::from_static(br#"{"detail":"unauthorized"}"#)
        );
        assert!(
            !header(&r, header::WWW_AUTHENTICATE)
                .unwrap_or("")
                .contains("expired")
        );
    }

    #[test]
    fn unavailable_is_503_with_retry_after() {
        let r = DefaultRejection::new().rejection(&AuthError::unavailable(Duration::from_secs(7)));
        assert_eq!(r.status(), 503);
        assert_eq!(header(&r, header::RETRY_AFTER), Some("7"));
        assert_eq!(header(&r, header::WWW_AUTHENTICATE), None);
    }
}
