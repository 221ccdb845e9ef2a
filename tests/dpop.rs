//! DPoP (RFC 9449) through the layer, against the mock IdP: the negative matrix of issue 18,
//! each case asserting status and `WWW-Authenticate` (and `DPoP-Nonce` where relevant), and
//! the positive cases. Proof times run on a `ManualClock`; nothing sleeps.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use jwks_auth::sender::{Dpop, DpopBuilder, HtuOrigin};
use jwks_auth::testing::{DpopProver, MockIdp};
use jwks_auth::{AuthError, AuthReason, Clock, JwksAuthLayer, ManualClock, User};
use serde_json::json;
use tower::ServiceExt;

const ORIGIN: &str = "https://api.example.com";
const URL: &str = "https://api.example.com/orders";
/// The default algorithms, in the crate's fixed order.
const ALGS: &str = "RS256 PS256 ES256 ES384 ES512 EdDSA";

struct Api {
    idp: MockIdp,
    clock: ManualClock,
    app: Router,
}

/// Now, in seconds, on the system clock (what the mock stamps tokens and proofs with).
fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits")
}

/// `/orders` behind a layer with `dpop` (built on a manual clock standing at now).
async fn api_with(configure: impl FnOnce(DpopBuilder) -> DpopBuilder) -> Api {
    let idp = MockIdp::start().await;
    let clock = ManualClock::at_unix(unix_now());
    let dpop = configure(Dpop::required(HtuOrigin::fixed(ORIGIN)).clock(clock.clone()))
        .build()
        .expect("config");
    let verifier = common::builder(&idp).build().expect("config");
    let app = Router::new()
        .route(
            "/orders",
            get(|user: User| async move { user.sub().unwrap_or("").to_owned() })
                .post(|| async { "posted" }),
        )
        .layer(JwksAuthLayer::new(verifier).dpop(dpop));
    Api { idp, clock, app }
}

async fn api() -> Api {
    api_with(|b| b).await
}

impl Api {
    fn now(&self) -> i64 {
        self.clock.now_millis() / 1000
    }
}

/// Sends `GET /orders` with `Authorization: <scheme> <token>` and the proofs.
async fn send(app: &Router, method: &str, scheme: &str, token: &str, proofs: &[&str]) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri("/orders?page=2")
        .header("authorization", format!("{scheme} {token}"));
    for proof in proofs {
        request = request.header("dpop", *proof);
    }
    reply(app, request.body(Body::empty()).expect("request")).await
}

struct Reply {
    status: StatusCode,
    challenges: Vec<String>,
    nonce: Option<String>,
    retry_after: Option<String>,
    reason: Option<AuthReason>,
}

async fn reply(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let text = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    Reply {
        status: response.status(),
        challenges: response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .collect(),
        nonce: text("dpop-nonce"),
        retry_after: text("retry-after"),
        reason: response
            .extensions()
            .get::<AuthError>()
            .map(AuthError::reason),
    }
}

impl Reply {
    #[track_caller]
    fn assert_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.challenges);
    }

    /// A 401 with exactly one challenge: `DPoP error="<error>", error_description="<the
    /// reason's text>", algs="..."`.
    #[track_caller]
    fn assert_dpop_refusal(&self, reason: AuthReason, error: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED);
        assert_eq!(self.reason, Some(reason));
        let expected = format!(
            r#"DPoP error="{error}", error_description="{}", algs="{ALGS}""#,
            reason.description()
        );
        assert_eq!(self.challenges, [expected]);
    }

    #[track_caller]
    fn assert_invalid_proof(&self, reason: AuthReason) {
        self.assert_dpop_refusal(reason, "invalid_dpop_proof");
        assert_eq!(self.nonce, None);
    }
}

#[tokio::test]
async fn valid_es256_and_eddsa_proofs_are_accepted() {
    let api = api().await;
    for client in [DpopProver::es256(), DpopProver::ed25519()] {
        let token = api.idp.token().subject("alice").dpop_bound(&client).sign();
        // The request has a query; htu names the URL without it.
        let proof = client.proof("GET", URL, &token);
        send(&api.app, "GET", "DPoP", &token, &[&proof])
            .await
            .assert_ok();
        // `dpop` as the scheme, any case (RFC 9110 auth-schemes are case-insensitive).
        let proof = client.proof("POST", URL, &token);
        send(&api.app, "POST", "dpop", &token, &[&proof])
            .await
            .assert_ok();
    }
}

#[tokio::test]
async fn missing_or_duplicated_proof_is_refused() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    send(&api.app, "GET", "DPoP", &token, &[])
        .await
        .assert_invalid_proof(AuthReason::DpopProofMissing);
    let (a, b) = (
        client.proof("GET", URL, &token),
        client.proof("GET", URL, &token),
    );
    send(&api.app, "GET", "DPoP", &token, &[&a, &b])
        .await
        .assert_invalid_proof(AuthReason::SeveralDpopProofs);
    send(&api.app, "GET", "DPoP", &token, &["not-a-jwt"])
        .await
        .assert_invalid_proof(AuthReason::MalformedDpopProof);
}

