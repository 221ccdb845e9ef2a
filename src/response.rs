//! Turning an [`AuthError`] into a response: RFC 6750 challenges, JSON bodies, gRPC statuses,
//! replaceable.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Extensions, HeaderMap, HeaderValue, Response, header};

use crate::challenge::BearerChallenge;
use crate::error::{AuthError, AuthErrorKind};
use crate::grpc::{self, GrpcMode};

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
///
/// gRPC requests (see [`GrpcMode`]) are answered by
/// [`grpc_rejection`](Self::grpc_rejection), which by default reshapes this response into a
/// gRPC status, so a custom handler's headers (its challenge) reach gRPC clients as metadata.
pub trait RejectionHandler: Send + Sync + 'static {
    /// The response for `error`.
    fn rejection(&self, error: &AuthError) -> Response<Bytes>;

    /// The response for `error` on a gRPC request: HTTP 200 with an empty body, `grpc-status`
    /// 16 (`UNAUTHENTICATED`) for a missing or invalid token, 7 (`PERMISSION_DENIED`) for a
    /// forbidden one, 14 (`UNAVAILABLE`) when keys are unavailable, and `grpc-message`
    /// percent-encoded.
    ///
    /// By default: [`rejection`](Self::rejection)'s headers (`www-authenticate`,
    /// `retry-after`, ...) and extensions, with the error's client-safe
    /// [`description`](AuthError::description) as `grpc-message`. Whatever it returns, the
    /// layer sets `content-type` to the request's when that is a gRPC one
    /// (`application/grpc+proto`, `application/grpc-web`, ...).
    fn grpc_rejection(&self, error: &AuthError) -> Response<Bytes> {
        grpc::from_http(self.rejection(error), error, error.description())
    }
}

impl<F> RejectionHandler for F
where
    F: Fn(&AuthError) -> Response<Bytes> + Send + Sync + 'static,
{
    fn rejection(&self, error: &AuthError) -> Response<Bytes> {
        self(error)
    }
}

/// How a refusal's bytes become `B`, the protected service's response body type: the type
/// parameter of [`JwksAuthLayer`](crate::JwksAuthLayer) and [`JwksAuth`](crate::JwksAuth).
/// A compile-time choice, so the layer's response type stays the inner service's.
pub trait RejectionBody<B> {
    /// The body of a refusal whose content is `bytes` (empty for gRPC refusals).
    fn body(bytes: Bytes) -> B;
}

/// The default [`RejectionBody`]: the body is `B::from(bytes)`, for every `B: From<Bytes>`
/// (axum's `Body`, `http_body_util::Full<Bytes>`, `Bytes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyFromBytes;

impl<B: From<Bytes>> RejectionBody<B> for BodyFromBytes {
    fn body(bytes: Bytes) -> B {
        B::from(bytes)
    }
}

/// A [`RejectionBody`] for body types that cannot be built from bytes but have an empty
/// `Default`, as tonic's: refusals have no body, and their status and headers (the challenge,
/// or `grpc-status` and `grpc-message`) say everything. Chosen by
/// [`JwksAuthLayer::grpc_server`](crate::JwksAuthLayer::grpc_server).
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyBody;

