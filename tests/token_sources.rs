//! Pluggable token sources end to end: custom sources (closures over the request head) and
//! the WebSocket `Sec-WebSocket-Protocol` source, present, absent, malformed, and ignored on
//! requests that are not upgrades; then a property test of the WebSocket parsing.

mod common;

use std::borrow::Cow;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{builder, get_with, send};
use http::{Request, StatusCode};
use jwks_auth::testing::MockIdp;
use jwks_auth::{
    AuthError, AuthReason, CustomSource, ExtractToken, JwksAuthLayer, TokenSource, User,
    VerifiedToken, WebSocketProtocol,
};
use tower::ServiceExt;

/// `/me` answers `<sub> <token>`, `/maybe` the sub or "anonymous".
fn app(layer: JwksAuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User, req: axum::extract::Request| async move {
                let token = req.extensions().get::<VerifiedToken>().expect("token");
                format!("{} {}", user.sub().unwrap_or(""), token.as_str())
            }),
        )
        .route(
            "/maybe",
            get(|user: Option<User>| async move {
                user.map_or("anonymous".to_owned(), |u| u.sub().unwrap_or("").to_owned())
            }),
        )
        .layer(layer)
}

/// The reason of a refusal, from the response's extensions.
async fn refusal(app: &Router, request: Request<Body>) -> (StatusCode, Option<AuthReason>) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let reason = response
        .extensions()
        .get::<AuthError>()
        .map(AuthError::reason);
    (response.status(), reason)
}

/// `X-Api-Token: Token <jwt>`, or `?access_token=` on `/stream`: two places no built-in
/// source reads.
fn api_token_source() -> TokenSource {
    TokenSource::custom(|parts| {
        if parts.uri.path() == "/stream" {
            let query = parts.uri.query().unwrap_or("");
            return Ok(query
                .split('&')
                .find_map(|pair| pair.strip_prefix("access_token="))
                .map(Cow::Borrowed));
        }
        let Some(value) = parts.headers.get("x-api-token") else {
            return Ok(None);
        };
        let text = value
            .to_str()
            .map_err(|_| AuthError::new(AuthReason::MalformedHeader))?;
        match text.strip_prefix("Token ") {
            Some(token) => Ok(Some(Cow::Borrowed(token))),
            None => Err(AuthError::new(AuthReason::MalformedBearerToken)),
        }
    })
}

#[tokio::test]
async fn custom_source_present_absent_and_malformed() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()).token_sources([api_token_source()]));
    let token = idp.token().subject("carol").sign();

    let reply = send(
        &app,
        get_with("/me", &[("x-api-token", &format!("Token {token}"))]),
    )
    .await;
    reply.assert_ok(&format!("carol {token}"));

    // Absent: 401 with the bare challenge; the built-in sources are not consulted.
    let reply = send(
        &app,
        get_with("/me", &[("authorization", &format!("Bearer {token}"))]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some("Bearer"));

    // Present but malformed: the source's own error, and never anonymous.
    let malformed = get_with("/me", &[("x-api-token", "Bearer a.b.c")]);
    assert_eq!(
        refusal(&app, malformed).await,
        (
            StatusCode::UNAUTHORIZED,
            Some(AuthReason::MalformedBearerToken)
        )
    );
    let optional = self::app(
        JwksAuthLayer::new(verifier)
            .optional()
            .token_sources([api_token_source()]),
    );
    let reply = send(&optional, get_with("/maybe", &[])).await;
    reply.assert_ok("anonymous");
    let reply = send(&optional, get_with("/maybe", &[("x-api-token", "Basic x")])).await;
    reply.assert_invalid();
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn custom_source_reads_the_uri_and_owned_tokens_are_copied_once() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let token = idp.token().subject("dave").sign();

    // The request head is the source's: here, the query string of one route.
    let app = self::app(JwksAuthLayer::new(verifier.clone()).token_sources([api_token_source()]));
    let request = get_with(&format!("/stream?x=1&access_token={token}"), &[]);
    let response = app.clone().oneshot(request).await.expect("infallible");
    // `/stream` is not routed: reaching the router (404) means the layer accepted the token.
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A token the source decodes (here, reversed) is owned; the handler sees it as verified.
    let reversed: String = token.chars().rev().collect();
    let decoding = TokenSource::custom(|parts| {
        Ok(parts
            .headers
            .get("x-reversed")
            .and_then(|v| v.to_str().ok())
            .map(|v| Cow::Owned(v.chars().rev().collect())))
    });
    let app = self::app(JwksAuthLayer::new(verifier).token_sources([decoding]));
    let reply = send(&app, get_with("/me", &[("x-reversed", &reversed)])).await;
    reply.assert_ok(&format!("dave {token}"));
    // An empty token is no token.
    let reply = send(&app, get_with("/me", &[("x-reversed", "")])).await;
    assert_eq!(reply.challenge(), Some("Bearer"));
}

