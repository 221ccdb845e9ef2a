//! The key cache against the mock IdP: rotation, single-flight refresh, cooldown, HTTP
//! caching, outages and stale-if-error, fetch hardening, discovery, multi-issuer, and the
//! verified-token cache. Time moves with a `ManualClock`; nothing sleeps to hope.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{app, builder, send_token};
use http::StatusCode;
use jwks_auth::jwks::{FetchError, FetchFuture, Fetched, KeySource, Validators};
use jwks_auth::testing::{Fault, MockIdp};
use jwks_auth::{
    Algorithm, AuthErrorKind, AuthReason, Clock, JwksAuthLayer, JwksVerifier, ManualClock,
};
use tokio::sync::Notify;

/// Waits until `condition` holds, checking every 5 ms, for at most 3 s (then fails).
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..600 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Runs `n` copies of a future concurrently on the multi-threaded runtime.
async fn concurrently<F, T>(n: usize, make: impl Fn(usize) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn key_rotation_is_picked_up_without_restart() {
    let idp = MockIdp::start().await;
    let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    assert_eq!(
        send_token(&app, &idp.mint(Algorithm::RS256)).await.status,
        StatusCode::OK
    );
    let new_kid = idp.rotate(Algorithm::RS256);
    let token = idp.mint(Algorithm::RS256);
    assert!(token.len() > 10 && new_kid == "rs256-2");
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 2, "one refresh for the new kid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_with_a_new_kid_make_one_fetch() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    verifier
        .verify(&idp.mint(Algorithm::ES256))
        .await
        .expect("warm");
    assert_eq!(idp.jwks_fetches(), 1);
    idp.rotate(Algorithm::ES256);
    // Slow the endpoint down so that every request arrives while the refresh is in flight.
    idp.set_fault(Fault::Delay(Duration::from_millis(200)));
    let token = idp.mint(Algorithm::ES256);
    let results = concurrently(1000, |_| {
        let (v, t) = (verifier.clone(), token.clone());
        async move { v.verify(&t).await }
    })
    .await;
    assert!(results.iter().all(Result::is_ok), "every request verified");
    assert_eq!(idp.jwks_fetches(), 2, "exactly one fetch for 1,000 misses");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_unknown_kids_within_the_cooldown_fail_at_once_without_fetching() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp)
        .unknown_kid_cooldown(Duration::from_secs(30))
        .build()
        .expect("config");
    verifier
        .verify(&idp.mint(Algorithm::RS256))
        .await
        .expect("warm");
    // One unknown kid: one refresh, and the cooldown starts.
    let first = idp.token().kid("nope-0").sign();
    let err = verifier.verify(&first).await.expect_err("unknown kid");
    assert_eq!(err.description(), "unknown key id");
    assert_eq!(idp.jwks_fetches(), 2);
    // From now on the endpoint would hang: any request that waited on it would time out.
    idp.set_fault(Fault::Delay(Duration::from_secs(30)));
    let results = concurrently(1000, |i| {
        let v = verifier.clone();
        let token = idp.token().kid(format!("random-{i}-{}", i * 7919)).sign();
        async move { v.verify(&token).await }
    })
    .await;
    for r in &results {
        let e = r.as_ref().expect_err("refused");
        assert_eq!(
            (e.kind(), e.description()),
            (AuthErrorKind::InvalidToken, "unknown key id")
        );
    }
    assert_eq!(idp.jwks_fetches(), 2, "no fetch during the cooldown");
    assert_eq!(
        verifier.status().cooldown_rejections,
        1000,
        "all refused without waiting"
    );
}

#[tokio::test]
async fn idp_down_from_the_start_is_503_with_retry_after() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Status(500));
    let app = app(JwksAuthLayer::new(
        builder(&idp)
            .failure_backoff(Duration::from_secs(5))
            .build()
            .expect("config"),
    ));
    let reply = send_token(&app, &idp.mint(Algorithm::RS256)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["retry-after"], "5");
    assert!(reply.challenge().is_none());
    assert_eq!(reply.body, r#"{"detail":"signing keys unavailable"}"#);
    assert_eq!(idp.jwks_fetches(), 1);
    // Within the backoff the next request does not hammer the IdP.
    let again = send_token(&app, &idp.mint(Algorithm::RS256)).await;
    assert_eq!(again.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(idp.jwks_fetches(), 1, "no fetch during the failure backoff");
}

#[tokio::test]
async fn known_keys_keep_working_through_an_outage_until_max_stale_then_503() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = builder(&idp)
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(600))
        .max_stale(Duration::from_secs(3600))
        .token_cache_capacity(0)
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    let token = idp.token().expires_in(100_000).sign();
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    idp.set_fault(Fault::Status(503));
    // Past the TTL: the stale set is served while the background refresh fails.
    clock.advance(Duration::from_secs(601));
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    eventually("the background refresh to fail", || {
        verifier.status().failures == 1
    })
    .await;
    let status = verifier.status();
    assert!(
        status.stale && !status.fresh && status.last_error.is_some(),
        "{status:?}"
    );
    assert!(status.stale_uses >= 1);
    // Past max_stale: 503.
    clock.advance(Duration::from_secs(3600));
    let reply = send_token(&app, &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.headers.contains_key("retry-after"));
    // The IdP recovers: the next request past the backoff fetches and passes.
    idp.set_fault(Fault::None);
    clock.advance(Duration::from_secs(10));
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn ttl_comes_from_max_age_and_the_refresh_is_a_conditional_request() {
    let idp = MockIdp::start().await;
    idp.set_cache_control(Some("public, max-age=120"));
    let clock = ManualClock::now();
    let verifier = builder(&idp).clock(clock.clone()).build().expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    // 89 s: still fresh (max-age 120 s, refresh ahead at 75-85% = 90-102 s): no fetch.
    clock.advance(Duration::from_secs(89));
    verifier.verify(&token).await.expect("fresh");
    assert_eq!(idp.jwks_fetches(), 1);
    // 103 s: refresh ahead in the background; the answer is 304 Not Modified.
    clock.advance(Duration::from_secs(14));
    verifier.verify(&token).await.expect("served from cache");
    eventually("the conditional refresh", || {
        verifier.status().not_modified == 1
    })
    .await;
    assert_eq!(idp.jwks_fetches(), 2);
    assert_eq!(idp.not_modified_answers(), 1);
    assert!(verifier.status().etag.is_some());
    // The 304 made the set fresh again for another 120 s (due again at 90-102 s).
    clock.advance(Duration::from_secs(89));
    verifier.verify(&token).await.expect("fresh again");
    assert_eq!(idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn max_age_is_clamped_to_the_minimum_ttl() {
    let idp = MockIdp::start().await;
    idp.set_cache_control(Some("max-age=1"));
    let clock = ManualClock::now();
    let verifier = builder(&idp).clock(clock.clone()).build().expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    clock.advance(Duration::from_secs(30));
    verifier.verify(&token).await.expect("fresh");
    assert_eq!(idp.jwks_fetches(), 1, "max-age=1 is clamped to 60 s");
}

#[tokio::test]
async fn refresh_ahead_never_makes_a_request_wait() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = builder(&idp)
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(100))
        .http_timeout(Duration::from_secs(10))
        .build()
        .expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    idp.set_fault(Fault::Delay(Duration::from_secs(5)));
    clock.advance(Duration::from_secs(85));
    // The refresh takes 5 s; the request must not wait for it.
    let quick = tokio::time::timeout(Duration::from_secs(1), verifier.verify(&token)).await;
    assert!(
        matches!(quick, Ok(Ok(_))),
        "served from the current set at once"
    );
    eventually("the background refresh to start", || {
        idp.jwks_fetches() == 2
    })
    .await;
}