impl<B: Default> RejectionBody<B> for EmptyBody {
    fn body(_bytes: Bytes) -> B {
        B::default()
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

    /// As the default, with the `detail` this handler would put in its JSON body (so
    /// [`hide_details`](Self::hide_details) and fixed details apply to gRPC clients too).
    fn grpc_rejection(&self, error: &AuthError) -> Response<Bytes> {
        grpc::from_http(self.rejection(error), error, self.detail(error))
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

/// The response for `error` to a request with `headers`: a gRPC status when `mode` says the
/// request is gRPC ([`RejectionHandler::grpc_rejection`]), else `handler`'s HTTP response (the
/// default handler's if `None`); the error in its extensions either way.
pub(crate) fn rejection_response_for(
    headers: &HeaderMap,
    handler: Option<&SharedRejection>,
    mode: GrpcMode,
    error: &AuthError,
) -> Response<Bytes> {
    if !mode.applies(headers) {
        return rejection_response(handler, error);
    }
    let mut response = match handler {
        Some(handler) => handler.0.grpc_rejection(error),
        None => DefaultRejection::new().grpc_rejection(error),
    };
    // Answer in the request's own gRPC dialect (`+proto`, `-web`, ...).
    if let Some(content_type) = grpc::grpc_content_type(headers) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    response.extensions_mut().insert(error.clone());
    response
}

/// The refusal of a request by anything behind [`JwksAuthLayer`](crate::JwksAuthLayer) (a
/// per-route requirement, an extractor): answered with the layer's handler and [`GrpcMode`],
/// which the layer leaves in the request extensions when they are not the defaults, so that
/// every refusal of a request has one format, HTTP or gRPC.
pub(crate) fn refusal_for_request(
    headers: &HeaderMap,
    extensions: &Extensions,
    error: &AuthError,
) -> Response<Bytes> {
    let mode = extensions.get::<GrpcMode>().copied().unwrap_or_default();
    let mut response =
        rejection_response_for(headers, extensions.get::<SharedRejection>(), mode, error);
    // A layer with DPoP or resource metadata leaves its settings too (`crate::sender`).
    if let Some(sender) = extensions.get::<crate::sender::SenderConfig>() {
        crate::sender::decorate(sender, headers, error, &mut response);
    }
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

    fn grpc_request() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        h
    }

    #[test]
    fn grpc_requests_get_grpc_statuses_with_the_challenge_kept() {
        let err = AuthError::new(AuthReason::Expired);
        let r = rejection_response_for(&grpc_request(), None, GrpcMode::Auto, &err);
        assert_eq!(r.status(), 200);
        assert!(r.body().is_empty());
        assert_eq!(
            header(&r, header::CONTENT_TYPE),
            Some("application/grpc+proto")
        );
        assert_eq!(header(&r, grpc::GRPC_STATUS), Some("16"));
        assert_eq!(header(&r, grpc::GRPC_MESSAGE), Some("token expired"));
        assert_eq!(
            header(&r, header::WWW_AUTHENTICATE),
            Some(r#"Bearer error="invalid_token", error_description="token expired""#)
        );
        assert_eq!(r.extensions().get::<AuthError>(), Some(&err));

        let forbidden = AuthError::forbidden("scope read required");
        let r = rejection_response_for(&grpc_request(), None, GrpcMode::Auto, &forbidden);
        assert_eq!(header(&r, grpc::GRPC_STATUS), Some("7"));
        assert!(
            header(&r, header::WWW_AUTHENTICATE).is_some_and(|h| h.contains("insufficient_scope"))
        );
        let down = AuthError::unavailable(Duration::from_secs(7));
        let r = rejection_response_for(&grpc_request(), None, GrpcMode::Auto, &down);
        assert_eq!(header(&r, grpc::GRPC_STATUS), Some("14"));
        assert_eq!(header(&r, header::RETRY_AFTER), Some("7"));
    }

    #[test]
    fn the_mode_forces_either_shape() {
        let err = AuthError::missing();
        let plain = HeaderMap::new();
        let r = rejection_response_for(&plain, None, GrpcMode::Always, &err);
        assert_eq!(header(&r, grpc::GRPC_STATUS), Some("16"));
        assert_eq!(header(&r, header::CONTENT_TYPE), Some("application/grpc"));
        assert_eq!(header(&r, header::WWW_AUTHENTICATE), Some("Bearer"));
        let r = rejection_response_for(&grpc_request(), None, GrpcMode::Never, &err);
        assert_eq!(r.status(), 401);
        assert_eq!(header(&r, grpc::GRPC_STATUS), None);
    }

    #[test]
    fn hidden_details_and_custom_handlers_apply_to_grpc() {
        let hidden = SharedRejection(Arc::new(
            DefaultRejection::new().hide_details().realm("api"),
        ));
        let err = AuthError::new(AuthReason::Expired);
        let r = rejection_response_for(&grpc_request(), Some(&hidden), GrpcMode::Auto, &err);
        assert_eq!(header(&r, grpc::GRPC_MESSAGE), Some("unauthorized"));
        assert!(header(&r, header::WWW_AUTHENTICATE).is_some_and(|h| h.contains("realm")));

        let custom = SharedRejection(Arc::new(|e: &AuthError| {
            Response::builder()
                .status(e.status())
                .header("x-refused", e.reason().code())
                .body(Bytes::from_static(b"go away"))
                .expect("response")
        }));
        let r = rejection_response_for(&grpc_request(), Some(&custom), GrpcMode::Auto, &err);
        assert_eq!(r.status(), 200);
        assert!(r.body().is_empty());
        assert_eq!(header(&r, grpc::GRPC_STATUS), Some("16"));
        assert_eq!(
            header(&r, "x-refused".parse().expect("name")),
            Some("expired")
        );
    }

    #[test]
    fn per_route_refusals_follow_the_layer_left_in_the_extensions() {
        let err = AuthError::forbidden("not staff");
        // No layer settings in the extensions: the defaults, automatic by content type.
        let none = Extensions::new();
        let r = refusal_for_request(&grpc_request(), &none, &err);
        assert_eq!(header(&r, grpc::GRPC_STATUS), Some("7"));
        assert_eq!(header(&r, grpc::GRPC_MESSAGE), Some("not staff"));
        let r = refusal_for_request(&HeaderMap::new(), &none, &err);
        assert_eq!(r.status(), 403);

        let mut forced = Extensions::new();
        forced.insert(GrpcMode::Always);
        forced.insert(SharedRejection(Arc::new(
            DefaultRejection::new().hide_details(),
        )));
        let r = refusal_for_request(&HeaderMap::new(), &forced, &err);
        assert_eq!(header(&r, grpc::GRPC_STATUS), Some("7"));
        assert_eq!(header(&r, grpc::GRPC_MESSAGE), Some("forbidden"));
        assert_eq!(r.extensions().get::<AuthError>(), Some(&err));
    }
}
