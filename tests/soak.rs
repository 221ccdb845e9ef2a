//! Chaos soak: concurrent clients send a mix of valid, expired, forged, unknown-kid,
//! wrong-audience, tampered and key-confusion tokens while the mock IdP rotates keys, drops
//! retired ones, and flaps between healthy, 500, slow, garbage, reset, slow-drip, oversized and
//! "restarting" (503 for a while), with one outage longer than TTL + max_stale.
//!
//! Asserted: no invalid token is ever accepted; no valid token is refused while the key set
//! is within max_stale, except tokens whose kid the installed set does not hold yet (they wait
//! for the next refresh, and are counted apart); fetches stay within the bound the cooldown,
//! TTL and failure backoff allow; nothing waits longer than the fetch timeout allows; resident
//! memory stays flat after warm-up.
//!
//! Short mode (part of `cargo test --all-features`, ~10 s):
//!     cargo test --all-features --test soak
//! Long mode:
//!     SOAK_SECS=300 cargo test --release --all-features --test soak -- --ignored --nocapture

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jwks_auth::AuthReason;
use jwks_auth::testing::{Fault, MockIdp, foreign_token};
use jwks_auth::{Algorithm, AuthError, AuthErrorKind, JwksVerifier};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const TTL: Duration = Duration::from_secs(1);
const MAX_STALE: Duration = Duration::from_secs(2);
const COOLDOWN: Duration = Duration::from_secs(1);
const BACKOFF: Duration = Duration::from_millis(500);
const HTTP_TIMEOUT: Duration = Duration::from_millis(800);
const RETRIES: u32 = 1;
/// How long a retired key stays published before it is dropped from the set.
const RETIRE_FOR: Duration = Duration::from_secs(5);
const CLIENTS: usize = 8;
/// Algorithms whose keys rotate during the soak (RSA key generation is the slow part).
const ROTATING: [Algorithm; 3] = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256];

#[derive(Debug, Default)]
struct Counts {
    requests: AtomicU64,
    valid_accepted: AtomicU64,
    /// Valid tokens whose kid the installed set did not hold when the request started.
    valid_waiting_for_refresh: AtomicU64,
    /// Valid tokens refused with 503 while the set was past max_stale (allowed).
    valid_refused_past_max_stale: AtomicU64,
    /// Valid tokens refused otherwise: must stay 0.
    valid_refused: AtomicU64,
    invalid_refused: AtomicU64,
    /// Invalid tokens accepted: must stay 0.
    invalid_accepted: AtomicU64,
    max_latency_us: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Valid,
    Expired,
    NotYetValid,
    Forged,
    UnknownKid,
    WrongAudience,
    Tampered,
    KeyConfusion,
}

const MIX: [Kind; 12] = [
    Kind::Valid,
    Kind::Expired,
    Kind::Valid,
    Kind::Forged,
    Kind::Valid,
    Kind::UnknownKid,
    Kind::Valid,
    Kind::WrongAudience,
    Kind::Valid,
    Kind::Tampered,
    Kind::NotYetValid,
    Kind::KeyConfusion,
];

fn token(idp: &MockIdp, kind: Kind, n: u64) -> String {
    let alg = jwks_auth::testing::ALGORITHMS[usize::try_from(n % 9).expect("small")];
    match kind {
        Kind::Valid => idp.token().alg(alg).subject(&format!("u{}", n % 50)).sign(),
        Kind::Expired => idp.token().alg(alg).expires_in(-600).sign(),
        Kind::NotYetValid => idp.token().alg(alg).not_before_in(600).sign(),
        Kind::Forged => {
            let claims = json!({
                "iss": idp.issuer(), "sub": "admin", "aud": idp.audience(),
                "exp": 4_000_000_000_i64, "iat": 1_700_000_000,
            });
            foreign_token(alg, &idp.kid(alg), claims)
        }
        Kind::UnknownKid => idp.token().alg(alg).kid(format!("ghost-{n}")).sign(),
        Kind::WrongAudience => idp.token().alg(alg).audience(json!(["other-api"])).sign(),
        Kind::Tampered => {
            let valid = idp.token().alg(alg).subject("user").sign();
            let other = idp.token().alg(alg).subject("root").sign();
            let mut v = valid.split('.');
            let mut o = other.split('.');
            let (h, _, s) = (v.next(), v.next(), v.next());
            let (_, p) = (o.next(), o.next());
            format!(
                "{}.{}.{}",
                h.unwrap_or(""),
                p.unwrap_or(""),
                s.unwrap_or("")
            )
        }
        Kind::KeyConfusion => {
            let kid = idp.kid(Algorithm::RS256);
            let pem = idp.rsa_public_pem(&kid).unwrap_or_default();
            idp.token()
                .alg(Algorithm::HS256)
                .kid(kid)
                .hmac_secret(pem)
                .sign()
        }
    }
}

