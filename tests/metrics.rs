//! The `metrics` feature against the mock IdP: exact counts for every outcome, key fetches by
//! result, gauges, cooldown refusals, identity fetches, and no token material in any label.
//!
//! Each test installs its own `DebuggingRecorder` with `metrics::with_local_recorder` (the
//! global recorder would mix the tests' counts) and runs on a current-thread runtime inside
//! it, so that everything the test drives, spawned key-set fetches included, records there.
#![cfg(feature = "metrics")]

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use common::{app, builder, get_with, send, send_token};
use http::StatusCode;
use jwks_auth::metrics::{
    IDENTITY_FETCHES, INTROSPECTIONS, KEY_FETCH_DURATION, KEY_FETCHES, KEY_SET_AGE, KEY_SET_STALE,
    REQUESTS, UNKNOWN_KID_COOLDOWN,
};
use jwks_auth::testing::{Fault, MockIdp};
use jwks_auth::{Algorithm, AuthReason, CloudflareAccess, JwksAuthLayer};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// Label pairs, sorted.
type Labels = Vec<(String, String)>;

/// What one test recorded: (name, sorted labels, value).
struct Recorded(Vec<(String, Labels, DebugValue)>);

impl Recorded {
    /// What the recorder holds (the debugging recorder hands each counter's value out once).
    fn take(snapshotter: &metrics_util::debugging::Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let (_, key) = key.into_parts();
                    let name = key.name().to_owned();
                    let mut labels: Labels = key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    labels.sort();
                    (name, labels, value)
                })
                .collect(),
        )
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let mut want: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        self.0
            .iter()
            .find(|(n, l, _)| n == name && *l == want)
            .map(|(_, _, v)| v)
    }

    /// A counter's value (0 when never incremented).
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            None => 0,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    /// The sum of a counter over every label set.
    fn total(&self, name: &str) -> u64 {
        self.0
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, _, v)| match v {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.find(name, labels)? {
            DebugValue::Gauge(v) => Some(v.into_inner()),
            other => panic!("{name} is not a gauge: {other:?}"),
        }
    }

    fn histogram_len(&self, name: &str, labels: &[(&str, &str)]) -> usize {
        match self.find(name, labels) {
            Some(DebugValue::Histogram(v)) => v.len(),
            None => 0,
            Some(other) => panic!("{name} is not a histogram: {other:?}"),
        }
    }

    fn label_values(&self) -> BTreeSet<String> {
        self.0
            .iter()
            .flat_map(|(_, labels, _)| labels.iter().map(|(_, v)| v.clone()))
            .collect()
    }

    /// Every label value is from the documented sets, or the given `jwks` URLs; none holds any
    /// part of any token.
    #[track_caller]
    fn assert_no_token_material(&self, tokens: &[&str], jwks: &[&str]) {
        const FIXED: &[&str] = &[
            "accepted",
            "refused",
            "unavailable",
            "none",
            "hit",
            "miss",
            "200",
            "304",
            "error",
            "ok",
        ];
        for value in self.label_values() {
            for token in tokens {
                for part in token.split('.').filter(|p| p.len() >= 4) {
                    assert!(
                        !value.contains(part),
                        "label value {value:?} holds token data"
                    );
                }
            }
            assert!(
                !value.contains("eyJ"),
                "label value {value:?} looks like JOSE"
            );
            let documented = FIXED.contains(&value.as_str())
                || jwks.contains(&value.as_str())
                || is_reason_code(&value);
            assert!(documented, "undocumented label value {value:?}");
        }
    }
}

fn is_reason_code(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Runs `test` on a current-thread runtime with a fresh recorder installed for this thread.
fn recorded<F: Future<Output = ()>>(test: impl FnOnce() -> F) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The runtime (and every verifier its tasks hold) is dropped inside the recorder's scope:
    // a dropped verifier publishes the cache hits it has not published yet.
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(test());
        drop(runtime);
    });
    Recorded::take(&snapshotter)
}

