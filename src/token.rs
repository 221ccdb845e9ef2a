//! Where a request's token is taken from.

mod custom;
mod websocket;

use std::borrow::Cow;

use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, header};

pub use custom::{CustomSource, ExtractToken};
pub use websocket::WebSocketProtocol;

use crate::error::{AuthError, AuthReason};
use crate::user::VerifiedToken;

/// The header Cloudflare Access puts the application token in.
pub const CF_ACCESS_HEADER: &str = "cf-access-jwt-assertion";
/// The cookie Cloudflare Access sets in browsers.
pub const CF_AUTHORIZATION_COOKIE: &str = "CF_Authorization";

/// Most cookies a request may carry before the token cookie: the token cookie after this many
/// others is refused rather than read (the `Cookie` header size is capped by the HTTP server).
pub const MAX_COOKIES: usize = 100;

/// One place a token may arrive in. Query strings are never read by the built-in sources
/// (tokens in URLs leak into logs and referrers).
///
/// The built-in sources are read without allocating or dynamic dispatch; only a
/// [`Custom`](Self::Custom) one is called through a pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (scheme matched case-insensitively). Two
    /// `Authorization` headers make the request invalid rather than ambiguous.
    AuthorizationBearer,
    /// The whole value of a header, e.g. `Cf-Access-Jwt-Assertion`.
    Header(HeaderName),
    /// The value of a cookie, across all `Cookie` headers; two cookies of that name are
    /// refused. Read the CSRF warning on
    /// [`cf_authorization_cookie`](Self::cf_authorization_cookie) before using one.
    Cookie(String),
    /// An entry of `Sec-WebSocket-Protocol`, on WebSocket upgrade requests only; see
    /// [`WebSocketProtocol`] for the conventions and the subprotocol the server must select.
    WebSocketProtocol(WebSocketProtocol),
    /// A source of your own (see [`ExtractToken`]).
    Custom(CustomSource),
}

impl TokenSource {
    /// The Cloudflare Access header, `Cf-Access-Jwt-Assertion`.
    #[must_use]
    pub fn cf_access_header() -> Self {
        Self::Header(HeaderName::from_static(CF_ACCESS_HEADER))
    }

    /// The Cloudflare Access cookie, `CF_Authorization`.
    ///
    /// # Warning: cross-site request forgery
    /// Browsers attach cookies to cross-site requests (subject to the cookie's `SameSite`
    /// attribute), so a cookie is an ambient credential: an API that accepts it must not
    /// change state on a request a third-party page can trigger, unless the cookie is
    /// `SameSite=Lax`/`Strict` or the application has its own CSRF defence. Headers
    /// (`Authorization`, `Cf-Access-Jwt-Assertion`) cannot be sent cross-site without a CORS
    /// preflight, which is why [`defaults`](Self::defaults) leaves the cookie out; the
    /// Cloudflare Access preset adds it, for browser applications behind Access.
    #[must_use]
    pub fn cf_authorization_cookie() -> Self {
        Self::Cookie(CF_AUTHORIZATION_COOKIE.to_owned())
    }