#[tokio::test]
async fn proofs_missing_claims_or_with_crit_or_oversized_are_malformed() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let proof = || client.proof_for("GET", URL).access_token(&token);
    let cases = [
        proof().remove_claim("jti").sign(),
        proof().remove_claim("htm").sign(),
        proof().remove_claim("htu").sign(),
        proof().remove_claim("iat").sign(),
        proof().iat(-1).sign(),
        proof().claim("iat", json!("now")).sign(),
        proof().jti("").sign(),
        proof().jti(&"j".repeat(257)).sign(),
        proof().claim("htm", json!(["GET"])).sign(),
        proof().header("crit", json!(["exp"])).sign(),
        proof().header("b64", json!(false)).sign(),
        proof().claim("pad", json!("x".repeat(9 * 1024))).sign(),
    ];
    for case in cases {
        send(&api.app, "GET", "DPoP", &token, &[&case])
            .await
            .assert_invalid_proof(AuthReason::MalformedDpopProof);
    }
    // The longest jti accepted.
    let long = proof().jti(&"j".repeat(256)).sign();
    send(&api.app, "GET", "DPoP", &token, &[&long])
        .await
        .assert_ok();
}

#[tokio::test]
async fn proof_for_another_method_or_url_is_refused() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let post = client.proof("POST", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&post])
        .await
        .assert_invalid_proof(AuthReason::DpopMethodMismatch);
    for other in [
        "https://api.example.com/orders/1",
        "https://other.example.com/orders",
        "http://api.example.com/orders",
        "https://api.example.com:8443/orders",
    ] {
        let proof = client.proof("GET", other, &token);
        send(&api.app, "GET", "DPoP", &token, &[&proof])
            .await
            .assert_invalid_proof(AuthReason::DpopUrlMismatch);
    }
    // RFC 3986 normalisation: case of scheme and host, default port, escapes of unreserved
    // characters, a query or fragment in htu.
    let proof = client.proof("GET", "HTTPS://API.example.com:443/%6Frders?x#y", &token);
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
}

#[tokio::test]
async fn iat_window_bounds_are_exact() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let now = api.now();
    let at = |iat: i64| {
        client
            .proof_for("GET", URL)
            .access_token(&token)
            .iat(iat)
            .sign()
    };
    // Default window: 60 s old to 5 s ahead, inclusive.
    send(&api.app, "GET", "DPoP", &token, &[&at(now - 61)])
        .await
        .assert_invalid_proof(AuthReason::DpopProofTime);
    send(&api.app, "GET", "DPoP", &token, &[&at(now + 6)])
        .await
        .assert_invalid_proof(AuthReason::DpopProofTime);
    send(&api.app, "GET", "DPoP", &token, &[&at(now - 60)])
        .await
        .assert_ok();
    send(&api.app, "GET", "DPoP", &token, &[&at(now + 5)])
        .await
        .assert_ok();
    // A proof good now is stale once the clock has moved on.
    let proof = at(now);
    api.clock.advance(Duration::from_secs(61));
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopProofTime);
}

/// A proof is remembered for as long as its `iat` passes, to the millisecond: one stamped at
/// the future edge (`now + 5 s`) still passes 65 s later, so its replay then is refused.
#[tokio::test]
async fn a_replay_at_the_last_moment_of_the_iat_window_is_refused() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let edge = client
        .proof_for("GET", URL)
        .access_token(&token)
        .iat(api.now() + 5)
        .sign();
    send(&api.app, "GET", "DPoP", &token, &[&edge])
        .await
        .assert_ok();
    api.clock.advance(Duration::from_secs(65));
    send(&api.app, "GET", "DPoP", &token, &[&edge])
        .await
        .assert_invalid_proof(AuthReason::DpopProofReplayed);
    api.clock.advance(Duration::from_millis(1));
    send(&api.app, "GET", "DPoP", &token, &[&edge])
        .await
        .assert_invalid_proof(AuthReason::DpopProofTime);
}

#[tokio::test]
async fn replayed_proof_is_refused_even_for_a_cached_token() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let proof = client.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
    // The token is now in the verified-token cache; its proof is checked all the same.
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopProofReplayed);
    send(&api.app, "GET", "DPoP", &token, &[])
        .await
        .assert_invalid_proof(AuthReason::DpopProofMissing);
    let fresh = client.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&fresh])
        .await
        .assert_ok();
}

