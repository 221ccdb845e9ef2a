//! Tokens in the `Sec-WebSocket-Protocol` header of a WebSocket upgrade.
//!
//! Browsers cannot set `Authorization` on a WebSocket handshake, only the list of
//! subprotocols, so clients put the token in an entry of that list behind a fixed prefix.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, header};

use super::Found;
use crate::error::{AuthError, AuthReason, ConfigError};

/// How a token rides in `Sec-WebSocket-Protocol`: the entry that starts with a prefix, the
/// token being the rest of the entry (as is, or base64url-encoded as Kubernetes does).
///
/// Read only on WebSocket upgrade requests (`Connection: upgrade` and `Upgrade: websocket`,
/// HTTP/1.1); on any other request the source is absent, whatever the header holds.
///
/// ```text
/// Sec-WebSocket-Protocol: graphql-ws, jwt.eyJhbGciOi...          (prefix "jwt.")
/// Sec-WebSocket-Protocol: base64.binary.k8s.io,
///     base64url.bearer.authorization.k8s.io.ZXlKaGJHY2lPaS4uLg   (Kubernetes)
/// ```
///
/// Present but unusable is an error, never "absent": two entries with the prefix, an entry
/// that is only the prefix, characters that are not an RFC 9110 token, or (Kubernetes) a
/// remainder that is not unpadded base64url of UTF-8.
///
/// # The server must answer with another subprotocol
/// A browser fails the handshake unless the server selects one of the offered subprotocols,
/// and it must never be the token entry (the server would echo the credential): offer a real
/// subprotocol beside it (`graphql-ws`, `base64.binary.k8s.io`, ...) and select that one, as
/// axum's `WebSocketUpgrade::protocols` does when given only the real ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketProtocol {
    prefix: Cow<'static, str>,
    base64url: bool,
}

impl WebSocketProtocol {
    /// The Kubernetes API server's entry prefix.
    pub const KUBERNETES_PREFIX: &'static str = "base64url.bearer.authorization.k8s.io.";

    /// Kubernetes' convention: `base64url.bearer.authorization.k8s.io.<token>`, the token
    /// base64url-encoded without padding (so any bearer token fits a subprotocol name).
    #[must_use]
    pub fn kubernetes() -> Self {
        Self {
            prefix: Cow::Borrowed(Self::KUBERNETES_PREFIX),
            base64url: true,
        }
    }

    /// The entry `<prefix><token>`, the token as is (a JWT is already made of characters a
    /// subprotocol name allows).
    ///
    /// # Errors
    /// A [`ConfigError`] if `prefix` is empty or not made of RFC 9110 token characters (such
    /// a prefix could never start an entry).
    pub fn prefix(prefix: impl Into<String>) -> Result<Self, ConfigError> {
        let prefix = prefix.into();
        if prefix.is_empty() || !prefix.bytes().all(is_tchar) {
            return Err(ConfigError::new(format!(
                "WebSocket token prefix {prefix:?} must be non-empty and made of token \
                 characters (letters, digits, and !#$%&'*+-.^_`|~), e.g. \"jwt.\""
            )));
        }
        Ok(Self {
            prefix: Cow::Owned(prefix),
            base64url: false,
        })
    }

    /// The entry prefix.
    #[must_use]
    pub fn entry_prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the token is base64url-encoded after the prefix (Kubernetes).
    #[must_use]
    pub fn is_base64url(&self) -> bool {
        self.base64url
    }
}

/// RFC 9110 section 5.6.2 `tchar`: what a subprotocol name (a token) is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether some `name` header lists `token` (comma-separated, case-insensitive).
fn lists(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|item| item.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
        })
    })
}

/// An HTTP/1.1 WebSocket upgrade request (RFC 6455 section 4.1).
pub(crate) fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    lists(headers, header::CONNECTION, "upgrade") && lists(headers, header::UPGRADE, "websocket")
}

fn malformed() -> AuthError {
    AuthError::new(AuthReason::MalformedWebSocketProtocol)
}

