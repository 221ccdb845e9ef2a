//! The request's URL as a DPoP proof's `htu` must name it (RFC 9449 section 4.3 point 9):
//! scheme, authority and path, without query and fragment, compared after the syntax- and
//! scheme-based normalisation of RFC 3986 sections 6.2.2 and 6.2.3.

use std::borrow::Cow;
use std::fmt;

use http::{Request, header};
use url::Url;

use crate::error::ConfigError;

/// Where the scheme and authority of a request's URL come from, for the DPoP `htu` check.
///
/// A server behind a proxy or a TLS terminator only sees a path (`GET /orders`); the URL the
/// client signed is the one it called (`https://api.example.com/orders`). Say which:
///
/// - [`fixed`](Self::fixed): the external origin, e.g. `https://api.example.com`. The
///   recommended choice: the `Host` header plays no part, so a proof is only good for this
///   origin. It may end with the path prefix a proxy strips before the request reaches this
///   service (`https://example.com/api` when `/api/orders` arrives as `/orders`).
/// - [`from_host`](Self::from_host): a fixed scheme, and the authority the request names (its
///   URI's authority, as HTTP/2 sends it, else the `Host` header). For a service reached
///   under several names; make sure the proxy in front passes the client's `Host` unchanged.
///
/// The path is the request's own; under axum, the router's `OriginalUri` when present, so
/// that a layer inside a `nest`ed router still sees the full path the client signed.
#[derive(Clone, PartialEq, Eq)]
pub struct HtuOrigin(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Fixed(String),
    FromHost(String),
}

impl HtuOrigin {
    /// The external origin, `scheme://host[:port]` (`https://api.example.com`), optionally
    /// followed by the path prefix a proxy in front strips (`https://example.com/api`: the
    /// request `/orders` was called, and signed, as `https://example.com/api/orders`; the
    /// request's path is resolved on its own first, so `/../admin` stands for
    /// `https://example.com/api/admin`, never a URL outside the prefix); checked
    /// when the [`Dpop`](super::Dpop) is built (http or https, a host, no query, fragment or
    /// user information).
    #[must_use]
    pub fn fixed(origin: impl Into<String>) -> Self {
        Self(Repr::Fixed(origin.into()))
    }

    /// `scheme` (`"https"` or `"http"`) with the authority the request names (its URI's
    /// authority, else its `Host` header). Read the warning on [`HtuOrigin`].
    #[must_use]
    pub fn from_host(scheme: impl Into<String>) -> Self {
        Self(Repr::FromHost(scheme.into()))
    }

    /// The checked form.
    pub(crate) fn check(&self) -> Result<Origin, ConfigError> {
        match &self.0 {
            Repr::FromHost(scheme) => match scheme.to_ascii_lowercase().as_str() {
                "https" => Ok(Origin::FromHost("https")),
                "http" => Ok(Origin::FromHost("http")),
                _ => Err(ConfigError::new(format!(
                    "HtuOrigin::from_host({scheme:?}): the scheme must be \"https\" or \"http\""
                ))),
            },
            Repr::Fixed(text) => {
                let fix = |why: &str| {
                    ConfigError::new(format!(
                        "HtuOrigin::fixed({text:?}): {why}; give the external origin, e.g. \
                         \"https://api.example.com\""
                    ))
                };
                let url = Url::parse(text).map_err(|_| fix("not a URL"))?;
                if !matches!(url.scheme(), "https" | "http") {
                    return Err(fix("the scheme must be https or http"));
                }
                if url.host_str().is_none() {
                    return Err(fix("no host"));
                }
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(fix("an origin has no query or fragment"));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(fix("an origin has no user information"));
                }
                // The prefix as the URL parser normalised it (dot segments resolved, escapes
                // kept), without its trailing slash: the request's path starts with one.
                Ok(Origin::Fixed {
                    origin: url.origin().ascii_serialization(),
                    prefix: url.path().trim_end_matches('/').to_owned(),
                })
            }
        }
    }
}

impl fmt::Debug for HtuOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Fixed(origin) => f.debug_tuple("HtuOrigin::fixed").field(origin).finish(),
            Repr::FromHost(scheme) => f.debug_tuple("HtuOrigin::from_host").field(scheme).finish(),
        }
    }
}