#[tokio::test]
async fn fetch_faults_keep_the_last_good_set_and_fail_a_cold_cache() {
    let other = MockIdp::start().await;
    let cases = [
        ("500", Fault::Status(500)),
        ("404", Fault::Status(404)),
        ("302 to another origin", Fault::Redirect(other.jwks_url())),
        ("garbage", Fault::Garbage),
        ("10 MB", Fault::Oversized(10 * 1024 * 1024)),
        (
            "slow drip",
            Fault::SlowDrip {
                chunk_every: Duration::from_millis(50),
            },
        ),
        ("connection reset", Fault::ConnectionReset),
    ];
    for (name, fault) in cases {
        let idp = MockIdp::start().await;
        let cold = builder(&idp)
            .http_timeout(Duration::from_millis(500))
            .build()
            .expect("config");
        let warm = builder(&idp)
            .http_timeout(Duration::from_millis(500))
            .build()
            .expect("config");
        let token = idp.token().expires_in(100_000).sign();
        warm.verify(&token).await.expect("warm");
        idp.set_fault(fault);
        let err = cold.verify(&token).await.expect_err(name);
        assert_eq!(err.kind(), AuthErrorKind::KeysUnavailable, "{name}");
        // A request waits one `http_timeout` at most; a fault that takes that long (the slow
        // drip) fails its fetch in the background right after.
        eventually(name, || cold.status().last_error.is_some()).await;
        // The warm verifier is forced to refresh and fails, but keeps its set.
        assert!(warm.refresh().await.is_err(), "{name}");
        warm.verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            idp.jwks_fetches(),
            3,
            "{name}: warm-up, cold attempt, forced refresh"
        );
    }
    assert_eq!(
        other.jwks_fetches(),
        0,
        "the cross-origin redirect was not followed"
    );
}

#[tokio::test]
async fn retries_only_transient_failures() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Status(503));
    let verifier = builder(&idp).http_retries(2).build().expect("config");
    assert!(verifier.refresh().await.is_err());
    assert_eq!(idp.jwks_fetches(), 3, "503: first try and two retries");
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Status(404));
    let verifier = builder(&idp).http_retries(2).build().expect("config");
    let err = verifier.refresh().await.expect_err("404");
    assert!(err.to_string().contains("404"), "{err}");
    assert_eq!(idp.jwks_fetches(), 1, "404 is not retried");
}

#[tokio::test]
async fn oidc_discovery_finds_the_keys_and_refuses_another_issuer() {
    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .oidc_issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    verifier
        .verify(&idp.mint(Algorithm::RS256))
        .await
        .expect("discovered");
    assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (1, 1));

    let liar = MockIdp::start().await;
    liar.set_issuer("https://someone-else.example");
    let verifier = JwksVerifier::builder()
        .oidc_issuer(liar.url())
        .audience(liar.audience())
        .build()
        .expect("config");
    let err = verifier.refresh().await.expect_err("issuer mismatch");
    assert!(err.to_string().contains("must match exactly"), "{err}");
    assert_eq!(
        liar.jwks_fetches(),
        0,
        "keys of a mismatched issuer are never fetched"
    );
    let reply = send_token(
        &app(JwksAuthLayer::new(verifier)),
        &liar.mint(Algorithm::RS256),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// Issue 14 point 3: an issuer that differs from the announced one only in spelling gets an
/// error that says exactly what to fix, to the operator (`refresh()`, `status().last_error`,
/// the log); the client still gets 503. (Letter case is covered by the unit test: the mock's
/// host is an IP address.)
#[tokio::test]
async fn discovery_near_misses_say_what_to_fix() {
    let idp = MockIdp::start().await;
    let announced = idp.issuer(); // http://127.0.0.1:<port>
    let port = announced.rsplit(':').next().expect("port").to_owned();
    for (configured, how) in [
        (format!("{announced}/"), "a trailing slash"),
        (
            format!("http://localhost:{port}"),
            "the loopback host name (localhost vs 127.0.0.1 or [::1])",
        ),
    ] {
        let verifier = JwksVerifier::builder()
            .oidc_issuer(configured.as_str())
            .audience(idp.audience())
            .build()
            .expect("config");
        let err = verifier
            .refresh()
            .await
            .expect_err(&format!("near miss: {configured}"));
        let expected = format!(
            "configured issuer {configured} differs from the announced {announced} by {how}"
        );
        assert!(err.to_string().starts_with(&expected), "{err}");
        let status = verifier.status();
        assert!(
            status
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with(&expected)),
            "{status:?}"
        );
        let reply = send_token(
            &app(JwksAuthLayer::new(verifier)),
            &idp.mint(Algorithm::RS256),
        )
        .await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(reply.headers.contains_key("retry-after"));
    }
    assert_eq!(
        idp.jwks_fetches(),
        0,
        "keys of a mismatched issuer are never fetched"
    );
}

