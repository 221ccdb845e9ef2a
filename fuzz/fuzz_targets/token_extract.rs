//! Token extraction from arbitrary header maps (Authorization, Cf-Access-Jwt-Assertion,
//! Cookie, custom names, `Sec-WebSocket-Protocol` entries raw and Kubernetes-encoded).
//!
//! Input: one byte choosing the configured source order, then `name: value` lines.
//! Oracle: the combined result equals "the first source with a token or an error, in order";
//! a token is non-empty and, unless decoded (Kubernetes), a slice of one of the header values;
//! bearer tokens hold no whitespace; a header source yields the whole value; WebSocket
//! sources yield nothing on a request that is not an upgrade.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use jwks_auth::fuzzing::{extract_token, parts_with};
use jwks_auth::{TokenSource, WebSocketProtocol};
use libfuzzer_sys::fuzz_target;

fn source_lists() -> Vec<Vec<TokenSource>> {
    let bearer = TokenSource::AuthorizationBearer;
    let header = TokenSource::cf_access_header();
    let cookie = TokenSource::cf_authorization_cookie();
    let custom_header = TokenSource::Header(HeaderName::from_static("x-token"));
    let custom_cookie = TokenSource::Cookie("session".to_owned());
    let websocket =
        TokenSource::WebSocketProtocol(WebSocketProtocol::prefix("jwt.").expect("prefix"));
    let kubernetes = TokenSource::kubernetes_websocket();
    vec![
        vec![websocket.clone()],
        vec![kubernetes.clone(), websocket.clone(), bearer.clone()],
        TokenSource::defaults(),
        vec![header.clone(), cookie.clone()],
        vec![bearer.clone()],
        vec![cookie.clone(), bearer.clone()],
        vec![cookie.clone()],
        vec![custom_header.clone(), custom_cookie.clone()],
        vec![
            custom_cookie,
            bearer.clone(),
            custom_header,
            header,
            cookie,
            kubernetes,
            websocket,
        ],
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
    let parts = parts_with(headers);
    let headers = &parts.headers;
    let combined = extract_token(&parts, sources);
    // Precedence: the first source that has a token (or fails) decides.
    let mut expected = Ok(None);
    for source in sources {
        match extract_token(&parts, std::slice::from_ref(source)) {
            Ok(None) => continue,
            other => {
                expected = other;
                break;
            }
        }
    }
    assert_eq!(combined, expected);
    let upgrade = headers.contains_key("upgrade") && headers.contains_key("connection");
    for source in sources {
        if matches!(source, TokenSource::WebSocketProtocol(_)) && !upgrade {
            assert_eq!(
                extract_token(&parts, std::slice::from_ref(source)),
                Ok(None)
            );
        }
    }
    if let Ok(Some(token)) = &combined {
        assert!(!token.is_empty());
        let source = sources
            .iter()
            .find(|s| {
                extract_token(&parts, std::slice::from_ref(s)).as_ref() == Ok(&Some(token.clone()))
            })
            .expect("some source yields it");
        let decoded = matches!(source, TokenSource::WebSocketProtocol(p) if p.is_base64url());
        if !decoded {
            let inside = headers.values().any(|v| {
                let range = v.as_bytes().as_ptr_range();
                range.contains(&token.as_ptr()) && token.len() <= v.len()
            });
            assert!(inside, "token is not a slice of a header value");
        }
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