/// The token of the `source` entry of `Sec-WebSocket-Protocol`, on upgrade requests only.
pub(super) fn extract<'h>(
    headers: &'h HeaderMap,
    source: &WebSocketProtocol,
) -> Result<Option<Found<'h>>, AuthError> {
    if !is_websocket_upgrade(headers) {
        return Ok(None);
    }
    let prefix = source.prefix.as_ref();
    let mut found: Option<(&'h str, &'h HeaderValue)> = None;
    for carrier in headers.get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        let Ok(text) = carrier.to_str() else {
            // Unreadable as a whole: refuse only if a token entry is in it.
            let mut entries = carrier.as_bytes().split(|b| *b == b',');
            if entries.any(|entry| entry.trim_ascii().starts_with(prefix.as_bytes())) {
                return Err(malformed());
            }
            continue;
        };
        for entry in text.split(',') {
            let Some(rest) = entry.trim_matches([' ', '\t']).strip_prefix(prefix) else {
                continue;
            };
            if found.is_some() {
                return Err(AuthError::new(AuthReason::SeveralTokens));
            }
            found = Some((rest, carrier));
        }
    }
    let Some((rest, carrier)) = found else {
        return Ok(None);
    };
    if rest.is_empty() || !rest.bytes().all(is_tchar) {
        return Err(malformed());
    }
    if !source.base64url {
        return Ok(Some(Found {
            token: Cow::Borrowed(rest),
            carrier: Some(carrier),
        }));
    }
    let bytes = URL_SAFE_NO_PAD.decode(rest).map_err(|_| malformed())?;
    let token = String::from_utf8(bytes).map_err(|_| malformed())?;
    if token.is_empty() {
        return Err(malformed());
    }
    Ok(Some(Found {
        token: Cow::Owned(token),
        carrier: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(protocols: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        for p in protocols {
            h.append(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_str(p).expect("value"),
            );
        }
        h
    }

    fn token(h: &HeaderMap, source: &WebSocketProtocol) -> Result<Option<String>, AuthReason> {
        extract(h, source)
            .map(|f| f.map(|f| f.token.into_owned()))
            .map_err(|e| e.reason())
    }

    #[test]
    fn upgrade_detection_reads_token_lists_case_insensitively() {
        assert!(is_websocket_upgrade(&upgrade(&[])));
        let mut h = upgrade(&[]);
        h.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        assert!(is_websocket_upgrade(&h));
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!is_websocket_upgrade(&h));
        let mut h = upgrade(&[]);
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        assert!(!is_websocket_upgrade(&h));
        h.remove(header::UPGRADE);
        assert!(!is_websocket_upgrade(&h));
    }

    #[test]
    fn kubernetes_entries_are_base64url_decoded() {
        let k8s = WebSocketProtocol::kubernetes();
        let encoded = URL_SAFE_NO_PAD.encode("a.b.c");
        let entry = format!("{}{encoded}", WebSocketProtocol::KUBERNETES_PREFIX);
        let h = upgrade(&[&format!("base64.binary.k8s.io, {entry}")]);
        assert_eq!(token(&h, &k8s), Ok(Some("a.b.c".into())));
        // Padded, not base64url, or not UTF-8: present but unusable.
        for bad in ["YS5iLmM=", "a+b/", "_w"] {
            let h = upgrade(&[&format!("{}{bad}", WebSocketProtocol::KUBERNETES_PREFIX)]);
            assert_eq!(
                token(&h, &k8s),
                Err(AuthReason::MalformedWebSocketProtocol),
                "{bad}"
            );
        }
    }

    #[test]
    fn prefixes_must_be_token_characters() {
        assert!(WebSocketProtocol::prefix("jwt.").is_ok());
        assert!(WebSocketProtocol::prefix("").is_err());
        let err = WebSocketProtocol::prefix("my token ").expect_err("space");
        assert!(err.to_string().contains("token characters"), "{err}");
    }

    #[test]
    fn unreadable_header_is_refused_only_with_a_token_entry() {
        let jwt = WebSocketProtocol::prefix("jwt.").expect("prefix");
        let mut h = upgrade(&[]);
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_bytes(b"caf\xc3\xa9, jwt.a.b.c").expect("bytes"),
        );
        assert_eq!(token(&h, &jwt), Err(AuthReason::MalformedWebSocketProtocol));
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_bytes(b"caf\xc3\xa9").expect("bytes"),
        );
        assert_eq!(token(&h, &jwt), Ok(None));
    }
}