#[tokio::test]
async fn discovery_refuses_plain_http_for_remote_hosts() {
    let err = JwksVerifier::builder()
        .oidc_issuer("http://idp.example.com")
        .audience("api")
        .build()
        .expect_err("http");
    assert!(err.to_string().contains("use https"), "{err}");
    let err = JwksVerifier::builder()
        .jwks_url("ftp://idp.example.com/keys")
        .issuer("x")
        .audience("api")
        .build()
        .expect_err("ftp");
    assert!(err.to_string().contains("not supported"), "{err}");
}

#[tokio::test]
async fn multi_issuer_routes_by_iss_and_refuses_cross_tenant_tokens() {
    let a = MockIdp::start().await;
    let b = MockIdp::start().await;
    // Mocks share pooled key material; rotate b so its current key is its own.
    b.rotate(Algorithm::RS256);
    let verifier = JwksVerifier::multi_issuer([
        builder(&a).build().expect("a"),
        builder(&b).build().expect("b"),
    ])
    .expect("config");
    let user = verifier
        .verify(&a.mint(Algorithm::RS256))
        .await
        .expect("tenant a");
    assert_eq!(user.issuer(), Some(a.issuer().as_str()));
    verifier
        .verify(&b.mint(Algorithm::RS256))
        .await
        .expect("tenant b");
    // Signed by b's key, claiming to be from a: routed to a, whose keys do not verify it.
    let forged = b.token().claim("iss", serde_json::json!(a.issuer())).sign();
    let err = verifier.verify(&forged).await.expect_err("cross-tenant");
    assert_eq!(err.kind(), AuthErrorKind::InvalidToken);
    let unknown = a
        .token()
        .claim("iss", serde_json::json!("https://c.example"))
        .sign();
    assert_eq!(
        verifier
            .verify(&unknown)
            .await
            .expect_err("unknown")
            .description(),
        "unknown issuer"
    );
    assert!(
        JwksVerifier::multi_issuer([
            builder(&a).build().expect("a"),
            builder(&a).build().expect("a")
        ])
        .is_err()
    );
}

#[tokio::test]
async fn multi_issuer_refuses_an_oversized_token_before_decoding_it() {
    let a = MockIdp::start().await;
    let b = MockIdp::start().await;
    let verifier = JwksVerifier::multi_issuer([
        builder(&a).build().expect("a"),
        builder(&b).max_token_bytes(32 * 1024).build().expect("b"),
    ])
    .expect("config");
    // 11 MiB: a well-formed payload naming an issuer no tenant has (routing it would decode
    // 11 MiB and answer "unknown issuer"), and plain garbage ("malformed token payload").
    let padding = "x".repeat(11 * 1024 * 1024);
    let named = a
        .token()
        .claim("iss", serde_json::json!("https://unknown.example"))
        .claim("padding", serde_json::json!(padding))
        .sign();
    let garbage = format!("e30.{}.sig", "!".repeat(11 * 1024 * 1024));
    for (case, token) in [("well-formed", &named), ("garbage", &garbage)] {
        let started = std::time::Instant::now();
        let err = verifier.verify(token).await.expect_err(case);
        let took = started.elapsed();
        assert_eq!(err.kind(), AuthErrorKind::InvalidToken, "{case}");
        assert_eq!(err.reason(), AuthReason::TokenTooLarge, "{case}");
        assert_eq!(err.description(), "token too large", "{case}");
        eprintln!("{case}: refused in {took:?}");
    }
    // Under the largest tenant cap (b: 32 KiB) but over a's (16 KiB): routed to a, refused by
    // a's own cap, again before any key lookup.
    let over_a = a
        .token()
        .claim("padding", serde_json::json!("x".repeat(20 * 1024)))
        .sign();
    let err = verifier.verify(&over_a).await.expect_err("over a's cap");
    assert_eq!(err.reason(), AuthReason::TokenTooLarge);
    assert_eq!(a.jwks_fetches() + b.jwks_fetches(), 0, "no key was needed");
}

#[tokio::test]
async fn cached_tokens_are_refused_past_exp() {
    let idp = MockIdp::start().await;
    // Minted before the clock is read, so that nbf (whole seconds) is not in its future.
    let token = idp.token().expires_in(60).sign();
    let clock = ManualClock::now();
    let verifier = builder(&idp)
        .clock(clock.clone())
        .leeway(Duration::from_secs(0))
        .build()
        .expect("config");
    verifier.verify(&token).await.expect("first");
    verifier.verify(&token).await.expect("cached");
    clock.advance(Duration::from_secs(61));
    let err = verifier
        .verify(&token)
        .await
        .expect_err("expired even though cached");
    assert_eq!(err.description(), "token expired");
}

#[tokio::test]
async fn cached_tokens_of_a_dropped_key_are_refused_at_the_next_refresh() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let token = idp.mint(Algorithm::RS256);
    verifier.verify(&token).await.expect("first");
    verifier.verify(&token).await.expect("cached");
    idp.rotate(Algorithm::RS256); // rs256-1 is no longer published
    verifier.refresh().await.expect("refresh");
    let err = verifier
        .verify(&token)
        .await
        .expect_err("its key left the set");
    assert_eq!(err.kind(), AuthErrorKind::InvalidToken);
    assert_eq!(
        idp.jwks_fetches(),
        3,
        "warm-up, forced refresh, unknown-kid refresh"
    );
}