    /// A source of your own, as a closure over the request head; see [`ExtractToken`] for the
    /// rule it must follow (`Ok(None)` only when no credential is there).
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use jwks_auth::{AuthError, AuthReason, TokenSource};
    ///
    /// // `X-Api-Token: Token <jwt>`
    /// let source = TokenSource::custom(|parts| {
    ///     let Some(value) = parts.headers.get("x-api-token") else {
    ///         return Ok(None);
    ///     };
    ///     let text = value
    ///         .to_str()
    ///         .map_err(|_| AuthError::new(AuthReason::MalformedHeader))?;
    ///     match text.strip_prefix("Token ") {
    ///         Some(token) => Ok(Some(Cow::Borrowed(token))),
    ///         None => Err(AuthError::new(AuthReason::MalformedBearerToken)),
    ///     }
    /// });
    /// # let _ = source;
    /// ```
    pub fn custom<F>(source: F) -> Self
    where
        F: for<'p> Fn(&'p Parts) -> Result<Option<Cow<'p, str>>, AuthError> + Send + Sync + 'static,
    {
        Self::Custom(CustomSource::new(source))
    }

    /// The token in `Sec-WebSocket-Protocol` by Kubernetes' convention,
    /// `base64url.bearer.authorization.k8s.io.<base64url(token)>`, on upgrade requests only.
    #[must_use]
    pub fn kubernetes_websocket() -> Self {
        Self::WebSocketProtocol(WebSocketProtocol::kubernetes())
    }

    /// The default order: `Authorization: Bearer`, then `Cf-Access-Jwt-Assertion`. The first
    /// source that holds a token decides; later ones are not consulted. Cookies are not read
    /// unless configured (see [`cf_authorization_cookie`](Self::cf_authorization_cookie)).
    #[must_use]
    pub fn defaults() -> Vec<Self> {
        vec![Self::AuthorizationBearer, Self::cf_access_header()]
    }
}

/// The token from the first source in `sources` that has one, with the header value it is a
/// slice of.
///
/// "Absent" means exactly: no header of that name (or an empty value), an `Authorization`
/// header with another well-formed scheme (`Basic ...`), no cookie of that name (or an
/// empty value), no `Sec-WebSocket-Protocol` entry with the prefix or a request that is not a
/// WebSocket upgrade, or a custom source's `Ok(None)` (or empty token). Anything present but
/// unusable is an error, never "absent", so that an
/// [`optional`](crate::JwksAuthLayer::optional) layer cannot let it through anonymous.
///
/// # Errors
/// An invalid-token error for an ambiguous or malformed carrier: two `Authorization` headers
/// or two token cookies, `Bearer` without a token or with a TAB or other whitespace, a bare
/// JWT without a scheme, a header value that is not visible ASCII, a `Cookie` header holding
/// the token cookie with non-ASCII bytes, the token cookie beyond [`MAX_COOKIES`], two
/// WebSocket token entries or a malformed one, or a custom source's error.
pub(crate) fn extract<'p>(
    parts: &'p Parts,
    sources: &[TokenSource],
) -> Result<Option<Found<'p>>, AuthError> {
    let headers = &parts.headers;
    for source in sources {
        let found = match source {
            TokenSource::AuthorizationBearer => bearer(headers)?,
            TokenSource::Header(name) => single_header(headers, name)?,
            TokenSource::Cookie(name) => cookie(headers, name)?,
            TokenSource::WebSocketProtocol(protocol) => websocket::extract(headers, protocol)?,
            TokenSource::Custom(custom) => custom.extract(parts)?.and_then(|token| {
                (!token.is_empty()).then_some(Found {
                    token,
                    carrier: None,
                })
            }),
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// A token, and the header value it is a slice of when it is one.
#[derive(Debug, Clone)]
pub(crate) struct Found<'h> {
    pub(crate) token: Cow<'h, str>,
    pub(crate) carrier: Option<&'h HeaderValue>,
}

impl Found<'_> {
    /// The token for the request extensions: sharing its header's bytes when it is a slice of
    /// one, copied otherwise (decoded or custom tokens).
    pub(crate) fn verified_token(&self) -> VerifiedToken {
        // `VerifiedToken::new` copies a token that is not a slice of the carrier it is given,
        // which a non-empty token never is of an empty one.
        static NO_CARRIER: HeaderValue = HeaderValue::from_static("");
        VerifiedToken::new(self.carrier.unwrap_or(&NO_CARRIER), &self.token)
    }
}

/// The one value of header `name`, if any; two values are ambiguous.
fn only_value<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h HeaderValue>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(carrier) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::new(AuthReason::SeveralTokens));
    }
    Ok(Some(carrier))
}

