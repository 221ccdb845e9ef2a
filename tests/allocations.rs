//! Heap allocations on the repeat-token path, counted with dhat's allocator (this binary's
//! global allocator, hence a file of its own with one test: a test running beside it would
//! be counted too). Counts, not time: the test holds on any machine.

use std::convert::Infallible;
use std::future::{Ready, ready};

use bytes::Bytes;
use futures_util::FutureExt;
use http::{Request, Response};
use http_body_util::Full;
use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithm, JwksAuthLayer, JwksVerifier, User, VerifiedToken};
use tower::{Layer, ServiceExt, service_fn};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// What a verified-token cache hit may allocate, per request: the request's extension map
/// (the map and its table: `http::Extensions` allocates both on the first insert) and one box
/// each for the `User` and the `VerifiedToken` put in it. Verification itself (extraction,
/// the cache lookup, the re-checks) allocates nothing.
const PER_HIT: u64 = 4;

const HITS: u64 = 1_000;

/// The response body: `Full<Bytes>` builds the layer's refusals from bytes; an empty one
/// allocates nothing.
type Body = Full<Bytes>;

fn inner(req: Request<()>) -> Ready<Result<Response<Body>, Infallible>> {
    // The inner service sees the user and the token, and allocates nothing itself.
    assert!(req.extensions().get::<User>().is_some());
    assert!(req.extensions().get::<VerifiedToken>().is_some());
    ready(Ok(Response::new(Body::new(Bytes::new()))))
}

#[test]
fn a_cache_hit_allocates_only_the_request_extensions() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // A current-thread runtime that runs only inside `block_on`: while the hits are counted,
    // no other task (the mock's server, a refresh) runs and allocates.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let idp = rt.block_on(MockIdp::start());
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()
        .expect("config");
    rt.block_on(verifier.refresh()).expect("keys");
    let service = JwksAuthLayer::new(verifier).layer(service_fn(
        inner as fn(Request<()>) -> Ready<Result<Response<Body>, Infallible>>,
    ));
    let token = idp.token().alg(Algorithm::RS256).expires_in(3600).sign();
    let request = Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("request");
    let call = |req: Request<()>| {
        service
            .clone()
            .oneshot(req)
            .now_or_never()
            .expect("a cache hit completes without waiting")
            .expect("infallible")
    };
    // The first request verifies and caches; the next ones are hits. Warm up past moka's
    // first housekeeping pass (after ~64 reads), which allocates its own structures once.
    for _ in 0..1_000 {
        assert_eq!(call(request.clone()).status(), 200);
    }
    // Built before counting: cloning a request allocates its header map.
    let requests: Vec<Request<()>> = (0..HITS).map(|_| request.clone()).collect();

    let before = dhat::HeapStats::get();
    for req in requests {
        assert_eq!(call(req).status(), 200);
    }
    let after = dhat::HeapStats::get();

    let allocations = after.total_blocks - before.total_blocks;
    assert!(
        allocations <= HITS * PER_HIT,
        "{allocations} allocations for {HITS} cache hits: more than {PER_HIT} a hit"
    );
    // And not fewer than the extensions need: the count is measuring the right thing.
    assert!(
        allocations >= HITS * 3,
        "{allocations} allocations for {HITS} hits"
    );
    drop(rt);
}
