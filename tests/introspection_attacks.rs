//! Token introspection against hostile or odd answers, and against a flood of made-up tokens:
//! what the client sees (status, `WWW-Authenticate`), and how many calls the endpoint got.
//! The mock's endpoint serves the claims a test gives an opaque token; a small local server
//! serves answers no real endpoint should give. Nothing sleeps to hope a race away: the
//! flood test polls the mock's call count, bounded.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use common::{app, builder, send_token};
use http::{StatusCode, header};
use jwks_auth::introspection::{ClientAuth, Introspection, IntrospectionBuilder, Routing};
use jwks_auth::testing::{Fault, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, MockIdp};
use jwks_auth::{Algorithm, AuthReason, JwksAuthLayer, ManualClock};
use serde_json::{Value, json};

const UNAVAILABLE: &str = r#"{"detail":"token introspection unavailable"}"#;

fn introspection(url: &str) -> IntrospectionBuilder {
    Introspection::builder()
        .endpoint(url)
        .client_auth(ClientAuth::client_secret_basic(
            INTROSPECTION_CLIENT_ID,
            INTROSPECTION_CLIENT_SECRET,
        ))
}

fn app_for(idp: &MockIdp, config: IntrospectionBuilder) -> Router {
    let verifier = builder(idp)
        .clock(ManualClock::now())
        .introspection(config.build().expect("introspection config"))
        .build()
        .expect("verifier");
    app(JwksAuthLayer::new(verifier))
}

#[track_caller]
fn assert_unavailable(reply: &common::Reply) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reply.body, UNAVAILABLE);
    assert!(reply.challenge().is_none(), "503 carries no challenge");
    assert!(reply.headers.contains_key("retry-after"));
}