#[tokio::test]
async fn wrong_ath_or_another_key_is_refused() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let other_token = api.idp.token().subject("other").dpop_bound(&client).sign();
    let proof = client.proof("GET", URL, &other_token);
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopAccessTokenHash);
    let no_ath = client.proof_for("GET", URL).sign();
    send(&api.app, "GET", "DPoP", &token, &[&no_ath])
        .await
        .assert_invalid_proof(AuthReason::DpopAccessTokenHash);
    // A valid proof by a key the token is not bound to (cnf.jkt mismatch).
    let thief = DpopProver::es256();
    let proof = thief.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopKeyMismatch);
}

#[tokio::test]
async fn symmetric_unsigned_and_disallowed_algorithms_are_refused() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let proof = || client.proof_for("GET", URL).access_token(&token);
    let hs256 = proof().sign_hs256(b"a shared secret that is long enough");
    send(&api.app, "GET", "DPoP", &token, &[&hs256])
        .await
        .assert_invalid_proof(AuthReason::DpopAlgorithmNotAllowed);
    for unsigned in [
        proof().unsigned(),
        proof().header("alg", json!("NoNe")).unsigned(),
    ] {
        send(&api.app, "GET", "DPoP", &token, &[&unsigned])
            .await
            .assert_invalid_proof(AuthReason::DpopAlgorithmNotAllowed);
    }
    // ES256 allowed by the layer but a header claiming ES384 for a P-256 key.
    let lying = proof().header("alg", json!("ES384")).sign();
    send(&api.app, "GET", "DPoP", &token, &[&lying])
        .await
        .assert_invalid_proof(AuthReason::DpopProofKey);
    // A signature that does not verify.
    let mut forged = proof().sign();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    send(&api.app, "GET", "DPoP", &token, &[&forged])
        .await
        .assert_invalid_proof(AuthReason::DpopProofSignature);

    // A layer allowing only EdDSA refuses an ES256 proof.
    let eddsa_only = api_with(|b| b.algorithms([jwks_auth::Algorithm::EdDSA])).await;
    let token = eddsa_only.idp.token().dpop_bound(&client).sign();
    let proof = client.proof("GET", URL, &token);
    let r = send(&eddsa_only.app, "GET", "DPoP", &token, &[&proof]).await;
    assert_eq!(r.reason, Some(AuthReason::DpopAlgorithmNotAllowed));
    assert_eq!(
        r.challenges,
        [format!(
            r#"DPoP error="invalid_dpop_proof", error_description="{}", algs="EdDSA""#,
            AuthReason::DpopAlgorithmNotAllowed.description()
        )]
    );
}

#[tokio::test]
async fn private_key_in_proof_or_wrong_typ_is_refused() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let mut private = client.public_jwk().clone();
    private["d"] = json!("c2VjcmV0IHNjYWxhcg");
    let proof = client
        .proof_for("GET", URL)
        .access_token(&token)
        .header("jwk", private)
        .sign();
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopProofKey);
    let no_jwk = client
        .proof_for("GET", URL)
        .access_token(&token)
        .header("jwk", json!("not an object"))
        .sign();
    send(&api.app, "GET", "DPoP", &token, &[&no_jwk])
        .await
        .assert_invalid_proof(AuthReason::DpopProofKey);
    for typ in [json!("JWT"), json!("at+jwt"), json!(null)] {
        let proof = client
            .proof_for("GET", URL)
            .access_token(&token)
            .header("typ", typ)
            .sign();
        send(&api.app, "GET", "DPoP", &token, &[&proof])
            .await
            .assert_invalid_proof(AuthReason::DpopProofType);
    }
}

#[tokio::test]
async fn nonce_required_then_accepted_then_stale() {
    let secret = [42u8; 32];
    let api = api_with(|b| {
        b.nonce_secret(secret)
            .nonce_lifetime(Duration::from_secs(30))
    })
    .await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let proof = client.proof("GET", URL, &token);
    let first = send(&api.app, "GET", "DPoP", &token, &[&proof]).await;
    first.assert_dpop_refusal(AuthReason::DpopNonceRequired, "use_dpop_nonce");
    let nonce = first.nonce.expect("DPoP-Nonce on use_dpop_nonce");
    let with_nonce = |nonce: &str| {
        client
            .proof_for("GET", URL)
            .access_token(&token)
            .nonce(nonce)
            .sign()
    };
    send(&api.app, "GET", "DPoP", &token, &[&with_nonce(&nonce)])
        .await
        .assert_ok();
    let forged = send(&api.app, "GET", "DPoP", &token, &[&with_nonce("AAAA")]).await;
    forged.assert_dpop_refusal(AuthReason::DpopNonceRequired, "use_dpop_nonce");
    // Two lifetimes later the nonce is stale: refused, with a new one.
    api.clock.advance(Duration::from_secs(60));
    let stale = send(&api.app, "GET", "DPoP", &token, &[&with_nonce(&nonce)]).await;
    stale.assert_dpop_refusal(AuthReason::DpopNonceRequired, "use_dpop_nonce");
    let renewed = stale.nonce.expect("a fresh nonce");
    assert_ne!(renewed, nonce);
    // (The clock moved past the proofs' default iat: stamp them with the manual time.)
    let proof = client
        .proof_for("GET", URL)
        .access_token(&token)
        .nonce(&renewed)
        .iat(api.now())
        .sign();
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
}