/// A checked [`HtuOrigin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `scheme://host[:port]`, as the `url` crate serialises an origin, and the path prefix
    /// (empty, or `/api`: no trailing slash). Kept apart: the request's path is resolved on
    /// its own before the prefix goes in front (see [`Origin::request_url`]).
    Fixed {
        origin: String,
        prefix: String,
    },
    FromHost(&'static str),
}

impl Origin {
    /// The URL the request was sent to, as far as the layer can tell; `None` when it has no
    /// usable authority (no `Host` with [`HtuOrigin::from_host`]).
    pub(crate) fn request_url<B>(&self, request: &Request<B>) -> Option<Url> {
        let path = original_path(request);
        // An origin-form path; `*` (OPTIONS) or anything else names no URL to compare.
        if !path.starts_with('/') {
            return None;
        }
        let text = match self {
            Self::Fixed { origin, .. } => format!("{origin}{path}"),
            Self::FromHost(scheme) => {
                // Parsed as an authority: a `Host` holding `/`, `?`, `#` or `\` would
                // otherwise put a path of its own before (or a fragment over) the request's,
                // so that a proof for another URL matched.
                let authority = match request.uri().authority() {
                    Some(authority) => authority.clone(),
                    None => request
                        .headers()
                        .get(header::HOST)?
                        .as_bytes()
                        .try_into()
                        .ok()?,
                };
                format!("{scheme}://{authority}{path}")
            }
        };
        let mut url = Url::parse(&text).ok()?;
        if let Self::Fixed { prefix, .. } = self
            && !prefix.is_empty()
        {
            // The request's path was resolved (dot segments, `%2e` included) against the
            // origin alone, so `..` stops at this service's root; only then does the prefix
            // go in front. Parsed together, `/api` + `/../admin` would be `/admin`: another
            // service's URL on the same origin, whose proofs must not be good here. (The
            // prefix is already normalised and ends in a plain segment: nothing to resolve.)
            let joined = format!("{prefix}{}", url.path());
            url.set_path(&joined);
        }
        // A `Host` holding user information would smuggle in another URL.
        (url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none())
        .then_some(url)
    }
}

fn original_path<B>(request: &Request<B>) -> &str {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::OriginalUri(uri)) = request.extensions().get() {
        return uri.path();
    }
    request.uri().path()
}

/// Whether the proof's `htu` names `request`: same scheme, host and port (the scheme's
/// default port when absent), and the same path once normalised; query and fragment ignored.
pub(crate) fn matches(htu: &str, request: &Url) -> bool {
    let Ok(htu) = Url::parse(htu) else {
        return false;
    };
    htu.scheme() == request.scheme()
        && htu.username().is_empty()
        && htu.password().is_none()
        && htu.host_str() == request.host_str()
        && htu.port_or_known_default() == request.port_or_known_default()
        && normalise_path(htu.path()) == normalise_path(request.path())
}

