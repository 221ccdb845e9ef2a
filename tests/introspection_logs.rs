//! What the operator is told when the introspection endpoint refuses this server's client
//! credentials. Alone in its binary: it captures the logs with a thread-local subscriber,
//! which other tests running on other threads could race with.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jwks_auth::introspection::{ClientAuth, Introspection};
use jwks_auth::testing::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, MockIdp};
use jwks_auth::{AuthReason, JwksVerifier, ManualClock};

/// A writer collecting the log lines.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures this thread's logs up to `level` until the guard is dropped. (The
    /// current-thread test runtime runs spawned calls on this thread too.)
    fn capture(level: tracing::Level) -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(level)
            .with_ansi(false)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

#[tokio::test]
async fn refused_client_credentials_are_an_error_naming_the_cause() {
    let (logs, _guard) = Logs::capture(tracing::Level::TRACE);
    let idp = MockIdp::start().await;
    idp.set_introspection_client(INTROSPECTION_CLIENT_ID, "rotated-secret");
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .http_timeout(Duration::from_secs(2))
        .introspection(
            Introspection::builder()
                .endpoint(idp.introspection_url())
                .client_auth(ClientAuth::client_secret_basic(
                    INTROSPECTION_CLIENT_ID,
                    INTROSPECTION_CLIENT_SECRET,
                ))
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    let token = idp.opaque_token().issue();
    let err = verifier
        .verify(&token)
        .await
        .expect_err("credentials refused");
    assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
    assert!(err.retry_after().is_some());
    assert_eq!(idp.introspection_calls(), 1, "a 401 is not retried");
    let logs = logs.text();
    assert!(
        logs.contains("ERROR")
            && logs.contains("refused the client credentials (HTTP 401)")
            && logs.contains("check the client id `test-api` and its secret"),
        "{logs}"
    );
    assert!(!logs.contains(&token), "the token is never logged");
    assert!(!logs.contains(INTROSPECTION_CLIENT_SECRET));
}

#[tokio::test]
async fn a_flood_past_max_in_flight_is_logged_every_10_s_and_never_names_a_token() {
    let (logs, _guard) = Logs::capture(tracing::Level::DEBUG);
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .clock(clock.clone())
        .http_timeout(Duration::from_secs(4))
        .http_retries(0)
        .introspection(
            Introspection::builder()
                .endpoint(idp.introspection_url())
                .client_auth(ClientAuth::client_secret_basic(
                    INTROSPECTION_CLIENT_ID,
                    INTROSPECTION_CLIENT_SECRET,
                ))
                .max_in_flight(1)
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    // The holder's call hangs until the 4 s timeout: a wide margin for the refusals below.
    idp.set_introspection_fault(jwks_auth::testing::Fault::Delay(Duration::from_secs(60)));
    let holder = {
        let verifier = verifier.clone();
        tokio::spawn(async move { verifier.verify("secret-holder-token").await })
    };
    for _ in 0..500 {
        if idp.introspection_calls() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(idp.introspection_calls(), 1);
    let flood: Vec<String> = (0..3).map(|n| format!("secret-flood-token-{n}")).collect();
    for (n, token) in flood.iter().enumerate() {
        if n == 2 {
            clock.advance(Duration::from_secs(10));
        }
        let err = verifier.verify(token).await.expect_err("saturated");
        assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
        assert!(err.retry_after().is_some());
    }
    let err = holder.await.expect("task").expect_err("timed out");
    assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
    assert_eq!(idp.introspection_calls(), 1, "the flood made no call");
    let logs = logs.text();
    assert_eq!(
        logs.matches("too many token introspection calls in the air")
            .count(),
        2,
        "the first refusal, and the first 10 s later: {logs}"
    );
    assert!(
        logs.contains("WARN") && logs.contains("max_in_flight=1"),
        "{logs}"
    );
    assert!(!logs.contains("secret-"), "no token in the logs: {logs}");
}

/// A discovery document announcing an `introspection_endpoint` with user information is
/// refused like a configured one (the HTTP client would move the credentials out of the URL
/// and every answer would look redirected): 503 for the client, nothing POSTed there, and an
/// error naming the fix without the password.
#[tokio::test]
async fn a_discovered_endpoint_with_user_information_is_refused_and_named() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::routing::{get, post};

    let (logs, _guard) = Logs::capture(tracing::Level::TRACE);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let issuer = format!("http://{addr}");
    let posts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&posts);
    let document = serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "introspection_endpoint": format!("http://admin:hunter2@{addr}/introspect?tenant=x"),
    });
    let router = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document) }
            }),
        )
        .route(
            "/introspect",
            post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { r#"{"active":true,"sub":"x"}"# }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let verifier = JwksVerifier::builder()
        .oidc_issuer(&issuer)
        .audience("api")
        .http_timeout(Duration::from_secs(2))
        .introspection(
            Introspection::builder()
                .client_auth(ClientAuth::client_secret_basic("api", "secret"))
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    let err = verifier
        .verify("opaque-token")
        .await
        .expect_err("no usable endpoint");
    assert_eq!(err.reason(), AuthReason::IntrospectionUnavailable);
    assert!(err.retry_after().is_some());
    assert_eq!(posts.load(Ordering::SeqCst), 0, "the token went nowhere");
    let logs = logs.text();
    assert!(
        logs.contains("discovered introspection_endpoint")
            && logs.contains("with user information")
            && logs.contains("client_auth"),
        "{logs}"
    );
    assert!(
        !logs.contains("hunter2") && !logs.contains("tenant=x"),
        "{logs}"
    );
}