/// The detail of a 401 `invalid_token` refusal, its challenge checked.
#[track_caller]
fn assert_invalid_because(reply: &common::Reply, detail: &str) {
    reply.assert_invalid();
    assert_eq!(
        reply.body,
        format!(r#"{{"detail":"{detail}"}}"#),
        "challenge: {:?}",
        reply.challenge()
    );
    assert!(
        reply
            .challenge()
            .is_some_and(|c| c.contains(&format!(r#"error_description="{detail}""#))),
        "challenge: {:?}",
        reply.challenge()
    );
}

/// A 503 with its `Retry-After` (in whole seconds) and no challenge.
#[track_caller]
fn assert_unavailable(reply: &common::Reply, retry_after: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "body: {}",
        reply.body
    );
    assert_eq!(reply.body, r#"{"detail":"signing keys unavailable"}"#);
    assert_eq!(reply.headers["retry-after"], retry_after);
    assert!(reply.challenge().is_none());
}

const YEAR: i64 = 365 * 24 * 3600;

#[tokio::test]
async fn a_wall_clock_jump_and_its_correction_do_not_freeze_the_key_set() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let t0 = clock.now_millis() / 1000;
    let verifier = builder(&idp)
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(600))
        .unknown_kid_cooldown(Duration::from_secs(30))
        .token_cache_capacity(0)
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    let old = idp.token().expires_in(100_000).sign();
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 1);

    // The wall clock jumps a year ahead. Claims follow it (the token is expired); an unknown
    // kid refreshes the set and starts the cooldown, both measured on the monotonic clock.
    clock.set_unix(t0 + YEAR);
    assert_invalid_because(&send_token(&app, &old).await, "token expired");
    let bogus = idp.token().kid("bogus").expires_in(100_000).sign();
    assert_invalid_because(&send_token(&app, &bogus).await, "unknown key id");
    assert_eq!(idp.jwks_fetches(), 2);

    // The jump is corrected. The set's TTL and the cooldown are where they were.
    clock.set_unix(t0);
    let status = verifier.status();
    assert!(status.fresh && !status.stale, "{status:?}");
    assert_eq!(status.age, Some(Duration::ZERO), "{status:?}");
    assert_eq!(
        status.cooldown_remaining,
        Some(Duration::from_secs(30)),
        "{status:?}"
    );
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);

    // The IdP revokes the key and publishes its replacement. At 75-85% of the TTL (450-510 s
    // after the last fetch) the set is refreshed in the background, as scheduled.
    idp.rotate(Algorithm::RS256);
    let new = idp.token().expires_in(100_000).sign();
    clock.advance(Duration::from_secs(511));
    assert_eq!(
        send_token(&app, &old).await.status,
        StatusCode::OK,
        "served from the current set while it refreshes"
    );
    eventually("the scheduled refresh", || {
        verifier.status().generation == 3
    })
    .await;
    assert_eq!(idp.jwks_fetches(), 3);
    assert_eq!(
        verifier
            .status()
            .kids
            .iter()
            .filter(|k| *k == "rs256-2")
            .count(),
        1
    );
    assert_eq!(send_token(&app, &new).await.status, StatusCode::OK);
    assert_eq!(
        idp.jwks_fetches(),
        3,
        "the replacement was in the refreshed set"
    );
    // The revoked key: its kid is unknown now; one refresh confirms it, then it is refused.
    assert_invalid_because(&send_token(&app, &old).await, "unknown key id");
    assert_eq!(idp.jwks_fetches(), 4);
    assert_invalid_because(&send_token(&app, &old).await, "unknown key id");
    assert_eq!(idp.jwks_fetches(), 4, "then the cooldown holds");
}

#[tokio::test]
async fn a_wall_clock_jump_during_an_outage_does_not_stretch_the_backoff() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let t0 = clock.now_millis() / 1000;
    let verifier = builder(&idp)
        .clock(clock.clone())
        .failure_backoff(Duration::from_secs(5))
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    let token = idp.token().expires_in(100_000).sign();
    idp.set_fault(Fault::Status(500));
    clock.set_unix(t0 + YEAR);
    assert_unavailable(&send_token(&app, &token).await, "5");
    assert_eq!(idp.jwks_fetches(), 1);
    clock.set_unix(t0);
    idp.set_fault(Fault::None);
    assert_unavailable(&send_token(&app, &token).await, "5");
    assert_eq!(idp.jwks_fetches(), 1, "within the backoff: no fetch");
    clock.advance(Duration::from_secs(5));
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 2);
    assert_eq!(verifier.status().last_error, None);
}

#[tokio::test]
async fn a_key_rotated_during_an_outage_is_503_then_accepted_right_after_the_backoff() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = builder(&idp)
        .clock(clock.clone())
        .unknown_kid_cooldown(Duration::from_secs(30))
        .failure_backoff(Duration::from_secs(5))
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    let old = idp.token().expires_in(100_000).sign();
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 1);

    // The IdP goes down, and rotates meanwhile. The new kid's refresh fails: 503, since the
    // key may exist; no cooldown, the failure backoff instead.
    idp.set_fault(Fault::Status(503));
    idp.rotate(Algorithm::RS256);
    let new = idp.token().expires_in(100_000).sign();
    assert_unavailable(&send_token(&app, &new).await, "5");
    assert_eq!(idp.jwks_fetches(), 2);
    let status = verifier.status();
    assert_eq!(
        (status.failures, status.cooldown_remaining),
        (1, None),
        "{status:?}"
    );
    assert!(status.last_error.is_some_and(|e| e.contains("503")));
    // Within the backoff: 503 again, without a fetch; cached kids are unaffected.
    clock.advance(Duration::from_secs(4));
    assert_unavailable(&send_token(&app, &new).await, "1");
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 2);

    // The IdP is back: the new kid is accepted as soon as the backoff ends, not 30 s later.
    idp.set_fault(Fault::None);
    clock.advance(Duration::from_secs(1));
    assert_eq!(send_token(&app, &new).await.status, StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 3);
    let status = verifier.status();
    assert_eq!((status.last_error, status.cooldown_remaining), (None, None));
    // A successful fetch that lacks a kid is what starts the cooldown.
    let bogus = idp.token().kid("bogus").expires_in(100_000).sign();
    assert_invalid_because(&send_token(&app, &bogus).await, "unknown key id");
    assert_eq!(idp.jwks_fetches(), 4);
    assert_eq!(
        verifier.status().cooldown_remaining,
        Some(Duration::from_secs(30))
    );
    assert_invalid_because(&send_token(&app, &bogus).await, "unknown key id");
    assert_eq!(idp.jwks_fetches(), 4, "refused at once during the cooldown");
}