#[tokio::test]
async fn bound_token_as_bearer_and_unbound_token_as_dpop_are_refused() {
    let api = api_with(|_| Dpop::allowed(HtuOrigin::fixed(ORIGIN))).await;
    let client = DpopProver::es256();
    let bound = api.idp.token().dpop_bound(&client).sign();
    let r = send(&api.app, "GET", "Bearer", &bound, &[]).await;
    r.assert_dpop_refusal(AuthReason::DpopBoundTokenAsBearer, "invalid_token");
    // Even with a valid proof alongside: the Bearer scheme makes it a bearer token.
    let proof = client.proof("GET", URL, &bound);
    let r = send(&api.app, "GET", "Bearer", &bound, &[&proof]).await;
    r.assert_dpop_refusal(AuthReason::DpopBoundTokenAsBearer, "invalid_token");
    let unbound = api.idp.token().sign();
    let proof = client.proof("GET", URL, &unbound);
    let r = send(&api.app, "GET", "DPoP", &unbound, &[&proof]).await;
    r.assert_dpop_refusal(AuthReason::DpopTokenNotBound, "invalid_token");
    // Allowed mode: an unbound bearer token passes.
    send(&api.app, "GET", "Bearer", &unbound, &[])
        .await
        .assert_ok();
}

#[tokio::test]
async fn allowed_mode_challenges_both_schemes() {
    let api = api_with(|_| Dpop::allowed(HtuOrigin::fixed(ORIGIN))).await;
    let request = Request::get("/orders")
        .body(Body::empty())
        .expect("request");
    let r = reply(&api.app, request).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.challenges,
        ["Bearer".to_owned(), format!(r#"DPoP algs="{ALGS}""#)]
    );
    // An expired token: the error goes on the challenge of the scheme the client used.
    let expired = api.idp.token().expires_in(-600).sign();
    let r = send(&api.app, "GET", "Bearer", &expired, &[]).await;
    assert_eq!(
        r.challenges,
        [
            r#"Bearer error="invalid_token", error_description="token expired""#.to_owned(),
            format!(r#"DPoP algs="{ALGS}""#)
        ]
    );
    let r = send(&api.app, "GET", "DPoP", &expired, &[]).await;
    assert_eq!(
        r.challenges,
        [
            "Bearer".to_owned(),
            format!(
                r#"DPoP error="invalid_token", error_description="token expired", algs="{ALGS}""#
            )
        ]
    );
}

#[tokio::test]
async fn required_mode_refuses_bearer_tokens_with_a_dpop_challenge() {
    let api = api().await;
    let token = api.idp.token().sign();
    send(&api.app, "GET", "Bearer", &token, &[])
        .await
        .assert_dpop_refusal(AuthReason::DpopRequired, "invalid_token");
    let request = Request::get("/orders")
        .body(Body::empty())
        .expect("request");
    let r = reply(&api.app, request).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.challenges, [format!(r#"DPoP algs="{ALGS}""#)]);
}

#[tokio::test]
async fn a_layer_without_dpop_refuses_dpop_bound_tokens() {
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp).build().expect("config");
    let app = Router::new()
        .route("/orders", get(|| async { "ok" }))
        .layer(JwksAuthLayer::new(verifier));
    let client = DpopProver::es256();
    let bound = idp.token().dpop_bound(&client).sign();
    // The first request finds no keys yet: it goes through the layer's asynchronous arm.
    let r = send(&app, "GET", "Bearer", &bound, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.reason, Some(AuthReason::DpopBoundTokenAsBearer));
    let description = AuthReason::DpopBoundTokenAsBearer.description();
    assert_eq!(
        r.challenges,
        [format!(
            r#"Bearer error="invalid_token", error_description="{description}""#
        )]
    );
    // The synchronous arm (keys cached), and the token cached as verified, refuse it too.
    let r = send(&app, "GET", "Bearer", &bound, &[]).await;
    assert_eq!(r.reason, Some(AuthReason::DpopBoundTokenAsBearer));
    // Without DPoP enabled, the DPoP scheme is another scheme: no token.
    let proof = client.proof("GET", URL, &bound);
    let r = send(&app, "GET", "DPoP", &bound, &[&proof]).await;
    assert_eq!(
        (r.status, r.challenges.as_slice()),
        (StatusCode::UNAUTHORIZED, &["Bearer".to_owned()][..])
    );
}

#[tokio::test]
async fn the_first_request_on_cold_keys_is_checked_too() {
    // Each `api()` starts with no keys fetched: its first request takes the async arm.
    let cold = api().await;
    let client = DpopProver::es256();
    let token = cold.idp.token().dpop_bound(&client).sign();
    let post = client.proof("POST", URL, &token);
    send(&cold.app, "GET", "DPoP", &token, &[&post])
        .await
        .assert_invalid_proof(AuthReason::DpopMethodMismatch);
    let api = api().await;
    let token = api.idp.token().dpop_bound(&client).sign();
    let proof = client.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
}

/// The token is verified before its proof: a request whose token does not verify costs no
/// proof key parsing or signature check, and is refused for its token (`invalid_token`), not
/// for its proof, whatever the proof is.
#[tokio::test]
async fn a_bad_token_is_refused_before_its_proof_is_looked_at() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let (head, signature) = token.rsplit_once('.').expect("three segments");
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{head}.{flipped}{}", &signature[1..]);
    let expected = format!(
        r#"DPoP error="invalid_token", error_description="{}", algs="{ALGS}""#,
        AuthReason::InvalidSignature.description()
    );
    for proof in [
        client.proof("GET", URL, &forged),
        "not-a-jwt".to_owned(),
        client
            .proof_for("GET", URL)
            .access_token(&forged)
            .sign_hs256(b"secret"),
    ] {
        let reply = send(&api.app, "GET", "DPoP", &forged, &[&proof]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.reason, Some(AuthReason::InvalidSignature));
        assert_eq!(reply.challenges, [expected.as_str()]);
    }
    // The good token with a good proof still passes: nothing above took a replay-cache place
    // or changed the layer's state.
    send(
        &api.app,
        "GET",
        "DPoP",
        &token,
        &[&client.proof("GET", URL, &token)],
    )
    .await
    .assert_ok();
}

#[tokio::test]
async fn a_full_replay_cache_refuses_new_proofs_until_entries_expire() {
    let api = api_with(|b| b.replay_capacity(2)).await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let first = client.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&first])
        .await
        .assert_ok();
    let second = client.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&second])
        .await
        .assert_ok();
    // The third distinct proof while two are remembered: 503, retry when the oldest expires
    // (60 s + 5 s after it was seen), never a silent eviction.
    let third = client.proof("GET", URL, &token);
    let full = send(&api.app, "GET", "DPoP", &token, &[&third]).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(full.reason, Some(AuthReason::DpopReplayCacheFull));
    assert_eq!(full.retry_after.as_deref(), Some("65"));
    assert!(full.challenges.is_empty(), "{:?}", full.challenges);
    // Remembered proofs are still replays.
    send(&api.app, "GET", "DPoP", &token, &[&first])
        .await
        .assert_invalid_proof(AuthReason::DpopProofReplayed);
    api.clock.advance(Duration::from_secs(65));
    let later = client
        .proof_for("GET", URL)
        .access_token(&token)
        .iat(api.now())
        .sign();
    send(&api.app, "GET", "DPoP", &token, &[&later])
        .await
        .assert_ok();
}