/// The whole value of header `name` is the token.
fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<Found<'h>>, AuthError> {
    let Some(carrier) = only_value(headers, name)? else {
        return Ok(None);
    };
    let token = carrier
        .to_str()
        .map_err(|_| AuthError::new(AuthReason::InvalidHeaderValue))?;
    if token.is_empty() {
        return Ok(None);
    }
    Ok(Some(Found {
        token: Cow::Borrowed(token),
        carrier: Some(carrier),
    }))
}

/// `Authorization: Bearer <token>` (RFC 6750 section 2.1: the scheme, matched
/// case-insensitively, then one or more SP, then the token).
///
/// A value is another scheme's credential - absent for us - only when it starts with a
/// well-formed scheme name that is not `Bearer` (RFC 9110 section 11.1: a token; a dot, which
/// no registered scheme has and every JWT has, counts as not a scheme name). Anything else is a
/// bearer credential: `Bearer:x`, `Bearer<TAB>x`, a bare JWT or a quoted one are malformed,
/// never absent.
fn bearer(headers: &HeaderMap) -> Result<Option<Found<'_>>, AuthError> {
    authorization(headers, b"bearer")
}

/// `Authorization: <scheme> <token>`, read as [`bearer`] reads `Bearer` (the DPoP scheme of
/// RFC 9449 section 7.1 has the same syntax). `scheme_name` is lowercase.
pub(crate) fn authorization<'h>(
    headers: &'h HeaderMap,
    scheme_name: &[u8],
) -> Result<Option<Found<'h>>, AuthError> {
    let Some(carrier) = only_value(headers, &header::AUTHORIZATION)? else {
        return Ok(None);
    };
    let malformed = || Err(AuthError::new(AuthReason::MalformedBearerToken));
    // One pass over the value, by bytes: the scheme, the spaces, then the token, each byte
    // looked at once. (hyper strips leading whitespace; a direct tower caller may not, and a
    // header value can only lead with SP or HTAB.)
    let raw = carrier.as_bytes();
    let raw = &raw[raw.iter().take_while(|b| matches!(b, b' ' | b'\t')).count()..];
    let scheme_len = raw.iter().take_while(|b| is_scheme_char(**b)).count();
    let (scheme, after) = raw.split_at(scheme_len);
    let ends_cleanly = after.first().is_none_or(|b| *b == b' ');
    if !scheme.eq_ignore_ascii_case(scheme_name) {
        return if !scheme.is_empty() && ends_cleanly {
            Ok(None) // `Basic ...`, `Negotiate`: not ours, whatever follows
        } else {
            malformed() // no scheme at all: a bare or mangled token
        };
    }
    if after.is_empty() {
        return Err(AuthError::new(AuthReason::EmptyBearerToken));
    }
    if !ends_cleanly {
        return malformed(); // `Bearer<TAB>`, `Bearer:`, `Bearer=`
    }
    let token = &after[after.iter().take_while(|b| **b == b' ').count()..];
    // Visible ASCII only: no whitespace inside or after the token, nothing non-ASCII.
    if token.is_empty() || !is_visible_ascii(token) {
        return malformed();
    }
    // ASCII, so this cannot fail; it is the safe way to a `&str` (and a fast one on ASCII).
    let Ok(token) = std::str::from_utf8(token) else {
        return malformed();
    };
    Ok(Some(Found {
        token: Cow::Borrowed(token),
        carrier: Some(carrier),
    }))
}

/// Every byte is visible ASCII (`0x21..=0x7E`). Written as a fold without an early exit so
/// that it compiles to vector compares: a token is hundreds of bytes, and a `char`-by-`char`
/// search (`str::contains` with a closure) cost 20x more on the hot path.
fn is_visible_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |visible, b| {
        visible & (b.wrapping_sub(0x21) < 0x7F - 0x21)
    })
}