/// A key source for the tests that need to hold a fetch in the air: fetch `n` (from 1) does
/// what `script(n)` says once `gate` lets it through (if it must wait).
#[derive(Debug, Clone)]
struct Scripted {
    idp: MockIdp,
    fetches: Arc<AtomicUsize>,
    gate: Arc<Notify>,
    script: fn(usize) -> Step,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Serve the mock's current set.
    Serve,
    /// Wait for the gate, then fail.
    FailAfterGate,
    /// Never finish.
    Hang,
    /// Panic.
    Panic,
}

impl Scripted {
    fn new(idp: &MockIdp, script: fn(usize) -> Step) -> Self {
        Self {
            idp: idp.clone(),
            fetches: Arc::default(),
            gate: Arc::default(),
            script,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl KeySource for Scripted {
    fn fetch<'a>(&'a self, _previous: Option<&'a Validators>) -> FetchFuture<'a> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            match (self.script)(n) {
                Step::Serve => Ok(Fetched::Document {
                    body: self.idp.jwks_json().to_string().into(),
                    max_age: None,
                    validators: Validators::default(),
                }),
                Step::FailAfterGate => {
                    self.gate.notified().await;
                    Err(FetchError::transient("scripted outage"))
                }
                Step::Hang => std::future::pending().await,
                Step::Panic => panic!("scripted panic in a key source"),
            }
        })
    }
}

fn scripted_builder(idp: &MockIdp, source: &Scripted) -> jwks_auth::JwksVerifierBuilder {
    JwksVerifier::builder()
        .key_source(source.clone())
        .issuer(idp.issuer())
        .audience(idp.audience())
}

#[tokio::test]
async fn an_unknown_kid_that_joined_a_failing_refresh_is_503() {
    let idp = MockIdp::start().await;
    let source = Scripted::new(&idp, |n| {
        if n == 2 {
            Step::FailAfterGate
        } else {
            Step::Serve
        }
    });
    let verifier = scripted_builder(&idp, &source)
        .failure_backoff(Duration::from_secs(5))
        .build()
        .expect("config");
    verifier.refresh().await.expect("warm");
    idp.rotate(Algorithm::RS256);
    let new = idp.token().expires_in(100_000).sign();
    // A forced refresh is in the air (and will fail); the new kid joins it.
    let forced = tokio::spawn({
        let verifier = verifier.clone();
        async move { verifier.refresh().await }
    });
    eventually("the forced refresh to start", || source.fetches() == 2).await;
    let joined = tokio::spawn({
        let (verifier, new) = (verifier.clone(), new.clone());
        async move { verifier.verify(&new).await }
    });
    // On this single-threaded runtime, the spawned request runs up to its wait on the flight
    // before the test task resumes.
    tokio::task::yield_now().await;
    source.gate.notify_one();
    assert!(forced.await.expect("task").is_err());
    let err = joined
        .await
        .expect("task")
        .expect_err("joined a failed refresh");
    assert_eq!(err.reason(), AuthReason::KeysUnavailable);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
    assert_eq!(
        source.fetches(),
        2,
        "the request joined; it started no fetch"
    );
    assert_eq!(verifier.status().cooldown_remaining, None);
}

#[tokio::test]
async fn a_background_refresh_dropped_mid_fetch_does_not_stop_later_refreshes() {
    let idp = MockIdp::start().await;
    let source = Scripted::new(&idp, |n| if n == 2 { Step::Hang } else { Step::Serve });
    let clock = ManualClock::now();
    let verifier = scripted_builder(&idp, &source)
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(100))
        .build()
        .expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    clock.advance(Duration::from_secs(86)); // past refresh-ahead (75-85% of the 100 s TTL)
    // A second runtime serves a request; the background refresh it starts never finishes, and
    // that runtime shuts down mid-fetch, dropping the refresh task.
    std::thread::spawn({
        let (verifier, token, source) = (verifier.clone(), token.clone(), source.clone());
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                verifier.verify(&token).await.expect("served from the set");
                for _ in 0..600 {
                    if source.fetches() == 2 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
            assert_eq!(source.fetches(), 2, "the refresh started and hangs");
            drop(runtime);
        }
    })
    .join()
    .expect("thread");
    assert_eq!(verifier.status().generation, 1);
    // The set is still due: the next request starts a new refresh, which lands.
    verifier.verify(&token).await.expect("served from the set");
    eventually("the next refresh", || verifier.status().generation == 2).await;
    assert_eq!(source.fetches(), 3);
}

#[tokio::test]
async fn a_background_refresh_that_panics_does_not_stop_later_refreshes() {
    let idp = MockIdp::start().await;
    let source = Scripted::new(&idp, |n| if n == 2 { Step::Panic } else { Step::Serve });
    let clock = ManualClock::now();
    let verifier = scripted_builder(&idp, &source)
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(100))
        .build()
        .expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    clock.advance(Duration::from_secs(86)); // past refresh-ahead (75-85% of the 100 s TTL)
    verifier.verify(&token).await.expect("served from the set");
    eventually("the panicking refresh", || source.fetches() == 2).await;
    // The panic unwound the refresh task (tokio drops a task's future in the poll that
    // panicked), and its guard freed the slot: the next request starts a new refresh.
    verifier.verify(&token).await.expect("served from the set");
    eventually("the next refresh", || verifier.status().generation == 2).await;
    assert_eq!(source.fetches(), 3);
}

