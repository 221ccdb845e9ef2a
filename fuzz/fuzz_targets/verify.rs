//! The full verify path on arbitrary token strings, against a fixed key set and a fixed clock.
//!
//! Oracle: a token is accepted only if it is byte-identical to one of `fixtures/accept.txt`
//! (whose signing keys no longer exist), and every line of it is accepted.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use jwks_auth::{Algorithm, JwksVerifier, ManualClock};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;
const ISSUER: &str = "https://idp.example.test";
const HMAC_SECRET: &str = "fuzz-fixture-hmac-secret-0123456789abcdef";
const JWKS: &str = include_str!("../fixtures/jwks.json");
const ACCEPT: &str = include_str!("../fixtures/accept.txt");
const REFUSE: &str = include_str!("../fixtures/refuse.txt");

struct World {
    runtime: tokio::runtime::Runtime,
    single: JwksVerifier,
    multi: JwksVerifier,
    accept: Vec<&'static str>,
}

fn verifier(issuer: &str) -> JwksVerifier {
    JwksVerifier::builder()
        .static_jwks(JWKS)
        .issuer(issuer)
        .audience("fuzz-api")
        .algorithms(jwks_auth::Algorithms::ASYMMETRIC.union(Algorithm::HS256.into()))
        .hmac_secret(Some("hs-1"), HMAC_SECRET)
        .unknown_kid_cooldown(Duration::from_secs(30))
        .clock(ManualClock::at_unix(NOW))
        .build()
        .expect("fixture verifier")
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // The key cache bounds a request's wait for a fetch with a Tokio timer: like any
        // user's runtime, this one needs the time driver.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let single = verifier(ISSUER);
        let multi =
            JwksVerifier::multi_issuer([verifier(ISSUER), verifier("https://other.example.test")])
                .expect("multi");
        let accept: Vec<&'static str> = ACCEPT.lines().filter(|l| !l.is_empty()).collect();
        runtime.block_on(async {
            single.refresh().await.expect("static keys");
            multi.refresh().await.expect("static keys");
            // Nothing valid refused, nothing signed-but-invalid accepted.
            for t in &accept {
                single.verify(t).await.expect("a minted token verifies");
                multi
                    .verify(t)
                    .await
                    .expect("a minted token verifies (multi)");
            }
            for t in REFUSE.lines().filter(|l| !l.is_empty()) {
                assert!(
                    single.verify(t).await.is_err(),
                    "refuse.txt token accepted: {t}"
                );
                assert!(
                    multi.verify(t).await.is_err(),
                    "refuse.txt token accepted: {t}"
                );
            }
        });
        World {
            runtime,
            single,
            multi,
            accept,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (single, multi) = w
        .runtime
        .block_on(async { (w.single.verify(token).await, w.multi.verify(token).await) });
    let minted = w.accept.contains(&token);
    if single.is_ok() || multi.is_ok() {
        assert!(minted, "accepted a token that was never minted: {token:?}");
    }
    if minted {
        assert!(
            single.is_ok() && multi.is_ok(),
            "refused a minted token: {token:?}"
        );
    }
});