#[tokio::test]
async fn grpc_requests_get_the_dpop_challenge_as_metadata() {
    let api = api().await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let request = Request::get("/orders")
        .header("content-type", "application/grpc")
        .header("authorization", format!("DPoP {token}"))
        .body(Body::empty())
        .expect("request");
    let r = reply(&api.app, request).await;
    assert_eq!(r.status, StatusCode::OK, "gRPC refusals are HTTP 200");
    assert_eq!(r.reason, Some(AuthReason::DpopProofMissing));
    assert_eq!(
        r.challenges,
        [format!(
            r#"DPoP error="invalid_dpop_proof", error_description="missing DPoP proof", algs="{ALGS}""#
        )]
    );
}

#[tokio::test]
async fn htu_from_the_host_header() {
    let api = api_with(|_| Dpop::required(HtuOrigin::from_host("https"))).await;
    let client = DpopProver::es256();
    let token = api.idp.token().dpop_bound(&client).sign();
    let request = |host: &str, proof: &str| {
        Request::get("/orders")
            .header("host", host)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .body(Body::empty())
            .expect("request")
    };
    let proof = client.proof("GET", "https://tenant-a.example.com/orders", &token);
    reply(&api.app, request("tenant-a.example.com", &proof))
        .await
        .assert_ok();
    let proof = client.proof("GET", "https://tenant-a.example.com/orders", &token);
    reply(&api.app, request("tenant-b.example.com", &proof))
        .await
        .assert_invalid_proof(AuthReason::DpopUrlMismatch);
    // A `Host` cannot put a path or a fragment in front of the request's path: a proof for
    // `/admin/orders` or for `/` is not one for `/orders`.
    for (host, htu) in [
        (
            "tenant-a.example.com/admin",
            "https://tenant-a.example.com/admin/orders",
        ),
        ("tenant-a.example.com#", "https://tenant-a.example.com/"),
        (
            "tenant-a.example.com\\admin",
            "https://tenant-a.example.com/admin/orders",
        ),
    ] {
        let proof = client.proof("GET", htu, &token);
        reply(&api.app, request(host, &proof))
            .await
            .assert_invalid_proof(AuthReason::DpopUrlMismatch);
    }
}