// ---------------------------------------------------------------------------------------------
// Issue 13: freshness with Age, useless documents, bounded waits, fetches already in flight,
// content codings.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn age_is_subtracted_from_max_age_for_200_and_304() {
    let idp = MockIdp::start().await;
    idp.set_cache_control(Some("public, max-age=3600"));
    idp.set_jwks_header("age", Some("3000"));
    let clock = ManualClock::now();
    let verifier = builder(&idp).clock(clock.clone()).build().expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    // Fresh for 3600 - 3000 = 600 s, not 3600 s.
    clock.advance(Duration::from_secs(660));
    let status = verifier.status();
    assert!(!status.fresh && status.stale, "{status:?}");
    verifier.verify(&token).await.expect("still served");
    eventually("the background refresh (a 304)", || {
        verifier.status().not_modified == 1
    })
    .await;
    assert_eq!(idp.jwks_fetches(), 2);
    assert!(verifier.status().fresh);
    // The 304 carried Age: 3000 too: 600 s again, so refresh ahead at 75-85% = 450-510 s.
    clock.advance(Duration::from_secs(449));
    verifier.verify(&token).await.expect("fresh");
    assert_eq!(idp.jwks_fetches(), 2);
    clock.advance(Duration::from_secs(62));
    verifier.verify(&token).await.expect("fresh");
    eventually("the refresh ahead", || idp.jwks_fetches() == 3).await;
}

#[tokio::test]
async fn age_at_or_past_max_age_gives_the_minimum_ttl() {
    for age in ["3600", "4000"] {
        let idp = MockIdp::start().await;
        idp.set_cache_control(Some("public, max-age=3600"));
        idp.set_jwks_header("age", Some(age));
        let clock = ManualClock::now();
        let verifier = builder(&idp).clock(clock.clone()).build().expect("config");
        let token = idp.token().expires_in(100_000).sign();
        verifier.verify(&token).await.expect("warm");
        clock.advance(Duration::from_secs(47));
        assert!(verifier.status().fresh, "Age {age}");
        clock.advance(Duration::from_secs(14));
        assert!(
            !verifier.status().fresh,
            "Age {age}: past the 60 s minimum TTL"
        );
        verifier.verify(&token).await.expect("served");
        eventually("the refresh", || idp.jwks_fetches() == 2).await;
    }
}

#[tokio::test]
async fn age_is_subtracted_from_expires_minus_date() {
    let idp = MockIdp::start().await;
    idp.set_jwks_header("date", Some("Sun, 01 Nov 2026 10:00:00 GMT"));
    idp.set_jwks_header("expires", Some("Sun, 01 Nov 2026 11:00:00 GMT"));
    idp.set_jwks_header("age", Some("3000"));
    let clock = ManualClock::now();
    let verifier = builder(&idp).clock(clock.clone()).build().expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    clock.advance(Duration::from_secs(599));
    assert!(verifier.status().fresh);
    clock.advance(Duration::from_secs(61));
    assert!(!verifier.status().fresh, "3600 - 3000 = 600 s");
    verifier.verify(&token).await.expect("served");
    eventually("the refresh", || idp.jwks_fetches() == 2).await;
}

#[tokio::test]
async fn a_republished_set_without_kids_is_a_failed_fetch_and_the_last_good_set_stays() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = builder(&idp)
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(600))
        .failure_backoff(Duration::from_secs(5))
        .max_stale(Duration::from_secs(3600))
        .token_cache_capacity(0)
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    let token = idp.token().expires_in(100_000).sign();
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    idp.set_fault(Fault::WithoutKids);
    // Past the TTL: the stale set is served while the refresh brings a kid-less set.
    clock.advance(Duration::from_secs(601));
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    eventually("the refresh to fail", || verifier.status().failures == 1).await;
    assert_eq!(idp.jwks_fetches(), 2);
    let status = verifier.status();
    assert!(status.stale && status.generation == 1, "{status:?}");
    assert_eq!(status.kids.len(), 10, "the last good set: {status:?}");
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("none with a `kid`")),
        "{status:?}"
    );
    // The failure backoff applies: cached kids are served, unknown kids get 503, no fetch.
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    let unknown = idp.token().kid("rs256-9").expires_in(100_000).sign();
    assert_unavailable(&send_token(&app, &unknown).await, "5");
    assert_eq!(idp.jwks_fetches(), 2);
    clock.advance(Duration::from_secs(5));
    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
    eventually("the next refresh to fail", || {
        verifier.status().failures == 2
    })
    .await;
    assert_eq!(idp.jwks_fetches(), 3);
    // Past max_stale: 503.
    clock.advance(Duration::from_secs(3600));
    let reply = send_token(&app, &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.challenge().is_none());
}