/// An auth-scheme character (RFC 9110 `tchar`), minus the dot (see [`bearer`]).
fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-^_`|~".contains(&b)
}

/// The value of cookie `name` across all `Cookie` headers. Two cookies of that name are
/// refused (a sibling subdomain can set a second one: cookie tossing), and so is the cookie
/// when it cannot be read: in a header that is not visible ASCII, or past [`MAX_COOKIES`].
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<Found<'h>>, AuthError> {
    let mut found = None;
    let mut seen = 0;
    for header in headers.get_all(header::COOKIE) {
        let Ok(text) = header.to_str() else {
            // Unreadable as a whole: refuse only if our cookie is in it.
            if raw_cookie_names(header.as_bytes()).any(|n| n == name.as_bytes()) {
                return Err(AuthError::new(AuthReason::MalformedCookie));
            }
            continue;
        };
        for pair in text.split(';') {
            seen += 1;
            if seen > MAX_COOKIES {
                // Past the cap only names are compared (no parsing): the work stays linear
                // in the header, and a token hidden there is refused rather than ignored.
                if raw_cookie_names(pair.as_bytes()).any(|n| n == name.as_bytes()) {
                    return Err(AuthError::new(AuthReason::TooManyCookies));
                }
                continue;
            }
            let Ok(parsed) = cookie::Cookie::parse(pair) else {
                // `CF_Authorization` without `=`: our cookie, unreadable.
                if pair.trim() == name {
                    return Err(AuthError::new(AuthReason::MalformedCookie));
                }
                continue;
            };
            if parsed.name_raw() != Some(name) {
                continue;
            }
            if found.is_some() {
                return Err(AuthError::new(AuthReason::SeveralTokenCookies));
            }
            // RFC 6265 allows one pair of double quotes around a value, no more.
            let value = parsed.value_raw().unwrap_or("");
            let token = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            found = Some(Found {
                token: Cow::Borrowed(token),
                carrier: Some(header),
            });
        }
    }
    Ok(found.filter(|f| !f.token.is_empty()))
}

/// Cookie names in a raw `Cookie` header value (`name=value; ...`), without decoding it.
fn raw_cookie_names(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    raw.split(|b| *b == b';').map(|pair| {
        let name = pair.split(|b| *b == b'=').next().unwrap_or(pair);
        name.trim_ascii()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    fn token_of(h: &HeaderMap, sources: &[TokenSource]) -> Result<Option<String>, AuthError> {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.headers = h.clone();
        super::extract(&parts, sources).map(|found| found.map(|f| f.token.into_owned()))
    }

    /// Every built-in source, in the default order then the cookie.
    fn all_sources() -> Vec<TokenSource> {
        let mut sources = TokenSource::defaults();
        sources.push(TokenSource::cf_authorization_cookie());
        sources
    }

    fn get(pairs: &[(&str, &str)]) -> Result<Option<String>, AuthError> {
        token_of(&headers(pairs), &all_sources())
    }

    fn reason(pairs: &[(&str, &str)]) -> AuthReason {
        get(pairs).expect_err("refused").reason()
    }

    #[test]
    fn defaults_read_headers_only() {
        let h = headers(&[("cookie", "CF_Authorization=a.b.c")]);
        assert_eq!(token_of(&h, &TokenSource::defaults()), Ok(None));
    }

    #[test]
    fn present_but_malformed_bearer_credentials_are_errors_not_absent() {
        assert_eq!(
            reason(&[("authorization", "Bearer\ta.b.c")]),
            AuthReason::MalformedBearerToken
        );
        assert_eq!(
            reason(&[("authorization", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln")]),
            AuthReason::MalformedBearerToken
        );
        assert_eq!(
            reason(&[("authorization", "Bearer ")]),
            AuthReason::MalformedBearerToken
        );
        // Mangled bearer credentials and tokens without a well-formed scheme (review cases).
        for value in [
            "Bearer:a.b.c",
            "Bearer,a.b.c",
            "Bearer=a.b.c",
            "a.b.c=",
            "\"a.b.c\"",
        ] {
            assert_eq!(
                reason(&[("authorization", value)]),
                AuthReason::MalformedBearerToken,
                "{value}"
            );
        }
        // Leading whitespace (a direct tower caller; hyper strips it) is not a new scheme.
        assert_eq!(
            get(&[("authorization", " Bearer a.b.c")]),
            Ok(Some("a.b.c".into()))
        );
        // Another scheme, even one without parameters or with non-ASCII parameters, is simply
        // not ours.
        assert_eq!(get(&[("authorization", "Negotiate")]), Ok(None));
        assert_eq!(get(&[("authorization", "Digest a=b")]), Ok(None));
        assert_eq!(get(&[("authorization", "Bearerish a.b.c")]), Ok(None));
        let mut h = HeaderMap::new();
        h.append(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Basic caf\xc3\xa9").expect("bytes"),
        );
        assert_eq!(token_of(&h, &all_sources()), Ok(None));
    }

    #[test]
    fn unreadable_or_ambiguous_token_cookies_are_errors() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_bytes(b"caf\xc3\xa9=1; CF_Authorization=a.b.c").expect("bytes"),
        );
        assert_eq!(
            token_of(&h, &all_sources()).map_err(|e| e.reason()),
            Err(AuthReason::MalformedCookie)
        );
        // A non-ASCII header without our cookie is someone else's business.
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_bytes(b"caf\xc3\xa9=1").expect("bytes"),
        );
        assert_eq!(token_of(&h, &all_sources()), Ok(None));

        // One pair of quotes is removed, no more; a half-quoted value is kept as it is (and then
        // fails verification); a nameless `CF_Authorization` is our cookie, unreadable.
        assert_eq!(
            get(&[("cookie", "CF_Authorization=\"a.b.c\"")]),
            Ok(Some("a.b.c".into()))
        );
        assert_eq!(
            get(&[("cookie", "CF_Authorization=\"a.b.c")]),
            Ok(Some("\"a.b.c".into()))
        );
        assert_eq!(
            get(&[("cookie", "CF_Authorization=\"\"a.b.c\"\"")]),
            Ok(Some("\"a.b.c\"".into()))
        );
        assert_eq!(
            reason(&[("cookie", "x=1; CF_Authorization")]),
            AuthReason::MalformedCookie
        );
        assert_eq!(
            reason(&[("cookie", "CF_Authorization=a.b.c; CF_Authorization=d.e.f")]),
            AuthReason::SeveralTokenCookies
        );
        assert_eq!(
            reason(&[
                ("cookie", "CF_Authorization=a.b.c"),
                ("cookie", "CF_Authorization=a.b.c")
            ]),
            AuthReason::SeveralTokenCookies
        );

        let others: Vec<String> = (0..MAX_COOKIES).map(|i| format!("c{i}=v")).collect();
        let at_limit = format!(
            "{}; CF_Authorization=a.b.c",
            others[..MAX_COOKIES - 1].join("; ")
        );
        assert_eq!(get(&[("cookie", &at_limit)]), Ok(Some("a.b.c".into())));
        let past_limit = format!("{}; CF_Authorization=a.b.c", others.join("; "));
        assert_eq!(
            reason(&[("cookie", &past_limit)]),
            AuthReason::TooManyCookies
        );
    }

    #[test]
    fn bearer_tokens_are_visible_ascii_to_their_last_byte() {
        for (value, expected) in [
            (&b"Bearer  a.b.c"[..], Ok(Some("a.b.c".to_owned()))),
            (b"\t Bearer a.b.c", Ok(Some("a.b.c".to_owned()))),
            (b"Bearer !~.b.c", Ok(Some("!~.b.c".to_owned()))),
            (
                b"Bearer a.b.c\xc3\xa9",
                Err(AuthReason::MalformedBearerToken),
            ),
            (
                b"Bearer \xc3\xa9a.b.c",
                Err(AuthReason::MalformedBearerToken),
            ),
            (b"Bearer a.b.c\t", Err(AuthReason::MalformedBearerToken)),
            (b"Bearer a.b.c ", Err(AuthReason::MalformedBearerToken)),
            (b"Bearer a.b\tc", Err(AuthReason::MalformedBearerToken)),
        ] {
            let mut h = HeaderMap::new();
            h.append(
                header::AUTHORIZATION,
                HeaderValue::from_bytes(value).expect("bytes"),
            );
            assert_eq!(
                token_of(&h, &all_sources()).map_err(|e| e.reason()),
                expected,
                "{}",
                value.escape_ascii()
            );
        }
        // Every byte value after the scheme: only 0x21..=0x7E make a token.
        for b in 0..=u8::MAX {
            let Ok(value) =
                HeaderValue::from_bytes(&[b'B', b'e', b'a', b'r', b'e', b'r', b' ', b'x', b])
            else {
                continue; // not a header value at all
            };
            let mut h = HeaderMap::new();
            h.append(header::AUTHORIZATION, value);
            let found = token_of(&h, &all_sources());
            assert_eq!(found.is_ok(), (0x21..=0x7E).contains(&b), "byte {b:#04x}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(
                get(&[("authorization", &format!("{scheme} a.b.c"))]),
                Ok(Some("a.b.c".into()))
            );
        }
    }

    #[test]
    fn other_schemes_are_not_tokens_but_empty_bearer_is_invalid() {
        assert_eq!(get(&[("authorization", "Basic dXNlcjpwYXNz")]), Ok(None));
        assert_eq!(
            reason(&[("authorization", "Bearer")]),
            AuthReason::EmptyBearerToken
        );
        assert!(get(&[("authorization", "Bearer a.b c")]).is_err());
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        let err = get(&[
            ("authorization", "Bearer a.b.c"),
            ("authorization", "Bearer d.e.f"),
        ])
        .expect_err("ambiguous");
        assert_eq!(err.reason(), AuthReason::SeveralTokens);
    }

    #[test]
    fn precedence_follows_the_configured_order() {
        let all = [
            ("authorization", "Bearer from.bearer.x"),
            ("cf-access-jwt-assertion", "from.header.x"),
            ("cookie", "a=1; CF_Authorization=from.cookie.x"),
        ];
        assert_eq!(get(&all), Ok(Some("from.bearer.x".into())));
        assert_eq!(get(&all[1..]), Ok(Some("from.header.x".into())));
        assert_eq!(get(&all[2..]), Ok(Some("from.cookie.x".into())));
        let cookie_first = [
            TokenSource::cf_authorization_cookie(),
            TokenSource::AuthorizationBearer,
        ];
        assert_eq!(
            token_of(&headers(&all[2..]), &TokenSource::defaults()),
            Ok(None),
            "the cookie is not a default source"
        );
        let h = headers(&all);
        assert_eq!(
            token_of(&h, &cookie_first),
            Ok(Some("from.cookie.x".into()))
        );
    }

    #[test]
    fn cookies_are_found_across_headers_and_names_match_exactly() {
        assert_eq!(
            get(&[("cookie", "x=1"), ("cookie", "y=2; CF_Authorization=t.o.k")]),
            Ok(Some("t.o.k".into()))
        );
        assert_eq!(get(&[("cookie", "cf_authorization=t.o.k")]), Ok(None));
        assert_eq!(get(&[("cookie", "CF_Authorization=")]), Ok(None));
    }

    #[test]
    fn custom_header_and_cookie_names() {
        let sources = [
            TokenSource::Header(HeaderName::from_static("x-token")),
            TokenSource::Cookie("session".into()),
        ];
        let h = headers(&[("x-token", "h.h.h"), ("cookie", "session=c.c.c")]);
        assert_eq!(token_of(&h, &sources), Ok(Some("h.h.h".into())));
        let h = headers(&[("cookie", "session=c.c.c")]);
        assert_eq!(token_of(&h, &sources), Ok(Some("c.c.c".into())));
    }
}