const ACCEPTED: (&str, &str) = ("outcome", "accepted");
const REFUSED: (&str, &str) = ("outcome", "refused");
const UNAVAILABLE: (&str, &str) = ("outcome", "unavailable");
const NO_REASON: (&str, &str) = ("reason", "none");
/// The `token_cache` label: the decision came from the verified-token cache.
const HIT: (&str, &str) = ("token_cache", "hit");
/// The token reached the verifier; the cache did not answer.
const MISS: (&str, &str) = ("token_cache", "miss");
/// No token reached the verifier.
const NO_TOKEN: (&str, &str) = ("token_cache", "none");

fn reason(r: AuthReason) -> (&'static str, &'static str) {
    ("reason", r.code())
}

/// The `jwks` label of the mock: its key-set URL (it has no query).
fn jwks(idp: &MockIdp) -> String {
    idp.jwks_url()
}

#[test]
fn every_request_outcome_is_counted_once_with_its_reason() {
    let mut tokens = Vec::new();
    let mut urls = Vec::new();
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        urls.push(jwks(&idp));
        let app = app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
        let good = idp.token().subject("alice").sign();
        let expired = idp.token().expires_in(-3_600).sign();
        let forged = {
            let mut t = idp.mint(Algorithm::RS256);
            t.truncate(t.len() - 4);
            t.push_str("AAAA");
            t
        };
        // accepted (a miss, then a hit), accepted again (hit)
        send_token(&app, &good).await.assert_ok("alice");
        send_token(&app, &good).await.assert_ok("alice");
        send_token(&app, &good).await.assert_ok("alice");
        // refused: no token, garbage, expired, forged signature
        let missing = send(&app, get_with("/me", &[])).await;
        missing.assert_refused(
            StatusCode::UNAUTHORIZED,
            r#"{"detail":"missing bearer token"}"#,
            Some("Bearer"),
        );
        send_token(&app, "not-a-jwt").await.assert_invalid();
        send_token(&app, &expired).await.assert_invalid();
        send_token(&app, &forged).await.assert_invalid();
        // A refusal is never cached: the forged token is checked (and refused) again.
        send_token(&app, &forged).await.assert_invalid();
        assert_eq!(idp.jwks_fetches(), 1, "one fetch served every request");
        tokens.extend([good, expired, forged]);
    });
    // The first good request verified the token in full; the next two reused it.
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]), 1);
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, HIT]), 2);
    assert_eq!(
        got.counter(
            REQUESTS,
            &[REFUSED, reason(AuthReason::MissingToken), NO_TOKEN]
        ),
        1
    );
    assert_eq!(
        got.counter(
            REQUESTS,
            &[REFUSED, reason(AuthReason::MalformedToken), MISS]
        ),
        1
    );
    assert_eq!(
        got.counter(REQUESTS, &[REFUSED, reason(AuthReason::Expired), MISS]),
        1
    );
    assert_eq!(
        got.counter(
            REQUESTS,
            &[REFUSED, reason(AuthReason::InvalidSignature), MISS]
        ),
        2
    );
    assert_eq!(got.total(REQUESTS), 8, "each request counted exactly once");
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    got.assert_no_token_material(&tokens, &urls);
}

/// A cached verification can still end in a refusal: the entry is re-checked against the
/// clock and the key set on every hit. Past `exp` the entry still answers (with the refusal,
/// and no signature work) until the cache expires it: each such refusal is a refused `hit`.
#[test]
fn a_cached_token_refused_on_reuse_counts_as_a_refused_hit() {
    use jwks_auth::ManualClock;
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        let clock = ManualClock::now();
        let verifier = builder(&idp)
            .clock(clock.clone())
            .leeway(Duration::ZERO)
            .build()
            .expect("config");
        let app = app(JwksAuthLayer::new(verifier));
        let token = idp.token().subject("alice").expires_in(60).sign();
        send_token(&app, &token).await.assert_ok("alice");
        clock.advance(Duration::from_secs(61));
        send_token(&app, &token).await.assert_invalid();
        send_token(&app, &token).await.assert_invalid();
        assert_eq!(idp.jwks_fetches(), 1);
    });
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]), 1);
    let expired = |lookup| got.counter(REQUESTS, &[REFUSED, reason(AuthReason::Expired), lookup]);
    assert_eq!((expired(HIT), expired(MISS)), (2, 0));
    assert_eq!(got.total(REQUESTS), 3);
}

