//! A door into the private parsers, for the fuzz targets in `fuzz/` and the limit tests.
//!
//! Compiled only with the internal `__fuzz` feature. Not part of the public API: no semver
//! promise, no behaviour of its own. Each function is a thin wrapper that calls exactly the
//! code a request runs, with the crate's default limits.

use std::borrow::Cow;

use http::HeaderMap;
use http::request::Parts;
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::token::TokenSource;

/// Default token size cap (the builder's `max_token_bytes` default, 16 KiB).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Longest `kid` accepted in a token header or a JWK.
pub const MAX_KID_LEN: usize = crate::jwt::MAX_KID_LEN;

/// The token the layer would take from a request head (see `token::extract`), borrowed from
/// it unless decoded (Kubernetes WebSocket entries) or owned by a custom source.
///
/// # Errors
/// As the layer: ambiguous or malformed carriers are invalid tokens.
pub fn extract_token<'p>(
    parts: &'p Parts,
    sources: &[TokenSource],
) -> Result<Option<Cow<'p, str>>, AuthError> {
    crate::token::extract(parts, sources).map(|found| found.map(|f| f.token))
}

/// A request head with these headers (a `GET /`), for [`extract_token`].
#[must_use]
pub fn parts_with(headers: HeaderMap) -> Parts {
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.headers = headers;
    parts
}

/// What [`parse_compact`] found in a token: its checked header and its three segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactParts {
    /// The header's `alg`.
    pub alg: crate::Algorithm,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The header's `typ`.
    pub typ: Option<String>,
    /// `header "." payload`: what the signature covers.
    pub signing_input: String,
    /// The payload segment (base64url, not decoded).
    pub payload: String,
    /// The signature segment (base64url, not decoded).
    pub signature: String,
}

/// The strict compact-form parse every token goes through, with the default 16 KiB cap.
///
/// # Errors
/// An invalid-token error for anything the verifier would refuse before a key lookup.
pub fn parse_compact(token: &str) -> Result<CompactParts, AuthError> {
    parse_compact_with_cap(token, DEFAULT_MAX_TOKEN_BYTES)
}

/// [`parse_compact`] with another size cap.
///
/// # Errors
/// As [`parse_compact`].
pub fn parse_compact_with_cap(token: &str, max_len: usize) -> Result<CompactParts, AuthError> {
    let mut buf = Vec::new();
    let c = crate::jwt::parse(token, max_len, &mut buf)?;
    Ok(CompactParts {
        alg: c.alg,
        kid: c.kid.map(|k| k.into_owned()),
        typ: c.typ.map(|t| t.into_owned()),
        signing_input: c.signing_input.to_owned(),
        payload: c.payload.to_owned(),
        signature: c.signature.to_owned(),
    })
}

/// The payload decode (base64url, then a JSON object with unique top-level members).
///
/// # Errors
/// An invalid-token error for a payload the verifier would refuse.
pub fn decode_payload(payload_b64: &str) -> Result<Map<String, Value>, AuthError> {
    crate::claims::decode(payload_b64)
}

/// A NumericDate claim as the verifier reads it, in milliseconds since the epoch: `nbf`
/// rounded up to the millisecond, every other claim down (against the token).
///
/// # Errors
/// An invalid-token error for a present claim that is not a valid NumericDate.
pub fn numeric_date_millis(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, AuthError> {
    use crate::claims::Rounding;
    let rounding = if name == "nbf" {
        Rounding::Up
    } else {
        Rounding::Down
    };
    crate::claims::numeric_date(claims, name, rounding).map(|d| d.map(|d| d.as_millis()))
}

/// The OIDC discovery document check (https-only `jwks_uri` unless loopback): the `jwks_uri`
/// it yields, or why it was refused.
///
/// # Errors
/// The refusal, as text.
pub fn check_discovery(body: &[u8], expected_issuer: &str) -> Result<String, String> {
    crate::oidc::check_document(body, expected_issuer, false)
        .map(|url| url.to_string())
        .map_err(|e| e.to_string())
}
