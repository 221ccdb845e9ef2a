//! Token extraction from arbitrary header maps (Authorization, Cf-Access-Jwt-Assertion,
//! Cookie, custom names).
//!
//! Input: one byte choosing the configured source order, then `name: value` lines.
//! Oracle: the combined result equals "the first source with a token or an error, in order";
//! a token is a non-empty slice of one of the header values; bearer tokens hold no whitespace;
//! a header source yields the whole value.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use jwks_auth::TokenSource;
use jwks_auth::fuzzing::extract_token;
use libfuzzer_sys::fuzz_target;

fn source_lists() -> Vec<Vec<TokenSource>> {
    let bearer = TokenSource::AuthorizationBearer;
    let header = TokenSource::cf_access_header();
    let cookie = TokenSource::cf_authorization_cookie();
    let custom_header = TokenSource::Header(HeaderName::from_static("x-token"));
    let custom_cookie = TokenSource::Cookie("session".to_owned());
    vec![
        TokenSource::defaults(),
        vec![header.clone(), cookie.clone()],
        vec![bearer.clone()],
        vec![cookie.clone(), bearer.clone()],
        vec![cookie.clone()],
        vec![custom_header.clone(), custom_cookie.clone()],
        vec![custom_cookie, bearer.clone(), custom_header, header, cookie],
        vec![],
    ]
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let lists = source_lists();
    let sources = &lists[usize::from(pick) % lists.len()];
    let mut headers = HeaderMap::new();
    for line in rest.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            continue;
        };
        headers.append(name, value);
    }
    let combined = extract_token(&headers, sources);
    // Precedence: the first source that has a token (or fails) decides.
    let mut expected = Ok(None);
    for source in sources {
        match extract_token(&headers, std::slice::from_ref(source)) {
            Ok(None) => continue,
            other => {
                expected = other;
                break;
            }
        }
    }
    assert_eq!(combined, expected);
    if let Ok(Some(token)) = combined {
        assert!(!token.is_empty());
        let inside = headers.values().any(|v| {
            let range = v.as_bytes().as_ptr_range();
            range.contains(&token.as_ptr()) && token.len() <= v.len()
        });
        assert!(inside, "token is not a slice of a header value");
        let source = sources
            .iter()
            .find(|s| extract_token(&headers, std::slice::from_ref(s)) == Ok(Some(token)))
            .expect("some source yields it");
        match source {
            TokenSource::AuthorizationBearer => assert!(!token.contains(char::is_whitespace)),
            TokenSource::Header(name) => {
                assert_eq!(
                    headers.get(name).map(HeaderValue::as_bytes),
                    Some(token.as_bytes())
                )
            }
            _ => {}
        }
    }
});