/// A named source type, through the trait rather than a closure.
struct FromExtension;

#[derive(Clone)]
struct Ticket(String);

impl ExtractToken for FromExtension {
    fn extract<'p>(
        &self,
        parts: &'p http::request::Parts,
    ) -> Result<Option<Cow<'p, str>>, AuthError> {
        Ok(parts
            .extensions
            .get::<Ticket>()
            .map(|t| Cow::Borrowed(t.0.as_str())))
    }
}

#[tokio::test]
async fn a_trait_source_reads_what_an_outer_layer_left() {
    let idp = MockIdp::start().await;
    let source = CustomSource::new(FromExtension);
    assert_eq!(source, source.clone());
    assert_ne!(source, CustomSource::new(FromExtension));
    assert_eq!(format!("{source:?}"), "CustomSource(..)");
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config"))
        .token_sources([TokenSource::Custom(source)]));
    let token = idp.token().subject("erin").sign();
    let mut request = get_with("/me", &[]);
    request.extensions_mut().insert(Ticket(token.clone()));
    send(&app, request)
        .await
        .assert_ok(&format!("erin {token}"));
}

fn upgrade(path: &str, protocols: &str) -> Request<Body> {
    get_with(
        path,
        &[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-protocol", protocols),
        ],
    )
}

#[tokio::test]
async fn websocket_entry_present_absent_malformed() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let jwt = TokenSource::WebSocketProtocol(WebSocketProtocol::prefix("jwt.").expect("prefix"));
    let app = app(JwksAuthLayer::new(verifier.clone()).token_sources([jwt.clone()]));
    let token = idp.token().subject("frank").sign();

    let reply = send(&app, upgrade("/me", &format!("graphql-ws, jwt.{token}"))).await;
    reply.assert_ok(&format!("frank {token}"));

    // Absent: no entry with the prefix.
    let reply = send(&app, upgrade("/me", "graphql-ws, chat")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some("Bearer"));

    // Present but unusable.
    for (protocols, reason) in [
        ("graphql-ws, jwt.", AuthReason::MalformedWebSocketProtocol),
        ("jwt.a.b;c", AuthReason::MalformedWebSocketProtocol),
        ("jwt.a.b.c, jwt.d.e.f", AuthReason::SeveralTokens),
    ] {
        assert_eq!(
            refusal(&app, upgrade("/me", protocols)).await,
            (StatusCode::UNAUTHORIZED, Some(reason)),
            "{protocols}"
        );
    }
    // Two headers are one list.
    let mut two = upgrade("/me", &format!("jwt.{token}"));
    two.headers_mut().append(
        "sec-websocket-protocol",
        format!("jwt.{token}").parse().expect("value"),
    );
    assert_eq!(
        refusal(&app, two).await,
        (StatusCode::UNAUTHORIZED, Some(AuthReason::SeveralTokens))
    );
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn websocket_entry_is_ignored_unless_the_request_is_an_upgrade() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let jwt = TokenSource::WebSocketProtocol(WebSocketProtocol::prefix("jwt.").expect("prefix"));
    let optional = app(JwksAuthLayer::new(verifier)
        .optional()
        .token_sources([jwt, TokenSource::AuthorizationBearer]));
    let token = idp.token().subject("grace").sign();
    let entry = format!("jwt.{token}");

    let upgrade_ok = send(&optional, upgrade("/maybe", &entry)).await;
    upgrade_ok.assert_ok("grace");
    for (connection, upgrade_to) in [
        ("keep-alive", "websocket"),
        ("upgrade", "h2c"),
        ("close", ""),
    ] {
        let request = get_with(
            "/maybe",
            &[
                ("connection", connection),
                ("upgrade", upgrade_to),
                ("sec-websocket-protocol", &entry),
            ],
        );
        send(&optional, request).await.assert_ok("anonymous");
    }
    // Even a malformed entry is nobody's business outside an upgrade.
    let request = get_with("/maybe", &[("sec-websocket-protocol", "jwt.")]);
    send(&optional, request).await.assert_ok("anonymous");
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn kubernetes_entries_are_decoded_and_come_after_bearer() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let app = app(JwksAuthLayer::new(verifier).token_sources([
        TokenSource::AuthorizationBearer,
        TokenSource::kubernetes_websocket(),
    ]));
    let token = idp.token().subject("heidi").sign();
    let entry = format!(
        "{}{}",
        WebSocketProtocol::KUBERNETES_PREFIX,
        URL_SAFE_NO_PAD.encode(&token)
    );
    let reply = send(
        &app,
        upgrade("/me", &format!("base64.binary.k8s.io, {entry}")),
    )
    .await;
    reply.assert_ok(&format!("heidi {token}"));

    // Bearer first: its token decides, the entry is not consulted.
    let other = idp.token().subject("ivan").sign();
    let mut request = upgrade("/me", &entry);
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {other}").parse().expect("value"),
    );
    send(&app, request)
        .await
        .assert_ok(&format!("ivan {other}"));

    // The raw token is not the Kubernetes encoding.
    let raw = format!("{}{token}", WebSocketProtocol::KUBERNETES_PREFIX);
    assert_eq!(
        refusal(&app, upgrade("/me", &raw)).await,
        (
            StatusCode::UNAUTHORIZED,
            Some(AuthReason::MalformedWebSocketProtocol)
        )
    );
}

