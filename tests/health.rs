//! The readiness and liveness probes (`jwks_auth::health`) against the mock IdP.

mod common;

use axum::Router;
use common::{builder, get_with, send};
use http::StatusCode;
use jwks_auth::health;
use jwks_auth::testing::{Fault, MockIdp};

#[tokio::test]
async fn ready_once_every_key_set_is_usable_and_the_body_is_the_status() {
    let (a, b) = (MockIdp::start().await, MockIdp::start().await);
    let (va, vb) = (
        builder(&a).build().expect("config"),
        builder(&b).build().expect("config"),
    );
    let app: Router = health::router([va.clone(), vb.clone()]);

    // Liveness never fetches and answers 200 even before any key set is known.
    let live = send(&app, get_with("/healthz", &[])).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["status"], "unavailable");
    assert_eq!((a.jwks_fetches(), b.jwks_fetches()), (0, 0));

    // One IdP is down: the probe tries each missing set once, and is not ready.
    b.set_fault(Fault::Status(500));
    let reply = send(&app, get_with("/readyz", &[])).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    let body = reply.json();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["verifiers"][0]["usable"], true);
    assert_eq!(body["verifiers"][1]["usable"], false);
    assert_eq!(body["verifiers"][1]["failures"], 1);
    assert!(
        body["verifiers"][1]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{body}"
    );
    assert_eq!((a.jwks_fetches(), b.jwks_fetches()), (1, 1));

    // It recovers: the next probe fetches the missing set and is ready; a usable set is
    // not fetched again.
    b.set_fault(Fault::None);
    let reply = send(&app, get_with("/readyz", &[])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["verifiers"].as_array().map(Vec::len), Some(2));
    for v in body["verifiers"].as_array().expect("array") {
        assert_eq!(
            (&v["usable"], &v["fresh"], &v["stale"]),
            (&true.into(), &true.into(), &false.into())
        );
        assert!(v["kids"].as_array().is_some_and(|k| !k.is_empty()), "{v}");
    }
    assert_eq!((a.jwks_fetches(), b.jwks_fetches()), (1, 2));
    assert_eq!(
        send(&app, get_with("/readyz", &[])).await.status,
        StatusCode::OK
    );
    assert_eq!(
        (a.jwks_fetches(), b.jwks_fetches()),
        (1, 2),
        "ready: no fetch"
    );
}

#[tokio::test]
async fn the_body_holds_no_key_material_or_token() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let token = idp.mint(jwks_auth::Algorithm::RS256);
    verifier.verify(&token).await.expect("valid");
    let (status, body) = health::readiness(&[verifier]).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.to_string();
    for part in token.split('.') {
        assert!(!text.contains(part), "token data in {text}");
    }
    for forbidden in ["\"n\"", "\"x\"", "\"y\"", "\"d\"", "\"k\"", "BEGIN", "eyJ"] {
        assert!(!text.contains(forbidden), "{forbidden} in {text}");
    }
}

#[tokio::test]
async fn no_verifier_is_never_ready() {
    let (status, body) = health::readiness(&[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
}

/// The probe answers anyone: a key-set URL's user, password or query (which may carry a
/// credential) never reaches its JSON, nor the error text (found by a reviewer).
#[tokio::test]
async fn readiness_never_shows_url_credentials() {
    let verifier = jwks_auth::JwksVerifier::builder()
        .jwks_url("http://user:PASSWORDX@127.0.0.1:9/jwks.json?token=QSECRETQ#frag")
        .issuer("https://idp.example")
        .audience("api")
        .http_retries(0)
        .build()
        .expect("config");
    let app: Router = health::router([verifier.clone()]);
    let reply = send(&app, get_with("/readyz", &[])).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    for secret in ["PASSWORDX", "QSECRETQ", "user:", "frag"] {
        assert!(!reply.body.contains(secret), "{secret} in {}", reply.body);
    }
    assert!(
        reply.body.contains("http://127.0.0.1:9/jwks.json"),
        "the URL is still named: {}",
        reply.body
    );
    let error = verifier.refresh().await.expect_err("nothing listens");
    assert!(!error.to_string().contains("QSECRETQ"), "{error}");
}