/// `token_cache_capacity(0)` turns the verified-token cache off (for deployments that must not
/// hold tokens in memory): a repeat token is verified again each time, never looked up, and
/// the key set is still fetched once. (With the default capacity the same requests are hits:
/// `every_request_outcome_is_counted_once_with_its_reason`.)
#[test]
fn a_zero_token_cache_capacity_turns_the_cache_off() {
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        let verifier = builder(&idp)
            .token_cache_capacity(0)
            .build()
            .expect("config");
        let app = app(JwksAuthLayer::new(verifier));
        let token = idp.token().subject("alice").sign();
        for _ in 0..3 {
            send_token(&app, &token).await.assert_ok("alice");
        }
        assert_eq!(idp.jwks_fetches(), 1);
    });
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]), 3);
    assert_eq!(got.total(REQUESTS), 3, "no hit");
}

#[test]
fn unavailable_keys_count_as_unavailable_and_failed_fetches() {
    let mut url = String::new();
    let mut tokens = Vec::new();
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        url = jwks(&idp);
        idp.set_fault(Fault::Status(500));
        let verifier = builder(&idp).build().expect("config");
        let app = app(JwksAuthLayer::new(verifier.clone()));
        let token = idp.mint(Algorithm::ES256);
        let reply = send_token(&app, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        assert!(reply.headers.contains_key("retry-after"));
        assert_eq!(idp.jwks_fetches(), 1);
        // `status()` refreshes the gauges: a set never fetched is not fresh.
        assert!(!verifier.status().usable);
        tokens.push(token);
    });
    let jwks_label = [("jwks", url.as_str())];
    assert_eq!(got.gauge(KEY_SET_STALE, &jwks_label), Some(1.0));
    assert_eq!(got.gauge(KEY_SET_AGE, &jwks_label), None);
    let unavailable = [UNAVAILABLE, reason(AuthReason::KeysUnavailable), MISS];
    assert_eq!(got.counter(REQUESTS, &unavailable), 1);
    assert_eq!(got.total(REQUESTS), 1);
    let error = [("jwks", url.as_str()), ("result", "error")];
    assert_eq!(got.counter(KEY_FETCHES, &error), 1);
    assert_eq!(got.histogram_len(KEY_FETCH_DURATION, &error), 1);
    assert_eq!(got.total(KEY_FETCHES), 1);
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    got.assert_no_token_material(&tokens, &[&url]);
}

#[test]
fn key_fetches_are_counted_by_result_with_durations_and_gauges() {
    let mut url = String::new();
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        url = jwks(&idp);
        idp.set_validators(true);
        let verifier = builder(&idp).build().expect("config");
        verifier.refresh().await.expect("200");
        verifier.refresh().await.expect("304");
        assert_eq!(idp.not_modified_answers(), 1);
        idp.set_fault(Fault::Status(503));
        verifier.refresh().await.expect_err("error");
        let status = verifier.status();
        assert!(status.usable && !status.stale);
    });
    let labels = |result| [("jwks", url.as_str()), ("result", result)];
    for result in ["200", "304", "error"] {
        assert_eq!(got.counter(KEY_FETCHES, &labels(result)), 1, "{result}");
        assert_eq!(
            got.histogram_len(KEY_FETCH_DURATION, &labels(result)),
            1,
            "{result}"
        );
    }
    assert_eq!(got.total(KEY_FETCHES), 3);
    assert_eq!(got.total(REQUESTS), 0, "no request went through a layer");
    let jwks = [("jwks", url.as_str())];
    let age = got.gauge(KEY_SET_AGE, &jwks).expect("age gauge");
    assert!((0.0..60.0).contains(&age), "age {age}");
    assert_eq!(got.gauge(KEY_SET_STALE, &jwks), Some(0.0));
    got.assert_no_token_material(&[], &[&url]);
}

