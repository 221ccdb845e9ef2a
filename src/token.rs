//! Where a request's token is taken from.

use http::{HeaderMap, HeaderName, header};

use crate::error::{AuthError, AuthReason};

/// The header Cloudflare Access puts the application token in.
pub const CF_ACCESS_HEADER: &str = "cf-access-jwt-assertion";
/// The cookie Cloudflare Access sets in browsers.
pub const CF_AUTHORIZATION_COOKIE: &str = "CF_Authorization";

/// Most cookies examined per request; a request with more is treated as carrying none in the
/// remainder (the cookie header size is already capped by the HTTP server).
pub const MAX_COOKIES: usize = 100;

/// One place a token may arrive in. Query strings are never read (tokens in URLs leak into
/// logs and referrers).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (scheme matched case-insensitively). Two
    /// `Authorization` headers make the request invalid rather than ambiguous.
    AuthorizationBearer,
    /// The whole value of a header, e.g. `Cf-Access-Jwt-Assertion`.
    Header(HeaderName),
    /// The value of a cookie, across all `Cookie` headers; the first occurrence wins.
    Cookie(String),
}

impl TokenSource {
    /// The Cloudflare Access header, `Cf-Access-Jwt-Assertion`.
    #[must_use]
    pub fn cf_access_header() -> Self {
        Self::Header(HeaderName::from_static(CF_ACCESS_HEADER))
    }

    /// The Cloudflare Access cookie, `CF_Authorization`.
    #[must_use]
    pub fn cf_authorization_cookie() -> Self {
        Self::Cookie(CF_AUTHORIZATION_COOKIE.to_owned())
    }

    /// The default order: `Authorization: Bearer`, then `Cf-Access-Jwt-Assertion`, then the
    /// `CF_Authorization` cookie. The first source that holds a token decides; later ones are
    /// not consulted.
    #[must_use]
    pub fn defaults() -> Vec<Self> {
        vec![
            Self::AuthorizationBearer,
            Self::cf_access_header(),
            Self::cf_authorization_cookie(),
        ]
    }
}

/// The token from the first source in `sources` that has one.
///
/// # Errors
/// An invalid-token error for an ambiguous or malformed carrier (two `Authorization`
/// headers, `Bearer` without token, a header value that is not visible ASCII).
pub(crate) fn extract<'h>(
    headers: &'h HeaderMap,
    sources: &[TokenSource],
) -> Result<Option<&'h str>, AuthError> {
    for source in sources {
        let found = match source {
            TokenSource::AuthorizationBearer => bearer(headers)?,
            TokenSource::Header(name) => single_header(headers, name)?,
            TokenSource::Cookie(name) => cookie(headers, name),
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::new(AuthReason::SeveralTokens));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::new(AuthReason::MalformedHeader))?;
    if value.is_empty() {
        return Ok(None);
    }
    Ok(Some(value))
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = single_header(headers, &header::AUTHORIZATION)? else {
        return Ok(None);
    };
    let Some((scheme, rest)) = value.split_once(' ') else {
        // `Bearer` alone is a malformed bearer credential; any other scheme is not ours.
        return if value.eq_ignore_ascii_case("bearer") {
            Err(AuthError::new(AuthReason::EmptyBearerToken))
        } else {
            Ok(None)
        };
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::new(AuthReason::MalformedBearerToken));
    }
    Ok(Some(token))
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let all = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .take(MAX_COOKIES);
    for parsed in all.flatten() {
        if parsed.name_raw() == Some(name) {
            let value = parsed.value_raw()?;
            let value = value.trim_matches('"');
            return (!value.is_empty()).then_some(value);
        }
    }
    None
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

    fn get(pairs: &[(&str, &str)]) -> Result<Option<String>, AuthError> {
        extract(&headers(pairs), &TokenSource::defaults()).map(|t| t.map(str::to_owned))
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
        assert!(get(&[("authorization", "Bearer")]).is_err());
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
        let h = headers(&all);
        assert_eq!(extract(&h, &cookie_first), Ok(Some("from.cookie.x")));
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
        assert_eq!(extract(&h, &sources), Ok(Some("h.h.h")));
        let h = headers(&[("cookie", "session=c.c.c")]);
        assert_eq!(extract(&h, &sources), Ok(Some("c.c.c")));
    }
}