/// Layers built from clones of one `Dpop` share its replay cache: a proof used on one is a
/// replay on the other. A `Dpop` built separately (another process, another replica) has a
/// cache of its own: the same proof passes there once (the documented per-process limit).
#[tokio::test]
async fn replays_are_caught_across_layers_sharing_one_dpop_only() {
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp).build().expect("config");
    let dpop = || {
        Dpop::required(HtuOrigin::fixed(ORIGIN))
            .build()
            .expect("config")
    };
    let app = |dpop: Dpop| {
        Router::new()
            .route("/orders", get(|| async { "orders" }))
            .layer(JwksAuthLayer::new(verifier.clone()).dpop(dpop))
    };
    let shared = dpop();
    let (first, second, separate) = (app(shared.clone()), app(shared), app(dpop()));
    let client = DpopProver::es256();
    let token = idp.token().dpop_bound(&client).sign();
    let proof = client.proof("GET", URL, &token);
    send(&first, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
    send(&second, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopProofReplayed);
    send(&separate, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
    send(&separate, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopProofReplayed);
}

#[tokio::test]
async fn dpop_can_differ_per_route_with_merged_routers() {
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp).build().expect("config");
    let dpop = Dpop::required(HtuOrigin::fixed(ORIGIN))
        .build()
        .expect("config");
    let payments = Router::new()
        .route("/orders", get(|| async { "dpop" }))
        .layer(JwksAuthLayer::new(verifier.clone()).dpop(dpop));
    let app = Router::new()
        .route("/profile", get(|| async { "bearer" }))
        .layer(JwksAuthLayer::new(verifier))
        .merge(payments);
    let token = idp.token().sign();
    let profile = Request::get("/profile")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    reply(&app, profile).await.assert_ok();
    send(&app, "GET", "Bearer", &token, &[])
        .await
        .assert_dpop_refusal(AuthReason::DpopRequired, "invalid_token");
    let client = DpopProver::es256();
    let bound = idp.token().dpop_bound(&client).sign();
    let proof = client.proof("GET", URL, &bound);
    send(&app, "GET", "DPoP", &bound, &[&proof])
        .await
        .assert_ok();
}

#[tokio::test]
async fn introspected_opaque_tokens_with_cnf_are_bound_too() {
    use jwks_auth::introspection::{ClientAuth, Introspection};
    use jwks_auth::testing::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET};
    // RFC 9449 section 6.2: an introspection answer carries the binding as `cnf.jkt`.
    let idp = MockIdp::start().await;
    let introspection = Introspection::builder()
        .endpoint(idp.introspection_url())
        .client_auth(ClientAuth::client_secret_basic(
            INTROSPECTION_CLIENT_ID,
            INTROSPECTION_CLIENT_SECRET,
        ))
        .build()
        .expect("introspection");
    let verifier = common::builder(&idp)
        .introspection(introspection)
        .build()
        .expect("config");
    let dpop = Dpop::allowed(HtuOrigin::fixed(ORIGIN))
        .build()
        .expect("config");
    let app = Router::new()
        .route("/orders", get(|| async { "ok" }))
        .layer(JwksAuthLayer::new(verifier).dpop(dpop));
    let client = DpopProver::es256();
    let token = idp
        .opaque_token()
        .claim("cnf", json!({ "jkt": client.thumbprint() }))
        .issue();
    let proof = client.proof("GET", URL, &token);
    send(&app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
    send(&app, "GET", "Bearer", &token, &[])
        .await
        .assert_dpop_refusal(AuthReason::DpopBoundTokenAsBearer, "invalid_token");
    let thief = DpopProver::es256();
    let proof = thief.proof("GET", URL, &token);
    send(&app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopKeyMismatch);
}