#[test]
fn unknown_kid_cooldown_refusals_are_counted() {
    let mut url = String::new();
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        url = jwks(&idp);
        let verifier = builder(&idp)
            .unknown_kid_cooldown(Duration::from_secs(60))
            .build()
            .expect("config");
        verifier.refresh().await.expect("warm");
        let app = app(JwksAuthLayer::new(verifier));
        let stranger = idp.token().kid("nobody-has-this-kid").sign();
        // The first unknown kid fetches and starts the cooldown; the next two are refused at once.
        for _ in 0..3 {
            send_token(&app, &stranger).await.assert_invalid();
        }
        assert_eq!(
            idp.jwks_fetches(),
            2,
            "the warm-up, and the first unknown kid's"
        );
    });
    assert_eq!(
        got.counter(UNKNOWN_KID_COOLDOWN, &[("jwks", url.as_str())]),
        2
    );
    assert_eq!(
        got.counter(REQUESTS, &[REFUSED, reason(AuthReason::UnknownKeyId), MISS]),
        3
    );
    // The warm-up's 200, then the unknown kid's conditional refetch: 304.
    let fetches = |result| got.counter(KEY_FETCHES, &[("jwks", url.as_str()), ("result", result)]);
    assert_eq!((fetches("200"), fetches("304")), (1, 1));
}

#[test]
fn identity_fetches_are_counted_by_result() {
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        let access = CloudflareAccess::builder("acme", idp.cf_aud())
            .base_url(idp.url())
            .issuer(idp.issuer())
            .verifier(|b| b.http_retries(0).http_timeout(Duration::from_secs(2)))
            .build()
            .expect("config");
        let token = idp.cf_token().sign();
        access.get_identity(&token).await.expect("identity");
        access.get_identity(&token).await.expect("cached: no fetch");
        idp.set_identity_fault(Fault::Status(503));
        let other = idp.cf_token().subject("bob").sign();
        access.get_identity(&other).await.expect_err("outage");
        assert_eq!(idp.identity_fetches(), 2);
    });
    assert_eq!(got.counter(IDENTITY_FETCHES, &[("result", "ok")]), 1);
    assert_eq!(
        got.counter(IDENTITY_FETCHES, &[("result", "unavailable")]),
        1
    );
    assert_eq!(got.total(IDENTITY_FETCHES), 2);
}

/// A per-route requirement's refusal is counted as refused with its reason (the request was
/// accepted by the layer first: once under each), and answered in gRPC form for gRPC requests.
#[test]
fn per_route_requirement_refusals_are_counted() {
    let mut tokens = Vec::new();
    let mut urls = Vec::new();
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        urls.push(jwks(&idp));
        let app = axum::Router::new()
            .route(
                "/orders",
                axum::routing::get(|| async { "orders" })
                    .route_layer(jwks_auth::Require::scope("orders:write")),
            )
            .layer(JwksAuthLayer::new(builder(&idp).build().expect("config")));
        let reader = idp
            .token()
            .claim("scope", serde_json::json!("orders:read"))
            .sign();
        let header = format!("Bearer {reader}");
        let reply = send(&app, get_with("/orders", &[("authorization", &header)])).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(
            reply.challenge(),
            Some(
                r#"Bearer scope="orders:write", error="insufficient_scope", error_description="insufficient scope""#
            )
        );
        // The same refusal to a gRPC client: a gRPC status, not an HTTP 403.
        let grpc = send(
            &app,
            get_with(
                "/orders",
                &[
                    ("authorization", &header),
                    ("content-type", "application/grpc"),
                ],
            ),
        )
        .await;
        assert_eq!(grpc.status, StatusCode::OK);
        assert_eq!(grpc.headers["grpc-status"], "7");
        tokens.push(reader);
    });
    // The layer accepted both (verified, then reused); the requirement refused both after it.
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]), 1);
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, HIT]), 1);
    assert_eq!(
        got.counter(
            REQUESTS,
            &[REFUSED, reason(AuthReason::InsufficientScope), NO_TOKEN]
        ),
        2
    );
    assert_eq!(got.total(REQUESTS), 4);
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    got.assert_no_token_material(&tokens, &urls);
}