#[tokio::test]
async fn a_set_that_parses_but_is_useless_is_a_failed_fetch() {
    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let token = idp.token().expires_in(100_000).sign();
    verifier.verify(&token).await.expect("warm");
    let mut encryption_only = idp.jwks_json();
    for key in encryption_only["keys"].as_array_mut().expect("keys") {
        key["use"] = serde_json::json!("enc");
    }
    let useless = [
        ("empty", serde_json::json!({ "keys": [] }), "no usable keys"),
        (
            "every key for encryption",
            encryption_only,
            "no usable keys (10 skipped)",
        ),
    ];
    for (n, (case, document, why)) in useless.into_iter().enumerate() {
        idp.set_jwks_override(Some(document));
        let err = verifier.refresh().await.expect_err(case);
        assert!(err.to_string().contains(why), "{case}: {err}");
        let status = verifier.status();
        assert_eq!((status.generation, status.kids.len()), (1, 10), "{case}");
        assert!(status.last_error.is_some_and(|e| e.contains(why)), "{case}");
        verifier.verify(&token).await.expect(case);
        assert_eq!(idp.jwks_fetches(), 2 + n, "{case}");
    }
    // Kid-less keys are usable when tokens without kid are allowed: then the set is taken.
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::WithoutKids);
    let verifier = builder(&idp)
        .allow_missing_kid(true)
        .build()
        .expect("config");
    verifier
        .refresh()
        .await
        .expect("kid-less keys are usable here");
    let kidless = idp.sign_raw(
        Algorithm::RS256,
        r#"{"alg":"RS256","typ":"JWT"}"#,
        &serde_json::json!({
            "iss": idp.issuer(), "aud": idp.audience(), "sub": "kidless",
            "exp": ManualClock::now().now_millis() / 1000 + 600,
        })
        .to_string(),
    );
    assert_eq!(
        verifier.verify(&kidless).await.expect("kid-less").sub(),
        Some("kidless")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_waits_one_http_timeout_at_most_and_the_fetch_lands_later() {
    let idp = MockIdp::start().await;
    let timeout = Duration::from_millis(500);
    let verifier = builder(&idp)
        .http_timeout(timeout)
        .http_retries(2)
        .build()
        .expect("config");
    let cached = idp.mint(Algorithm::ES256);
    verifier.verify(&cached).await.expect("warm");
    idp.rotate(Algorithm::RS256);
    let new = idp.token().expires_in(100_000).sign();
    // The first two attempts hang past the timeout; the third answers at once.
    idp.set_fault(Fault::Delay(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let waiting = tokio::spawn({
        let (verifier, new) = (verifier.clone(), new.clone());
        async move { verifier.verify(&new).await }
    });
    // Cached kids never wait, whatever is in flight.
    let quick = tokio::time::timeout(Duration::from_millis(200), verifier.verify(&cached)).await;
    assert!(matches!(quick, Ok(Ok(_))), "a cached kid did not wait");
    let err = waiting.await.expect("task").expect_err("gave up waiting");
    let waited = started.elapsed();
    assert_eq!(
        err.reason(),
        AuthReason::UnknownKeyId,
        "a usable set exists"
    );
    assert!(
        waited >= timeout && waited < 2 * timeout,
        "waited {waited:?}: one http_timeout, not every retry"
    );
    eventually("the second attempt", || idp.jwks_fetches() == 3).await;
    idp.set_fault(Fault::None);
    eventually("the retried fetch to land", || {
        verifier.status().generation == 2
    })
    .await;
    assert_eq!(idp.jwks_fetches(), 4, "warm-up and three attempts");
    verifier
        .verify(&new)
        .await
        .expect("installed when it arrived");
    assert_eq!(idp.jwks_fetches(), 4);

    // Without any usable set: 503 with Retry-After after one http_timeout.
    let cold_idp = MockIdp::start().await;
    cold_idp.set_fault(Fault::Delay(Duration::from_secs(30)));
    let cold = builder(&cold_idp)
        .http_timeout(timeout)
        .http_retries(2)
        .build()
        .expect("config");
    let started = std::time::Instant::now();
    let err = cold
        .verify(&cold_idp.mint(Algorithm::RS256))
        .await
        .expect_err("cold");
    assert_eq!(err.reason(), AuthReason::KeysUnavailable);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert!(started.elapsed() < 2 * timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_kid_missing_from_a_fetch_already_in_flight_gets_one_more_fetch() {
    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(100))
        .http_retries(0)
        .build()
        .expect("config (default 30 s cooldown)");
    let app = app(JwksAuthLayer::new(verifier.clone()));
    let old = idp.token().expires_in(100_000).sign();
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);
    // A background refresh goes out; the endpoint answers 800 ms late with the document as it
    // was when the request arrived.
    idp.set_fault(Fault::Late(Duration::from_millis(800)));
    clock.advance(Duration::from_secs(86)); // past refresh-ahead (75-85% of the 100 s TTL)
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);
    eventually("the refresh to be in flight", || idp.jwks_fetches() == 2).await;
    // Meanwhile the IdP publishes key 2 and signs with it.
    idp.keep_previous(true);
    idp.rotate(Algorithm::RS256);
    idp.set_fault(Fault::None);
    let new = idp.token().expires_in(100_000).sign();
    let reply = send_token(&app, &new).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "accepted on the first try: {}",
        reply.body
    );
    assert_eq!(idp.jwks_fetches(), 3, "the late fetch, then one more");
    assert_eq!(verifier.status().cooldown_remaining, None);
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);

    // Still bounded: a flood of random kids that joined the same kind of fetch makes one
    // more fetch at most, and then the cooldown holds.
    idp.set_fault(Fault::Late(Duration::from_millis(300)));
    clock.advance(Duration::from_secs(86)); // past refresh-ahead (75-85% of the 100 s TTL)
    assert_eq!(send_token(&app, &old).await.status, StatusCode::OK);
    eventually("the next refresh to be in flight", || {
        idp.jwks_fetches() == 4
    })
    .await;
    idp.set_fault(Fault::None);
    let replies = concurrently(200, |i| {
        let app = app.clone();
        let token = idp
            .token()
            .kid(format!("random-{i}"))
            .expires_in(100_000)
            .sign();
        async move { send_token(&app, &token).await }
    })
    .await;
    for reply in &replies {
        assert_invalid_because(reply, "unknown key id");
    }
    assert!(
        idp.jwks_fetches() <= 5,
        "the late fetch and at most one more: {}",
        idp.jwks_fetches()
    );
    assert!(verifier.status().cooldown_remaining.is_some());
}

/// The mock's JWKS gzip-encoded whatever the request asked for, on both paths a verifier
/// fetches: a JWKS URL, and OIDC discovery then its `jwks_uri`.
#[tokio::test]
async fn gzip_encoded_key_sets_and_discovery_documents_are_decoded() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Gzip);
    let by_url = builder(&idp).build().expect("config");
    by_url
        .verify(&idp.mint(Algorithm::RS256))
        .await
        .expect("gzip JWKS");
    let discovered = JwksVerifier::builder()
        .oidc_issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    discovered
        .verify(&idp.mint(Algorithm::ES256))
        .await
        .expect("gzip discovery and JWKS");
    assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (1, 2));
}