#[tokio::test]
async fn a_cnf_the_layer_cannot_check_is_refused_for_introspected_tokens_too() {
    use jwks_auth::introspection::{ClientAuth, Introspection};
    use jwks_auth::testing::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET};
    let idp = MockIdp::start().await;
    let introspection = Introspection::builder()
        .endpoint(idp.introspection_url())
        .client_auth(ClientAuth::client_secret_basic(
            INTROSPECTION_CLIENT_ID,
            INTROSPECTION_CLIENT_SECRET,
        ))
        .build()
        .expect("introspection");
    let verifier = common::builder(&idp)
        .introspection(introspection)
        .build()
        .expect("config");
    let dpop = Dpop::allowed(HtuOrigin::fixed(ORIGIN))
        .build()
        .expect("config");
    let app = Router::new()
        .route("/orders", get(|| async { "ok" }))
        .layer(JwksAuthLayer::new(verifier).dpop(dpop));
    let client = DpopProver::es256();
    let bearer_challenge = |reason: AuthReason| {
        format!(
            r#"Bearer error="invalid_token", error_description="{}""#,
            reason.description()
        )
    };
    for (cnf, reason) in [
        (
            json!({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}),
            AuthReason::UnsupportedConfirmation,
        ),
        (
            json!({"x5t": "c2hhMQ"}),
            AuthReason::UnsupportedConfirmation,
        ),
        (json!(null), AuthReason::MalformedConfirmation),
        (json!({"jkt": 7}), AuthReason::MalformedConfirmation),
    ] {
        let token = idp.opaque_token().claim("cnf", cnf.clone()).issue();
        // Presented as a bearer token, and with a DPoP proof: refused either way, and
        // again once the introspection answer is cached.
        for _ in 0..2 {
            let r = send(&app, "GET", "Bearer", &token, &[]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{cnf}");
            assert_eq!(r.reason, Some(reason), "{cnf}");
            assert!(
                r.challenges.contains(&bearer_challenge(reason)),
                "{cnf}: {:?}",
                r.challenges
            );
            let proof = client.proof("GET", URL, &token);
            let r = send(&app, "GET", "DPoP", &token, &[&proof]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{cnf}");
            assert_eq!(r.reason, Some(reason), "{cnf}");
            assert!(!r.challenges.is_empty(), "{cnf}");
        }
    }
    assert_eq!(
        idp.introspection_calls(),
        4,
        "one call per token, then cached"
    );
}

#[tokio::test]
async fn a_jkt_next_to_a_member_the_layer_cannot_check_still_binds() {
    // The unknown member is ignored only because `jkt` is proven: the token stays
    // sender-constrained, never a bearer token.
    let api = api().await;
    let client = DpopProver::es256();
    let token = api
        .idp
        .token()
        .claim(
            "cnf",
            json!({ "jkt": client.thumbprint(), "kid": "client-key-1" }),
        )
        .sign();
    let proof = client.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_ok();
    send(&api.app, "GET", "Bearer", &token, &[])
        .await
        .assert_dpop_refusal(AuthReason::DpopBoundTokenAsBearer, "invalid_token");
    let thief = DpopProver::es256();
    let proof = thief.proof("GET", URL, &token);
    send(&api.app, "GET", "DPoP", &token, &[&proof])
        .await
        .assert_invalid_proof(AuthReason::DpopKeyMismatch);
}

#[tokio::test]
async fn per_route_scope_refusals_answer_in_the_dpop_scheme() {
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp).build().expect("config");
    let dpop = Dpop::allowed(HtuOrigin::fixed(ORIGIN))
        .build()
        .expect("config");
    let app = Router::new()
        .route(
            "/orders",
            get(|| async { "ok" }).route_layer(jwks_auth::Require::scope("orders:write")),
        )
        .layer(JwksAuthLayer::new(verifier).dpop(dpop));
    let client = DpopProver::es256();
    let token = idp
        .token()
        .claim("scope", json!("orders:read"))
        .dpop_bound(&client)
        .sign();
    let proof = client.proof("GET", URL, &token);
    let r = send(&app, "GET", "DPoP", &token, &[&proof]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.challenges,
        [format!(
            r#"DPoP scope="orders:write", error="insufficient_scope", error_description="insufficient scope", algs="{ALGS}""#
        )]
    );
    // A bearer token's 403 keeps the Bearer challenge.
    let bearer = idp.token().claim("scope", json!("orders:read")).sign();
    let r = send(&app, "GET", "Bearer", &bearer, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.challenges,
        [
            r#"Bearer scope="orders:write", error="insufficient_scope", error_description="insufficient scope""#
        ]
    );
}

#[tokio::test]
async fn htu_is_the_full_path_inside_a_nested_router() {
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp).build().expect("config");
    let dpop = Dpop::required(HtuOrigin::fixed(ORIGIN))
        .build()
        .expect("config");
    let inner = Router::new()
        .route("/orders", get(|| async { "ok" }))
        .layer(JwksAuthLayer::new(verifier).dpop(dpop));
    // The layer sees `/orders`; the client called (and signed) `/api/orders`.
    let app = Router::new().nest("/api", inner);
    let client = DpopProver::es256();
    let token = idp.token().dpop_bound(&client).sign();
    let request = |htu: &str| {
        Request::get("/api/orders")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", client.proof("GET", htu, &token))
            .body(Body::empty())
            .expect("request")
    };
    reply(&app, request("https://api.example.com/api/orders"))
        .await
        .assert_ok();
    reply(&app, request(URL))
        .await
        .assert_invalid_proof(AuthReason::DpopUrlMismatch);
}