#[test]
fn introspection_calls_are_counted_by_result_and_cache_hits_are_not_calls() {
    use jwks_auth::introspection::{ClientAuth, Introspection};
    use jwks_auth::testing::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET};
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        let verifier = builder(&idp)
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
        let app = app(JwksAuthLayer::new(verifier));
        let active = idp.opaque_token().issue();
        for _ in 0..3 {
            assert_eq!(send_token(&app, &active).await.status, StatusCode::OK);
        }
        let other_api = idp.opaque_token().claim("aud", "other-api".into()).issue();
        let refused = send_token(&app, &other_api).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let inactive = send_token(&app, "never-issued").await;
        assert_eq!(inactive.status, StatusCode::UNAUTHORIZED);
        idp.set_introspection_fault(Fault::Status(500));
        let down = send_token(&app, "another").await;
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    });
    for result in ["active", "refused", "inactive", "error"] {
        assert_eq!(
            got.counter(INTROSPECTIONS, &[("result", result)]),
            1,
            "{result}"
        );
    }
    assert_eq!(got.total(INTROSPECTIONS), 4);
    assert_eq!(
        got.counter(
            REQUESTS,
            &[
                UNAVAILABLE,
                reason(AuthReason::IntrospectionUnavailable),
                MISS
            ]
        ),
        1
    );
    assert_eq!(
        got.counter(
            REQUESTS,
            &[REFUSED, reason(AuthReason::InactiveToken), MISS]
        ),
        1
    );
    // Introspected tokens are not in the verified-token cache: the answer cache served the
    // repeats, so they are accepted misses.
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]), 3);
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, HIT]), 0);
}

jwks_auth::requirement!(OrdersWrite = jwks_auth::Require::scope("orders:write"));

/// An extractor's refusal is counted when it becomes a response, like a per-route `Require`'s:
/// `Authorized<R>` refusing a requirement, and `User` refusing an anonymous request under an
/// optional layer. The optional layer's anonymous pass itself is not a decision: not counted.
#[test]
fn extractor_refusals_are_counted() {
    use jwks_auth::authz::Authorized;
    let got = recorded(|| async {
        let idp = MockIdp::start().await;
        let app = axum::Router::new()
            .route(
                "/orders",
                axum::routing::get(|_: Authorized<OrdersWrite>| async { "orders" }),
            )
            .route(
                "/me",
                axum::routing::get(|user: jwks_auth::User| async move {
                    user.sub().unwrap_or_default().to_owned()
                }),
            )
            .layer(JwksAuthLayer::new(builder(&idp).build().expect("config")).optional());
        let reader = idp.token().claim("scope", "orders:read".into()).sign();
        let header = format!("Bearer {reader}");
        let reply = send(&app, get_with("/orders", &[("authorization", &header)])).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(
            reply.challenge(),
            Some(
                r#"Bearer scope="orders:write", error="insufficient_scope", error_description="insufficient scope""#
            )
        );
        let anonymous = send(&app, get_with("/me", &[])).await;
        anonymous.assert_refused(
            StatusCode::UNAUTHORIZED,
            r#"{"detail":"missing bearer token"}"#,
            Some("Bearer"),
        );
        assert_eq!(idp.jwks_fetches(), 1);
    });
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]), 1);
    assert_eq!(
        got.counter(
            REQUESTS,
            &[REFUSED, reason(AuthReason::InsufficientScope), NO_TOKEN]
        ),
        1
    );
    assert_eq!(
        got.counter(
            REQUESTS,
            &[REFUSED, reason(AuthReason::MissingToken), NO_TOKEN]
        ),
        1
    );
    assert_eq!(got.total(REQUESTS), 3);
}

/// A recorder whose series can be dropped, as an exporter drops idle ones (Prometheus
/// `idle_timeout`): a handle registered before the drop counts into nothing it renders.
#[derive(Default)]
struct Forgetful(
    std::sync::Mutex<Vec<(String, Labels, std::sync::Arc<std::sync::atomic::AtomicU64>)>>,
);

impl Forgetful {
    fn forget_all(&self) {
        self.0.lock().expect("lock").clear();
    }

    fn counter(&self, labels: &[(&str, &str)]) -> u64 {
        let mut want: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|(n, l, _)| n == REQUESTS && *l == want)
            .map(|(_, _, v)| v.load(std::sync::atomic::Ordering::SeqCst))
            .sum()
    }
}