/// A hand-made server: `/deflate` answers the mock's JWKS zlib-deflated and records the
/// request's `Accept-Encoding`; `/br` claims a coding that was not asked for.
async fn encoding_server(idp: &MockIdp) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::routing::get;
    use std::io::Write;
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let jwks = idp.jwks_json().to_string();
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(jwks.as_bytes()).expect("deflate");
    let deflated = zlib.finish().expect("deflate");
    let router = axum::Router::new()
        .route(
            "/deflate",
            get({
                let seen = Arc::clone(&seen);
                move |headers: http::HeaderMap| async move {
                    let accept = headers
                        .get("accept-encoding")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    seen.lock().expect("lock").push(accept);
                    ([("content-encoding", "deflate")], deflated)
                }
            }),
        )
        .route(
            "/br",
            get(|| async { ([("content-encoding", "br")], vec![0x1b_u8, 0x2a, 0x00]) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

#[tokio::test]
async fn every_fetch_names_its_codings_decodes_deflate_and_refuses_others() {
    let idp = MockIdp::start().await;
    let (url, seen) = encoding_server(&idp).await;
    let verifier = JwksVerifier::builder()
        .jwks_url(format!("{url}/deflate"))
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    verifier
        .verify(&idp.mint(Algorithm::RS256))
        .await
        .expect("deflate JWKS");
    assert_eq!(*seen.lock().expect("lock"), ["gzip, deflate"]);

    let verifier = JwksVerifier::builder()
        .jwks_url(format!("{url}/br"))
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    let reply = send_token(
        &app(JwksAuthLayer::new(verifier.clone())),
        &idp.mint(Algorithm::RS256),
    )
    .await;
    assert_unavailable(&reply, "5");
    let error = verifier.status().last_error.expect("why");
    assert!(
        error.contains("encoded with `br`") && error.contains("/br"),
        "{error}"
    );
}

/// Issue 12 point 16: every fetch error names its URL, including the errors about the document
/// a fetch returned (garbage, or a set with no usable key), for a JWKS URL and for discovery.
#[tokio::test]
async fn key_set_errors_name_the_url() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Garbage);
    let by_url = builder(&idp).build().expect("config");
    let err = by_url.refresh().await.expect_err("garbage");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: ", idp.jwks_url())),
        "{err}"
    );
    let status = by_url.status();
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains(&idp.jwks_url())),
        "{status:?}"
    );
    let discovered = JwksVerifier::builder()
        .oidc_issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    idp.set_fault(Fault::WithoutKids);
    let err = discovered.refresh().await.expect_err("no usable key");
    assert!(err.to_string().contains(&idp.issuer()), "{err}");
    assert!(err.to_string().contains("none with a `kid`"), "{err}");
}

/// Single flight across the gap between the two halves of a verification: a request that
/// found no keys (its synchronous attempt ran) but reaches the slow path only after another
/// request's fetch installed a key set uses that set; it does not fetch again. (Before the
/// fix it compared against the set installed meanwhile and fetched a second time; under a
/// burst on a multi-threaded runtime that was a second JWKS fetch now and then.)
#[tokio::test]
async fn a_request_that_saw_no_keys_uses_the_set_fetched_before_its_slow_path_ran() {
    use std::convert::Infallible;

    use axum::body::Body;
    use http::{Request, Response};
    use tower::{Layer, Service, ServiceExt};

    let idp = MockIdp::start().await;
    let verifier = builder(&idp).build().expect("config");
    let inner = tower::service_fn(|_: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let mut service = JwksAuthLayer::new(verifier).layer(inner);
    let first = idp.token().subject("first").sign();
    let second = idp.token().subject("second").sign();
    // The first request's synchronous half runs now and finds no key set; its future waits.
    let waiting = ServiceExt::<Request<Body>>::ready(&mut service)
        .await
        .expect("ready")
        .call(common::bearer(&first));
    // Another request fetches the key set and completes.
    let done = service
        .clone()
        .oneshot(common::bearer(&second))
        .await
        .expect("infallible");
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(idp.jwks_fetches(), 1);
    // Only now does the first request's slow half run: it uses the set just fetched.
    let late = waiting.await.expect("infallible");
    assert_eq!(late.status(), StatusCode::OK);
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "the set fetched meanwhile was used, not fetched again"
    );
}

/// The other side of the same gap: a key set installed and then expired (past TTL and
/// `max_stale`) while the request waited is no refresh of what it saw: it fetches again and
/// passes, as a request arriving after the expiry does.
#[tokio::test]
async fn a_set_installed_and_expired_during_the_gap_is_fetched_again() {
    use std::convert::Infallible;

    use axum::body::Body;
    use http::{Request, Response};
    use tower::{Layer, Service, ServiceExt};

    let idp = MockIdp::start().await;
    let clock = ManualClock::now();
    let verifier = builder(&idp)
        .clock(clock.clone())
        .cache_ttl(Duration::from_secs(600))
        .max_stale(Duration::from_secs(60))
        .build()
        .expect("config");
    let inner = tower::service_fn(|_: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let mut service = JwksAuthLayer::new(verifier.clone()).layer(inner);
    let token = idp.token().subject("first").expires_in(100_000).sign();
    let waiting = ServiceExt::<Request<Body>>::ready(&mut service)
        .await
        .expect("ready")
        .call(common::bearer(&token));
    verifier.refresh().await.expect("refresh");
    assert_eq!(idp.jwks_fetches(), 1);
    clock.advance(Duration::from_secs(600 + 60 + 1));
    let late = waiting.await.expect("infallible");
    assert_eq!(
        (late.status(), idp.jwks_fetches()),
        (StatusCode::OK, 2),
        "the expired set is not a usable refresh: fetched again"
    );
}