#[track_caller]
fn assert_refused(reply: &common::Reply, description: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(
        reply.challenge(),
        Some(
            format!(r#"Bearer error="invalid_token", error_description="{description}""#).as_str()
        )
    );
}

/// A local endpoint answering every POST with this status, content type and body.
async fn hostile(
    status: u16,
    content_type: &'static str,
    body: String,
) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let router = Router::new().route(
        "/introspect",
        post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move {
                (
                    StatusCode::from_u16(status).expect("status"),
                    [(header::CONTENT_TYPE, content_type)],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, calls)
}

#[tokio::test]
async fn active_answers_with_hostile_members_are_refused_not_trusted() {
    let idp = MockIdp::start().await;
    let app = app_for(&idp, introspection(&idp.introspection_url()));
    let issue = |name: &str, value: Value| idp.opaque_token().claim(name, value).issue();
    let cases = [
        ("exp", json!("9999999999"), "invalid time claim"),
        ("exp", json!(1.5), "token expired"),
        ("exp", json!(1e300), "invalid time claim"),
        ("exp", json!(u64::MAX), "invalid time claim"),
        ("exp", json!(-1), "invalid time claim"),
        ("exp", json!(null), "invalid time claim"),
        ("nbf", json!(9_999_999_999_u64), "token not yet valid"),
        (
            "aud",
            json!(["someone-else", "another"]),
            "audience mismatch",
        ),
        ("aud", json!([]), "audience mismatch"),
        ("aud", json!({"aud": "test-api"}), "audience mismatch"),
        ("iss", json!("https://evil.example"), "issuer mismatch"),
        ("iss", json!([idp.issuer()]), "issuer mismatch"),
    ];
    for (n, (name, value, description)) in cases.into_iter().enumerate() {
        let token = issue(name, value.clone());
        assert_refused(&send_token(&app, &token).await, description);
        assert_eq!(idp.introspection_calls(), n + 1, "{name}: {value}");
        // A refusal is cached (the negative lifetime): asked once.
        assert_refused(&send_token(&app, &token).await, description);
        assert_eq!(idp.introspection_calls(), n + 1, "{name}: {value}");
    }
    // Our audience among others, and a scope that is an array: accepted as a JWT's would be.
    let token = issue("aud", json!(["someone-else", idp.audience()]));
    send_token(&app, &token).await.assert_ok("user-1");
    let token = issue("scope", json!(["orders:read"]));
    send_token(&app, &token).await.assert_ok("user-1");
}

#[tokio::test]
async fn answers_that_are_not_rfc_7662_are_503_and_never_cached() {
    let idp = MockIdp::start().await;
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge = format!(r#"{{"active":false,"pad":"{}"}}"#, "x".repeat(70 * 1024));
    let cases = [
        (
            200,
            "application/json",
            r#"{"active":"true","sub":"x"}"#.to_owned(),
        ),
        (
            200,
            "application/json",
            r#"{"active":1,"sub":"x"}"#.to_owned(),
        ),
        (200, "application/json", r#"{"sub":"x"}"#.to_owned()),
        (
            200,
            "application/json",
            r#"{"active":true,"active":"yes"}"#.to_owned(),
        ),
        (200, "application/json", nested),
        (200, "application/json", huge),
        (200, "text/html", "<html>active: true</html>".to_owned()),
        (
            401,
            "application/json",
            r#"{"error":"invalid_client"}"#.to_owned(),
        ),
        (403, "application/json", r#"{"active":true}"#.to_owned()),
        (500, "application/json", r#"{"active":true}"#.to_owned()),
        (302, "text/plain", String::new()),
    ];
    for (status, content_type, body) in cases {
        let shown = body.chars().take(40).collect::<String>();
        let (url, calls) = hostile(status, content_type, body).await;
        let app = app_for(&idp, introspection(&url));
        for attempt in 1..=2 {
            assert_unavailable(&send_token(&app, "opaque-token").await);
            assert_eq!(
                calls.load(Ordering::SeqCst),
                attempt,
                "{status} {shown}: never cached, retries off"
            );
        }
    }
}

#[tokio::test]
async fn client_credentials_with_special_characters_are_form_encoded_for_basic() {
    let idp = MockIdp::start().await;
    let (id, secret) = ("api:orders v2", "s3:cr%t+/=&é");
    idp.set_introspection_client(id, secret);
    let app = app_for(
        &idp,
        introspection(&idp.introspection_url())
            .client_auth(ClientAuth::client_secret_basic(id, secret)),
    );
    let token = idp.opaque_token().issue();
    send_token(&app, &token).await.assert_ok("user-1");
    let app = app_for(
        &idp,
        introspection(&idp.introspection_url())
            .client_auth(ClientAuth::client_secret_post(id, secret)),
    );
    send_token(&app, &token).await.assert_ok("user-1");
    assert_eq!(idp.introspection_calls(), 2);
}

#[tokio::test]
async fn jwt_looking_garbage_is_not_introspected_and_a_foreign_jwt_is_asked_about() {
    let idp = MockIdp::start().await;
    let app = app_for(&idp, introspection(&idp.introspection_url()));
    let reply = send_token(&app, "eyJh.eyJz.c2ln").await;
    reply.assert_invalid();
    assert_eq!(idp.introspection_calls(), 0, "JWS form: verified locally");
    // Every token introspected: a JWT signed by a key nobody knows is just an unknown token.
    let other = MockIdp::start().await;
    let foreign = other.mint(Algorithm::ES256);
    let app = app_for(
        &idp,
        introspection(&idp.introspection_url()).routing(Routing::AllTokens),
    );
    assert_refused(&send_token(&app, &foreign).await, "token is not active");
    assert_eq!(idp.introspection_calls(), 1);
}

#[tokio::test]
async fn a_flood_of_distinct_tokens_is_bounded_by_max_in_flight() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .http_timeout(Duration::from_secs(3))
        .introspection(
            introspection(&idp.introspection_url())
                .max_in_flight(2)
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    // Two calls hang at the endpoint, holding both permits until the 3 s timeout (a margin
    // for a loaded machine: the refusals below take milliseconds).
    idp.set_introspection_fault(Fault::Delay(Duration::from_secs(60)));
    let hanging: Vec<_> = ["made-up-1", "made-up-2"]
        .into_iter()
        .map(|token| {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify(token).await })
        })
        .collect();
    for _ in 0..500 {
        if idp.introspection_calls() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        idp.introspection_calls(),
        2,
        "both calls reached the endpoint"
    );
    // A third distinct token: refused at once, no call.
    for n in 0..50 {
        assert_unavailable(&send_token(&app, &format!("flood-{n}")).await);
    }
    assert_eq!(idp.introspection_calls(), 2, "the flood made no call");
    // Once the calls land (timed out), new tokens are asked about again.
    for task in hanging {
        let err = task.await.expect("task").expect_err("timed out");
        assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
    }
    idp.set_introspection_fault(Fault::None);
    let token = idp.opaque_token().issue();
    send_token(&app, &token).await.assert_ok("user-1");
    assert_eq!(idp.introspection_calls(), 3);
    let err = Introspection::builder()
        .client_auth(ClientAuth::client_secret_basic("a", "b"))
        .max_in_flight(0)
        .build()
        .expect_err("zero");
    assert!(err.to_string().contains("max_in_flight"), "{err}");
}

#[tokio::test]
async fn a_307_from_the_endpoint_does_not_resend_the_token() {
    let idp = MockIdp::start().await;
    let resent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&resent);
    let router = Router::new()
        .route(
            "/introspect",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/elsewhere")],
                )
            }),
        )
        .route(
            "/elsewhere",
            post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { r#"{"active":true,"sub":"x"}"# }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let app = app_for(&idp, introspection(&url));
    assert_unavailable(&send_token(&app, "opaque-token").await);
    assert_eq!(
        resent.load(Ordering::SeqCst),
        0,
        "the token went nowhere else"
    );
}

#[tokio::test]
async fn an_active_refresh_or_id_token_is_not_an_access_token() {
    let idp = MockIdp::start().await;
    let app = app_for(
        &idp,
        introspection(&idp.introspection_url()).routing(Routing::AllTokens),
    );
    let kinds = [
        ("token_use", "refresh_token"),  // Ory Hydra
        ("typ", "Refresh"),              // Keycloak
        ("typ", "Offline"),              // Keycloak offline token
        ("typ", "ID"),                   // Keycloak ID token
        ("token_type", "refresh_token"), // IdentityServer
    ];
    for (n, (name, value)) in kinds.into_iter().enumerate() {
        let token = idp.opaque_token().claim(name, json!(value)).issue();
        assert_refused(
            &send_token(&app, &token).await,
            "wrong kind of token (token_use or typ)",
        );
        assert_eq!(idp.introspection_calls(), n + 1, "{name}: {value}");
    }
    for (name, value) in [
        ("token_use", "access_token"),
        ("typ", "Bearer"),
        ("token_type", "Bearer"),
    ] {
        let token = idp.opaque_token().claim(name, json!(value)).issue();
        send_token(&app, &token).await.assert_ok("user-1");
    }
}

#[tokio::test]
async fn the_longest_cache_lifetimes_build_and_work() {
    let idp = MockIdp::start().await;
    let app = app_for(
        &idp,
        introspection(&idp.introspection_url())
            .cache_ttl(Duration::MAX)
            .negative_cache_ttl(Duration::MAX),
    );
    let token = idp.opaque_token().issue();
    send_token(&app, &token).await.assert_ok("user-1");
    send_token(&app, &token).await.assert_ok("user-1");
    assert_refused(&send_token(&app, "unknown").await, "token is not active");
    assert_refused(&send_token(&app, "unknown").await, "token is not active");
    assert_eq!(idp.introspection_calls(), 2, "both cached");
}

#[tokio::test]
async fn the_request_is_rfc_7662_section_2_1() {
    let idp = MockIdp::start().await;
    type Seen = Arc<std::sync::Mutex<Vec<(http::HeaderMap, String)>>>;
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let router = Router::new().route(
        "/introspect",
        post(move |headers: http::HeaderMap, body: String| {
            record.lock().expect("lock").push((headers, body));
            async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"active":false}"#,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let token = "2YotnFZFEjr1zCsicMWpAA+/=&x";
    let basic = app_for(
        &idp,
        introspection(&url).client_auth(ClientAuth::client_secret_basic("my client", "p:w")),
    );
    assert_refused(&send_token(&basic, token).await, "token is not active");
    let post = app_for(
        &idp,
        introspection(&url).client_auth(ClientAuth::client_secret_post("my client", "p:w")),
    );
    assert_refused(&send_token(&post, token).await, "token is not active");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 2);
    for (headers, _) in seen.iter() {
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(headers[header::ACCEPT], "application/json");
    }
    let form = |body: &str| {
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect::<Vec<(String, String)>>()
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    // Basic: `my+client:p%3Aw` (each part form-urlencoded, RFC 6749 section 2.3.1), base64.
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode("my+client:p%3Aw");
    assert_eq!(
        seen[0].0[header::AUTHORIZATION],
        format!("Basic {expected}").as_str()
    );
    assert_eq!(
        form(&seen[0].1),
        [
            pair("token", token),
            pair("token_type_hint", "access_token")
        ]
    );
    assert!(!seen[1].0.contains_key(header::AUTHORIZATION));
    assert_eq!(
        form(&seen[1].1),
        [
            pair("token", token),
            pair("token_type_hint", "access_token"),
            pair("client_id", "my client"),
            pair("client_secret", "p:w"),
        ]
    );
}