/// RFC 3986 section 6.2.2: percent-encoded unreserved characters decoded, the hex digits of
/// the remaining escapes uppercase. (Case of scheme and host, dot segments, the default port
/// and an empty path are already normalised by the `url` parser.)
fn normalise_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) => {
                out.push(char::from(byte));
                i += 3;
            }
            Some(byte) => {
                out.push_str(&format!("%{byte:02X}"));
                i += 3;
            }
            None => {
                // Everything in a parsed URL's path is ASCII; a stray `%` stays as it is.
                out.push(char::from(bytes[i]));
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    fn fixed(origin: &str, prefix: &str) -> Origin {
        Origin::Fixed {
            origin: origin.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn the_request_path_is_resolved_before_the_prefix_goes_in_front() {
        let origin = HtuOrigin::fixed("https://example.com/api/")
            .check()
            .unwrap();
        let shown = |target: &str| {
            let request = Request::get(target).body(()).unwrap();
            origin.request_url(&request).map(String::from)
        };
        for (target, url) in [
            ("/orders?x=1", "https://example.com/api/orders"),
            ("/", "https://example.com/api/"),
            ("/../admin", "https://example.com/api/admin"),
            ("/%2e%2e/admin", "https://example.com/api/admin"),
            ("/orders/../../../admin", "https://example.com/api/admin"),
            ("/./a/.%2E/b", "https://example.com/api/b"),
            ("//orders", "https://example.com/api//orders"),
            ("/a%2F..%2Fb", "https://example.com/api/a%2F..%2Fb"),
        ] {
            assert_eq!(shown(target).as_deref(), Some(url), "{target}");
        }
        assert_eq!(shown("*"), None);
        // Without a prefix, as before.
        let origin = HtuOrigin::fixed("https://example.com").check().unwrap();
        let request = Request::get("/../admin").body(()).unwrap();
        assert_eq!(
            origin.request_url(&request).map(String::from).as_deref(),
            Some("https://example.com/admin")
        );
    }

    #[test]
    fn htu_ignores_query_fragment_case_and_default_port() {
        let request = url("https://api.example.com/orders/a~b");
        for same in [
            "https://api.example.com/orders/a~b",
            "HTTPS://API.Example.com:443/orders/a~b?x=1#f",
            "https://api.example.com/orders/a%7eb",
            "https://api.example.com/orders/./a%7Eb",
        ] {
            assert!(matches(same, &request), "{same}");
        }
        for other in [
            "http://api.example.com/orders/a~b",
            "https://api.example.com:8443/orders/a~b",
            "https://evil.example.com/orders/a~b",
            "https://api.example.com/orders",
            "https://api.example.com/Orders/a~b",
            "https://user@api.example.com/orders/a~b",
            "/orders/a~b",
            "",
        ] {
            assert!(!matches(other, &request), "{other}");
        }
        assert_eq!(normalise_path("/a%2fb%"), "/a%2Fb%");
    }

    #[test]
    fn origins_are_checked_when_configured() {
        assert_eq!(
            HtuOrigin::fixed("HTTPS://Api.Example.com:443/").check(),
            Ok(fixed("https://api.example.com", ""))
        );
        // A path prefix (stripped by a proxy in front) is kept, normalised, without its
        // trailing slash.
        for (prefix, checked) in [
            ("https://api.example.com/v1", "/v1"),
            ("https://api.example.com/v1/", "/v1"),
            ("https://API.example.com/a/../v1", "/v1"),
        ] {
            assert_eq!(
                HtuOrigin::fixed(prefix).check(),
                Ok(fixed("https://api.example.com", checked))
            );
        }
        for bad in [
            "api.example.com",
            "ftp://api.example.com",
            "https://api.example.com/v1?x",
            "https://api.example.com/#f",
            "https://api.example.com?x",
            "https://u:p@api.example.com",
        ] {
            assert!(HtuOrigin::fixed(bad).check().is_err(), "{bad}");
        }
        assert!(HtuOrigin::from_host("wss").check().is_err());
        assert_eq!(
            HtuOrigin::from_host("HTTPS").check(),
            Ok(Origin::FromHost("https"))
        );
    }

    #[test]
    fn from_host_reads_the_authority_or_the_host_header() {
        let origin = Origin::FromHost("https");
        let request = Request::get("/a?b")
            .header("host", "api.example.com")
            .body(())
            .unwrap();
        assert_eq!(
            origin.request_url(&request).map(String::from).as_deref(),
            Some("https://api.example.com/a")
        );
        let h2 = Request::get("https://h2.example.com/a").body(()).unwrap();
        assert_eq!(
            origin.request_url(&h2).map(String::from).as_deref(),
            Some("https://h2.example.com/a")
        );
        let no_host = Request::get("/a").body(()).unwrap();
        assert!(origin.request_url(&no_host).is_none());
        let smuggled = Request::get("/a")
            .header("host", "a@b.example.com")
            .body(())
            .unwrap();
        assert!(origin.request_url(&smuggled).is_none());
        // A `Host` cannot carry a path, query or fragment in front of the request's path.
        for host in [
            "api.example.com/admin",
            "api.example.com#",
            "api.example.com?x=",
            "api.example.com\\admin",
        ] {
            let smuggled = Request::get("/orders")
                .header("host", host)
                .body(())
                .unwrap();
            assert!(origin.request_url(&smuggled).is_none(), "{host}");
        }
    }
}