#[cfg(feature = "__fuzz")]
mod parsing {
    //! The WebSocket parsing against a model, over random subprotocol lists.

    use http::{HeaderMap, HeaderValue};
    use jwks_auth::fuzzing::{extract_token, parts_with};
    use jwks_auth::{AuthReason, TokenSource, WebSocketProtocol};
    use proptest::prelude::*;

    /// One list entry, never holding a comma: application protocols, token entries, and
    /// near misses.
    fn entry() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("graphql-ws".to_owned()),
            Just("chat".to_owned()),
            "[a-z.]{1,8}",
            "jwt\\.[A-Za-z0-9_.-]{0,12}",
            "jwt\\.[A-Za-z0-9 ;\"/]{1,6}",
            "JWT\\.[a-z]{1,4}",
            "[ \t]{0,2}jwt\\.[a-z.]{1,6}[ \t]{0,2}",
        ]
    }

    /// The model: what the source must answer for these header lines.
    fn expected(upgrade: bool, lines: &[Vec<String>]) -> Result<Option<String>, AuthReason> {
        if !upgrade {
            return Ok(None);
        }
        let tokens: Vec<&str> = lines
            .iter()
            .flatten()
            .filter_map(|e| e.trim_matches([' ', '\t']).strip_prefix("jwt."))
            .collect();
        match tokens.as_slice() {
            [] => Ok(None),
            [one] => {
                let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
                if one.is_empty() || !one.bytes().all(tchar) {
                    Err(AuthReason::MalformedWebSocketProtocol)
                } else {
                    Ok(Some((*one).to_owned()))
                }
            }
            _ => Err(AuthReason::SeveralTokens),
        }
    }

    proptest! {
        #[test]
        fn websocket_entries_follow_the_model(
            connection in prop_oneof![Just("Upgrade"), Just("keep-alive, upgrade"), Just("close")],
            upgrade_to in prop_oneof![Just("websocket"), Just("WebSocket"), Just("h2c")],
            lines in proptest::collection::vec(proptest::collection::vec(entry(), 1..4), 0..3),
        ) {
            let mut headers = HeaderMap::new();
            headers.insert("connection", HeaderValue::from_static(connection));
            headers.insert("upgrade", HeaderValue::from_static(upgrade_to));
            for line in &lines {
                let value = HeaderValue::from_str(&line.join(",")).expect("visible ASCII");
                headers.append("sec-websocket-protocol", value);
            }
            let parts = parts_with(headers);
            let source = WebSocketProtocol::prefix("jwt.").expect("prefix");
            let got = extract_token(&parts, &[TokenSource::WebSocketProtocol(source)])
                .map(|t| t.map(|t| t.into_owned()))
                .map_err(|e| e.reason());
            let is_upgrade = connection != "close" && upgrade_to != "h2c";
            prop_assert_eq!(got, expected(is_upgrade, &lines));
        }
    }
}