fn kid_of(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["kid"].as_str().map(str::to_owned)
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn expired_set(status: &jwks_auth::jwks::CacheStatus) -> bool {
    status.generation > 0 && !status.fresh && !status.stale
}

/// One client: requests until `deadline` (and at most `max_requests`).
async fn client(
    id: u64,
    idp: MockIdp,
    verifier: JwksVerifier,
    counts: Arc<Counts>,
    deadline: Instant,
    max_requests: u64,
) {
    let mut n = id * 1_000_003;
    for _ in 0..max_requests {
        if Instant::now() >= deadline {
            break;
        }
        n += 1;
        let kind = MIX[usize::try_from(n % 12).expect("small")];
        let token = token(&idp, kind, n);
        let before = verifier.status();
        let started = Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(10), verifier.verify(&token))
            .await
            .expect("a verification never hangs");
        let waited = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        counts.max_latency_us.fetch_max(waited, Ordering::Relaxed);
        counts.requests.fetch_add(1, Ordering::Relaxed);
        match (kind, outcome) {
            (Kind::Valid, Ok(_)) => {
                counts.valid_accepted.fetch_add(1, Ordering::Relaxed);
            }
            (Kind::Valid, Err(e)) => classify_refusal(&verifier, &token, &before, &e, &counts),
            (_, Ok(user)) => {
                counts.invalid_accepted.fetch_add(1, Ordering::Relaxed);
                eprintln!("ACCEPTED an invalid {kind:?} token (sub {:?})", user.sub());
            }
            (_, Err(_)) => {
                counts.invalid_refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Let the controller and the mock run between requests on a busy machine.
        tokio::task::yield_now().await;
    }
}

fn classify_refusal(
    verifier: &JwksVerifier,
    token: &str,
    before: &jwks_auth::jwks::CacheStatus,
    e: &AuthError,
    counts: &Counts,
) {
    let kid = kid_of(token).unwrap_or_default();
    let held = before.kids.contains(&kid);
    let after = verifier.status();
    if e.kind() == AuthErrorKind::KeysUnavailable && (expired_set(before) || expired_set(&after)) {
        counts
            .valid_refused_past_max_stale
            .fetch_add(1, Ordering::Relaxed);
    } else if !held
        && (e.reason() == AuthReason::UnknownKeyId || e.kind() == AuthErrorKind::KeysUnavailable)
    {
        // A kid newer than the set: refused until a refresh brings it, with 401 when the
        // refresh succeeded without it (cooldown) or 503 when it failed (the key may exist).
        counts
            .valid_waiting_for_refresh
            .fetch_add(1, Ordering::Relaxed);
    } else {
        counts.valid_refused.fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "REFUSED a valid token: {} ({:?}); kid {kid} held: {held}; before {before:?}",
            e.description(),
            e.kind()
        );
    }
}

/// The chaos controller: flaps the endpoint, rotates and retires keys, until `deadline`.
async fn chaos(
    idp: MockIdp,
    deadline: Instant,
    long_outage_at: Option<Instant>,
    log: Arc<Mutex<Vec<String>>>,
) {
    let phases: [(Fault, u64); 16] = [
        (Fault::None, 400),
        (Fault::Status(500), 400),
        (Fault::None, 400),
        (Fault::Delay(Duration::from_millis(1500)), 500),
        (Fault::None, 400),
        (Fault::Garbage, 400),
        (Fault::None, 400),
        (Fault::ConnectionReset, 400),
        (Fault::None, 400),
        (
            Fault::SlowDrip {
                chunk_every: Duration::from_millis(50),
            },
            500,
        ),
        (Fault::None, 400),
        // A restart: refused for a while, then healthy again.
        (Fault::Status(503), 1200),
        (Fault::None, 400),
        (Fault::Oversized(2 * 1024 * 1024), 400),
        (Fault::None, 400),
        (
            Fault::Redirect("http://127.0.0.1:9/elsewhere".to_owned()),
            400,
        ),
    ];
    let mut retired: Vec<(String, Instant)> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    let mut long_outage = long_outage_at;
    let mut rotations = 0usize;
    for step in 0..100_000usize {
        if Instant::now() >= deadline {
            break;
        }
        if let Some(at) = long_outage
            && Instant::now() >= at
        {
            // Longer than TTL + max_stale: valid tokens may get 503 (counted apart).
            long_outage = None;
            idp.set_fault(Fault::Status(500));
            log.lock().await.push("long outage".to_owned());
            tokio::time::sleep(TTL + MAX_STALE + Duration::from_millis(1500)).await;
        }
        let (fault, ms) = phases[step % phases.len()].clone();
        idp.set_fault(fault);
        let mut changed = false;
        if step % 3 == 0 {
            let alg = ROTATING[rotations % ROTATING.len()];
            rotations += 1;
            let old = idp.kid(alg);
            let new = idp.rotate(alg);
            retired.push((old, Instant::now()));
            changed = true;
            log.lock().await.push(format!("rotated {alg:?} -> {new}"));
        }
        // Drop keys retired long enough ago: no client mints with them any more.
        let before = dropped.len();
        retired.retain(|(kid, at)| {
            let due = at.elapsed() >= RETIRE_FOR;
            if due {
                dropped.push(kid.clone());
            }
            !due
        });
        if changed || dropped.len() > before {
            // Publish the mock's keys minus the dropped ones.
            idp.set_jwks_override(None);
            let mut set = idp.jwks_json();
            if let Some(keys) = set["keys"].as_array_mut() {
                keys.retain(|k| !dropped.iter().any(|d| k["kid"] == d.as_str()));
            }
            idp.set_jwks_override(Some(set));
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    idp.set_fault(Fault::None);
    log.lock().await.push(format!(
        "{rotations} rotations, {} keys dropped",
        dropped.len()
    ));
}

struct Report {
    secs: f64,
    fetches: u64,
    mock_requests: u64,
    failures: u64,
    stale_uses: u64,
    cooldown_rejections: u64,
    rss_warm_kib: u64,
    rss_end_kib: u64,
}

async fn soak(duration: Duration, long_outage: bool) -> (Arc<Counts>, Report) {
    let idp = MockIdp::start().await;
    idp.keep_previous(true);
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .cache_ttl(TTL)
        .max_stale(MAX_STALE)
        .unknown_kid_cooldown(COOLDOWN)
        .failure_backoff(BACKOFF)
        .http_timeout(HTTP_TIMEOUT)
        .http_retries(RETRIES)
        .token_cache_capacity(1_000)
        .build()
        .expect("config");
    verifier.refresh().await.expect("warm");
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let deadline = started + duration;
    let log = Arc::new(Mutex::new(Vec::new()));
    let outage_at = long_outage.then(|| started + duration / 2);
    let controller = tokio::spawn(chaos(idp.clone(), deadline, outage_at, Arc::clone(&log)));
    let clients: Vec<_> = (0..CLIENTS as u64)
        .map(|id| {
            tokio::spawn(client(
                id,
                idp.clone(),
                verifier.clone(),
                Arc::clone(&counts),
                deadline,
                10_000_000,
            ))
        })
        .collect();
    // Resident memory once warm (a quarter in), and at the end.
    tokio::time::sleep(duration / 4).await;
    let rss_warm_kib = resident_kib();
    for c in clients {
        c.await.expect("client");
    }
    controller.await.expect("controller");
    let rss_end_kib = resident_kib();
    let secs = started.elapsed().as_secs_f64();
    let status = verifier.status();
    for line in log.lock().await.iter().rev().take(1) {
        println!("soak: {line}");
    }
    let report = Report {
        secs,
        fetches: status.fetches,
        mock_requests: u64::try_from(idp.jwks_fetches()).unwrap_or(u64::MAX),
        failures: status.failures,
        stale_uses: status.stale_uses,
        cooldown_rejections: status.cooldown_rejections,
        rss_warm_kib,
        rss_end_kib,
    };
    idp.shutdown();
    (counts, report)
}

fn check(counts: &Counts, r: &Report) {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "soak: {:.1} s, {} requests ({:.0}/s); valid: {} accepted, {} waiting for a refresh (kid newer than the set), \
         {} refused past max_stale, {} refused; invalid: {} refused, {} accepted; \
         fetches {} (mock saw {} requests, {} failed), stale uses {}, cooldown rejections {}; \
         max latency {} ms; RSS {} KiB warm -> {} KiB end",
        r.secs,
        get(&counts.requests),
        get(&counts.requests) as f64 / r.secs,
        get(&counts.valid_accepted),
        get(&counts.valid_waiting_for_refresh),
        get(&counts.valid_refused_past_max_stale),
        get(&counts.valid_refused),
        get(&counts.invalid_refused),
        get(&counts.invalid_accepted),
        r.fetches,
        r.mock_requests,
        r.failures,
        r.stale_uses,
        r.cooldown_rejections,
        get(&counts.max_latency_us) / 1000,
        r.rss_warm_kib,
        r.rss_end_kib,
    );
    assert_eq!(
        get(&counts.invalid_accepted),
        0,
        "no invalid token accepted"
    );
    assert_eq!(
        get(&counts.valid_refused),
        0,
        "no valid token refused within max_stale"
    );
    assert!(get(&counts.valid_accepted) > 0 && get(&counts.invalid_refused) > 0);
    // Fetches: after a failure none for BACKOFF; after a success the next comes from an
    // unknown kid (at most one per COOLDOWN) or from refresh-ahead/staleness (at 75-85% of
    // the TTL, jittered per fetch: 0.75 TTL at the soonest).
    let secs = r.secs;
    let bound = 2.0
        + secs / COOLDOWN.as_secs_f64()
        + secs / (0.75 * TTL.as_secs_f64())
        + secs / BACKOFF.as_secs_f64();
    assert!(
        (r.fetches as f64) <= bound,
        "{} fetches > bound {bound:.0}",
        r.fetches
    );
    assert!(
        r.mock_requests <= r.fetches * u64::from(RETRIES + 1) + 1,
        "retries bounded"
    );
    assert!(
        get(&counts.requests) > r.fetches * 10,
        "fetches are not per request"
    );
    // Nothing waits past the fetch timeout (per attempt, retries, backoff) plus slack.
    let worst = HTTP_TIMEOUT * (RETRIES + 1) + Duration::from_millis(1500);
    assert!(
        Duration::from_micros(get(&counts.max_latency_us)) < worst,
        "max latency {} ms",
        get(&counts.max_latency_us) / 1000
    );
    // Memory flat after warm-up: caches are bounded (1,000 tokens, one key set).
    assert!(
        r.rss_end_kib <= r.rss_warm_kib + 64 * 1024,
        "RSS grew {} KiB -> {} KiB",
        r.rss_warm_kib,
        r.rss_end_kib
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_short() {
    let (counts, report) = soak(Duration::from_secs(10), true).await;
    check(&counts, &report);
}

/// `SOAK_SECS=300 cargo test --release --all-features --test soak -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long soak: run explicitly (see the module docs)"]
async fn soak_long() {
    let secs = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let (counts, report) = soak(Duration::from_secs(secs), true).await;
    check(&counts, &report);
}