impl metrics::Recorder for Forgetful {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let mut labels: Labels = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        let mut series = self.0.lock().expect("lock");
        let name = key.name().to_owned();
        let found = series.iter().find(|(n, l, _)| *n == name && *l == labels);
        let value = match found {
            Some((_, _, value)) => std::sync::Arc::clone(value),
            None => {
                let value = std::sync::Arc::default();
                series.push((name, labels, std::sync::Arc::clone(&value)));
                value
            }
        };
        metrics::Counter::from_arc(value)
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// Accepted cache hits are counted per verifier and published in batches: when a thread's
/// shard reaches 64, at every `status()` read (as the `/metrics` handler does before rendering)
/// and when the verifier is dropped. Publishing registers the series anew, so a series an
/// exporter dropped as idle comes back with every later count.
#[test]
fn cache_hits_are_published_at_a_status_read_in_batches_and_after_an_idle_drop() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let recorder = Forgetful::default();
    let hits = || recorder.counter(&[ACCEPTED, NO_REASON, HIT]);
    let misses = || recorder.counter(&[ACCEPTED, NO_REASON, MISS]);
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let idp = MockIdp::start().await;
            let verifier = builder(&idp).build().expect("config");
            let app = app(JwksAuthLayer::new(verifier.clone()));
            let token = idp.token().subject("alice").sign();
            for _ in 0..3 {
                send_token(&app, &token).await.assert_ok("alice");
            }
            // The miss is published at once; the two hits wait for a status read.
            assert_eq!((misses(), hits()), (1, 0));
            let _ = verifier.status();
            assert_eq!((misses(), hits()), (1, 2));
            // A full batch publishes itself, without a status read.
            for _ in 0..64 {
                send_token(&app, &token).await.assert_ok("alice");
            }
            assert_eq!(hits(), 2 + 64);
            // The exporter drops its series as idle; later hits register it again.
            recorder.forget_all();
            for _ in 0..3 {
                send_token(&app, &token).await.assert_ok("alice");
            }
            let _ = verifier.status();
            assert_eq!(hits(), 3);
            // Nothing is published twice.
            let _ = verifier.status();
            assert_eq!(hits(), 3);
            assert_eq!(idp.jwks_fetches(), 1);
        });
    });
}

/// A recorder that replaces another at the same address on the same thread gets its own
/// counts (nothing handed to the recorder is cached across calls).
#[test]
fn a_new_recorder_at_the_same_address_gets_its_own_counts() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut slot;
    let mut totals = Vec::new();
    for _ in 0..2 {
        slot = DebuggingRecorder::new();
        let snapshotter = slot.snapshotter();
        metrics::with_local_recorder(&slot, || {
            runtime.block_on(async {
                let idp = MockIdp::start().await;
                let verifier = builder(&idp).build().expect("config");
                let app = app(JwksAuthLayer::new(verifier.clone()));
                let token = idp.token().sign();
                for _ in 0..2 {
                    assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
                }
                let _ = verifier.status();
            });
        });
        let got = Recorded::take(&snapshotter);
        totals.push((
            got.counter(REQUESTS, &[ACCEPTED, NO_REASON, HIT]),
            got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]),
        ));
    }
    assert_eq!(
        totals,
        [(1, 1), (1, 1)],
        "each recorder saw its own miss and hit"
    );
}

/// A multi-issuer verifier's `status()` also publishes the hits a layer counted on one of its
/// tenants (a tenant can sit behind a layer of its own while the `/metrics` handler reads the
/// combined verifier).
#[test]
fn multi_issuer_status_publishes_its_tenants_hits() {
    let got = recorded(|| async {
        let a = MockIdp::start().await;
        let b = MockIdp::start().await;
        let tenant_a = builder(&a).build().expect("a");
        let multi = jwks_auth::JwksVerifier::multi_issuer([
            tenant_a.clone(),
            builder(&b).build().expect("b"),
        ])
        .expect("multi");
        let app_a = app(JwksAuthLayer::new(tenant_a.clone()));
        let token = a.token().subject("alice").sign();
        for _ in 0..3 {
            send_token(&app_a, &token).await.assert_ok("alice");
        }
        let _ = multi.status();
        // Published by the status read above: the tenant is still alive here.
        assert_eq!(a.jwks_fetches(), 1);
        std::mem::forget(tenant_a); // never dropped: only the status read can publish
        std::mem::forget(app_a);
        std::mem::forget(multi);
    });
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, MISS]), 1);
    assert_eq!(got.counter(REQUESTS, &[ACCEPTED, NO_REASON, HIT]), 2);
}
