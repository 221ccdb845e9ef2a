//! gRPC-shaped refusals.
//!
//! A gRPC client reads the outcome of a call from the `grpc-status` and `grpc-message`
//! metadata, not from the HTTP status: an HTTP 401 with a JSON body reaches it as a transport
//! error ("unexpected content-type", "invalid compression flag"). So a refused gRPC request is
//! answered the way gRPC servers answer a failed call before any message: a "Trailers-Only"
//! response, HTTP 200 with an empty body and the status in the headers (gRPC over HTTP/2,
//! "Responses").
//!
//! | kind | `grpc-status` |
//! |---|---|
//! | missing or invalid token | 16 `UNAUTHENTICATED` |
//! | forbidden (a policy or requirement) | 7 `PERMISSION_DENIED` |
//! | keys unavailable | 14 `UNAVAILABLE` |
//!
//! The other headers of the HTTP refusal stay as metadata: `www-authenticate` (the RFC 6750
//! challenge) and `retry-after`.

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::error::{AuthError, AuthErrorKind};

/// The gRPC status header.
pub(crate) const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// The gRPC status message header (percent-encoded).
pub(crate) const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// `application/grpc`, the base media type of every gRPC variant (`+proto`, `+json`, `-web`).
const GRPC_MEDIA_TYPE: &[u8] = b"application/grpc";

/// What the gRPC spec percent-encodes in `grpc-message`: every byte outside 0x20..=0x7E, and
/// `%` itself. (`utf8_percent_encode` always encodes non-ASCII bytes; `CONTROLS` adds
/// 0x00..=0x1F and 0x7F.)
const MESSAGE_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

/// When refusals are answered as gRPC statuses instead of HTTP errors.
///
/// Set with [`JwksAuthLayer::grpc_mode`](crate::JwksAuthLayer::grpc_mode); the layer makes it
/// reachable to per-route refusals through the request extensions, so they answer alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GrpcMode {
    /// gRPC statuses for requests whose `content-type` is `application/grpc*` (gRPC, gRPC-Web,
    /// any codec); HTTP errors for the others. The default.
    #[default]
    Auto,
    /// gRPC statuses for every request, whatever its content type (a server that only speaks
    /// gRPC).
    Always,
    /// HTTP errors for every request (the behaviour before gRPC support).
    Never,
}

impl GrpcMode {
    /// Whether a request with these headers gets a gRPC-shaped refusal.
    pub(crate) fn applies(self, headers: &HeaderMap) -> bool {
        match self {
            Self::Auto => grpc_content_type(headers).is_some(),
            Self::Always => true,
            Self::Never => false,
        }
    }
}

/// The request's `content-type` if it is a gRPC one (`application/grpc` followed by anything,
/// matched case-insensitively, as gRPC servers do).
pub(crate) fn grpc_content_type(headers: &HeaderMap) -> Option<&HeaderValue> {
    headers.get(header::CONTENT_TYPE).filter(|value| {
        value
            .as_bytes()
            .get(..GRPC_MEDIA_TYPE.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(GRPC_MEDIA_TYPE))
    })
}

/// The gRPC status code for a kind of refusal.
#[must_use]
pub(crate) fn status_code(kind: AuthErrorKind) -> u16 {
    match kind {
        AuthErrorKind::MissingToken | AuthErrorKind::InvalidToken => 16, // UNAUTHENTICATED
        AuthErrorKind::Forbidden => 7,                                   // PERMISSION_DENIED
        AuthErrorKind::KeysUnavailable => 14,                            // UNAVAILABLE
    }
}

/// `message` percent-encoded for `grpc-message`.
pub(crate) fn encode_message(message: &str) -> HeaderValue {
    let encoded = utf8_percent_encode(message, MESSAGE_ESCAPES).to_string();
    // Only 0x20..=0x7E is left after encoding, which a header value always accepts.
    HeaderValue::try_from(encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `http` (an HTTP refusal) reshaped as a gRPC Trailers-Only response for `error`: status 200,
/// `content-type: application/grpc`, `grpc-status`, `grpc-message: message` and an empty
/// body. Every other header (`www-authenticate`, `retry-after`, ...) and the extensions stay.
pub(crate) fn from_http(
    http: Response<Bytes>,
    error: &AuthError,
    message: &str,
) -> Response<Bytes> {
    let (mut parts, _json) = http.into_parts();
    parts.status = StatusCode::OK;
    let headers = &mut parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert(GRPC_STATUS, HeaderValue::from(status_code(error.kind())));
    headers.insert(GRPC_MESSAGE, encode_message(message));
    Response::from_parts(parts, Bytes::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthReason;

    fn with_content_type(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(value).expect("value"),
        );
        h
    }

    #[test]
    fn grpc_content_types_are_recognised_case_insensitively() {
        for ct in [
            "application/grpc",
            "application/grpc+proto",
            "application/GRPC+json",
            "application/grpc-web",
            "application/grpc-web-text+proto",
        ] {
            assert!(GrpcMode::Auto.applies(&with_content_type(ct)), "{ct}");
        }
        for ct in ["application/json", "application/grp", "text/plain", ""] {
            assert!(!GrpcMode::Auto.applies(&with_content_type(ct)), "{ct}");
        }
        assert!(!GrpcMode::Auto.applies(&HeaderMap::new()));
        assert!(GrpcMode::Always.applies(&HeaderMap::new()));
        assert!(!GrpcMode::Never.applies(&with_content_type("application/grpc")));
    }

    #[test]
    fn message_is_percent_encoded_outside_printable_ascii_and_percent() {
        assert_eq!(encode_message("token expired"), "token expired");
        assert_eq!(encode_message("100% sure"), "100%25 sure");
        assert_eq!(encode_message("a\r\nb\x7f"), "a%0D%0Ab%7F");
        assert_eq!(encode_message("caf\u{e9} ~"), "caf%C3%A9 ~");
    }

    #[test]
    fn kinds_map_to_grpc_codes() {
        assert_eq!(status_code(AuthErrorKind::MissingToken), 16);
        assert_eq!(status_code(AuthErrorKind::InvalidToken), 16);
        assert_eq!(status_code(AuthErrorKind::Forbidden), 7);
        assert_eq!(status_code(AuthErrorKind::KeysUnavailable), 14);
    }

    #[test]
    fn reshaping_keeps_metadata_and_empties_the_body() {
        let http = Response::builder()
            .status(401)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, "20")
            .header(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
            .body(Bytes::from_static(b"{\"detail\":\"expired\"}"))
            .expect("response");
        let error = AuthError::new(AuthReason::Expired);
        let r = from_http(http, &error, "token expired");
        assert_eq!(r.status(), 200);
        assert!(r.body().is_empty());
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/grpc");
        assert!(r.headers().get(header::CONTENT_LENGTH).is_none());
        assert_eq!(r.headers()[GRPC_STATUS], "16");
        assert_eq!(r.headers()[GRPC_MESSAGE], "token expired");
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
    }
}
