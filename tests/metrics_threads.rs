//! Accepted cache hits counted on many threads at once, with `status()` reads racing them:
//! every hit is published exactly once. Alone in its binary: it installs the global recorder
//! (the runtime's worker threads do not see a test's local recorder).
#![cfg(feature = "metrics")]

mod common;

use common::{app, builder, send_token};
use http::StatusCode;
use jwks_auth::JwksAuthLayer;
use jwks_auth::metrics::REQUESTS;
use jwks_auth::testing::MockIdp;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

const REQUESTS_SENT: usize = 2_000;

#[test]
fn concurrent_hits_and_status_reads_publish_every_hit_exactly_once() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder in this binary");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let idp = MockIdp::start().await;
        let verifier = builder(&idp).build().expect("config");
        let app = app(JwksAuthLayer::new(verifier.clone()));
        let token = idp.token().subject("alice").sign();
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..REQUESTS_SENT {
            let (app, token, verifier) = (app.clone(), token.clone(), verifier.clone());
            requests.spawn(async move {
                assert_eq!(send_token(&app, &token).await.status, StatusCode::OK);
                // Status reads (each publishes every shard) racing the hits.
                if i % 97 == 0 {
                    let _ = verifier.status();
                }
            });
        }
        while let Some(done) = requests.join_next().await {
            done.expect("request task");
        }
        let _ = verifier.status();
        assert_eq!(idp.jwks_fetches(), 1);
    });
    // One snapshot: the debugging recorder hands each counter's value out once.
    let snapshot = snapshotter.snapshot().into_vec();
    let accepted = |cache: &str| -> u64 {
        snapshot
            .iter()
            .filter(|(key, _, _, _)| {
                let key = key.key();
                key.name() == REQUESTS
                    && key
                        .labels()
                        .any(|l| l.key() == "token_cache" && l.value() == cache)
                    && key
                        .labels()
                        .any(|l| l.key() == "outcome" && l.value() == "accepted")
            })
            .map(|(_, _, _, value)| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("not a counter: {other:?}"),
            })
            .sum()
    };
    let (hits, misses) = (accepted("hit"), accepted("miss"));
    assert!(
        misses >= 1,
        "the first requests verify the token in full: hits {hits}, misses {misses}"
    );
    assert_eq!(
        hits + misses,
        REQUESTS_SENT as u64,
        "hits {hits}, misses {misses}"
    );
}