#[tokio::test]
async fn htu_with_the_path_prefix_a_proxy_strips() {
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp).build().expect("config");
    // The client calls https://example.com/api/orders; the proxy sends `/orders` on.
    for prefix in ["https://example.com/api", "https://example.com/api/"] {
        let dpop = Dpop::required(HtuOrigin::fixed(prefix))
            .build()
            .expect("a path prefix is allowed");
        let app = Router::new()
            .route("/orders", get(|| async { "ok" }))
            .layer(JwksAuthLayer::new(verifier.clone()).dpop(dpop));
        let client = DpopProver::es256();
        let token = idp.token().dpop_bound(&client).sign();
        let request = |htu: &str| {
            Request::get("/orders")
                .header("authorization", format!("DPoP {token}"))
                .header("dpop", client.proof("GET", htu, &token))
                .body(Body::empty())
                .expect("request")
        };
        reply(&app, request("https://example.com/api/orders"))
            .await
            .assert_ok();
        for other in [
            "https://example.com/orders",
            "https://example.com/apiorders",
            "https://example.com/api/api/orders",
            "https://example.com/other/orders",
        ] {
            reply(&app, request(other))
                .await
                .assert_invalid_proof(AuthReason::DpopUrlMismatch);
        }
    }
    assert_eq!(idp.jwks_fetches(), 1, "one key-set fetch for all of them");
}

#[tokio::test]
async fn a_dot_segment_in_the_request_path_cannot_climb_out_of_the_prefix() {
    // The service behind `https://example.com/api` is reached directly (or through a proxy
    // that forwards dot segments) with `/../admin`: the client URL it stands for is
    // `https://example.com/api/admin` (the path resolved on its own, `..` stops at the
    // service's root), never `https://example.com/admin`, another service on the same origin
    // whose proofs must not be good here.
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp).build().expect("config");
    let dpop = Dpop::required(HtuOrigin::fixed("https://example.com/api"))
        .build()
        .expect("config");
    let app = Router::new()
        .fallback(|| async { "reached" })
        .layer(JwksAuthLayer::new(verifier).dpop(dpop));
    let client = DpopProver::es256();
    let token = idp.token().dpop_bound(&client).sign();
    let request = |path: &str, htu: &str| {
        Request::get(path)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", client.proof("GET", htu, &token))
            .body(Body::empty())
            .expect("request")
    };
    for path in [
        "/../admin",
        "/%2e%2e/admin",
        "/orders/../../admin",
        "/.%2E/admin",
    ] {
        reply(&app, request(path, "https://example.com/admin"))
            .await
            .assert_invalid_proof(AuthReason::DpopUrlMismatch);
        // The URL that path stands for under the prefix.
        reply(&app, request(path, "https://example.com/api/admin"))
            .await
            .assert_ok();
    }
    // An asterisk-form target (`OPTIONS *`) names no URL under the prefix.
    let star = Request::options("*")
        .header("authorization", format!("DPoP {token}"))
        .header(
            "dpop",
            client.proof("OPTIONS", "https://example.com/api*", &token),
        )
        .body(Body::empty())
        .expect("request");
    reply(&app, star)
        .await
        .assert_invalid_proof(AuthReason::DpopUrlMismatch);
    assert_eq!(idp.jwks_fetches(), 1, "one key-set fetch for all of them");
}

#[test]
fn configuration_mistakes_are_config_errors() {
    let origin = || HtuOrigin::fixed(ORIGIN);
    assert!(
        Dpop::required(HtuOrigin::fixed("api.example.com"))
            .build()
            .is_err()
    );
    for (origin, why) in [
        ("https://api.example.com/v1?x=1", "query"),
        ("https://api.example.com/#f", "fragment"),
        ("https://user@api.example.com", "user information"),
        ("ftp://api.example.com", "scheme"),
    ] {
        let error = Dpop::required(HtuOrigin::fixed(origin))
            .build()
            .unwrap_err();
        assert!(error.to_string().contains(why), "{origin}: {error}");
    }
    let hs = Dpop::required(origin()).algorithms([jwks_auth::Algorithm::HS256]);
    assert!(hs.build().is_err());
    assert!(Dpop::required(origin()).algorithms([]).build().is_err());
    assert!(Dpop::required(origin()).replay_capacity(0).build().is_err());
    assert!(
        Dpop::required(origin())
            .nonce_secret([1; 31])
            .build()
            .is_err()
    );
    let short = Dpop::required(origin())
        .nonce_secret([1; 32])
        .nonce_lifetime(Duration::from_millis(10));
    assert!(short.build().is_err());
    let error = Dpop::required(HtuOrigin::from_host("ftp"))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("https"), "{error}");
}
