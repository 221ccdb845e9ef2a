//! The issuer side end to end: key stores, rotating signer, publishing, failover.
//!
//! No sleeps (a `ManualClock` drives rotation, retention and expiry), no internet (servers
//! bind 127.0.0.1:0).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use jwks_auth::issuer::{
    ExportPolicy, FailoverSource, FileStore, IssuerError, JwksPublisher, KeyId, KeyKind,
    KeyMaterial, KeyRecord, KeyRing, KeySpec, KeyStore, LocalVerifier, MemoryStore, MintOptions,
    MirrorMode, MirroredStore, RotatingSigner, SigningKey, StoreKeys, StoredMaterial,
};
use jwks_auth::jwks::{BoxFuture, FetchError, Fetched, KeySource, Validators};
use jwks_auth::{Algorithm, AuthError, AuthErrorKind, JwksVerifier, ManualClock};
use serde_json::{Value, json};

const AUD: &str = "orders-api";
const T0: i64 = 1_700_000_000;

const RSA_PEM: &str = r"-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAr0qKF0YRd+z3b0GP4rj0L1Qqxk3xDmRXBeqRSvzfCaxr7FnA
xli8J1BubDSMLpeiXg+8CuqD9TdIDkHGiCUwbd2wUOu0UW+xBuStqt44w+md4Z1a
DhxY7ZqNG7ZD+tHCmHYDYBABb8Nkrbr2PcrwK3HRsF4kFYofJ9WCUVe1umeoWFjC
9TUS95aAVFxHWnD2q893CGrHpUfjzWXvs9xjM+Gm/91VZkEWnwxedvcQactJsF47
2Dc7dBFjd+xoV8caw/qWh221wwX4FqOiZFh+LHhhW5SOpkldXEFvQGQ3+Zj7Ew/Z
MQ1iZdhizMWiROKbc+sfQ42Ko090V+G5vitsOwIDAQABAoIBABwdGV64Ny8Dy3+F
hV04irlYh2+8qm/Deg2R3HGpcuArTjffAUMOkka/6KXkG6ORYFIztdYOXNGkZyMa
O4w0YrsMNi4UT5xMDJltbckc0P/i5RZ9VSc0NrMM+Zq7NdXxdINdUhdDGefh77DJ
bprkhHaDT704rBLkTzDlVnxTU+ssVrd7liFBl0sodRoP0fYTiG5QmUZpBy8vYSQJ
uw1PVnK+k/6skAvXdQCLkeNyjpPHu0Xq1vKrx5CiCZNITP4lwCvn/zLmNjkseAJ2
p/c2/7Dyzee1vT/SUIXB3MbKpUcaUsXj8g6JaFvli4xfNypZwZKQyzCZcmMeVxs4
VXN/HbECgYEA5Hv5NisINw07E+BSkftQIWNrn2O/0qLPqQDLHaNdSHfyfFNrzQmb
XkVAlSlVAcwTbU6U2fgsg/YzefImiee8NBFQDSpHv/A3hNMJbLWnFqsYoJ57V/9h
IilLkdgR8i36Sy2LwdC/HPtx543IjPdaGOh54oYhD5CzT+Cqop97ZqkCgYEAxGan
8ZnJq5myrs8nTL4/oWKSRhhMzw8F+GumHooeOXG/N5mm4LzpgU6zTG64okybaZQ5
WPkV/NJRG7xVBgEcHNkxPnL18+PWoRQLWsdj6FjPZtrFpqYjblHCutTKS2c8iac+
+MxiRP6CELemtKvKaul+fhmw5T+mV4Z/68ux3kMCgYBLoC0wnLWvYxW20n0CDKjN
JFcu/pkzYuhRDA4u1S+/GNSOCh6YUyG15j4mIPQeECot9+CU9OvnEcqgBmJzKtzE
byaL9P6irSPzNtbbwJR5kFAqecphqgnAgOKed2IZQtaho4WqtSlMsn1VIzzKS+Tq
cahGLhcrS73OJpLUGO2DYQKBgBlXRYQe266QfkWf5Oo6AevI1CbHK+HrhlGvUhfO
qmevDYUXBjkpJtfQV8Ic5yXJzKOqxFt+iB++40g43J+RtRbjzz7HhoSZeS//bheg
cnugOeKDh80g0qGBWybQHenswBriwXVIqcVNMWsGxzO4lr2EsxWCKxjpRYU1jXvX
JHQRAoGBAITJ6imRLfTiaeY2SXpiMoIU9S+Ti7X3EvDUv0NRNFNSFgLlN/XwsmLw
w2UlMPI33WEQmWljw00Ztlnii/XIPFpREXFPcLd8mnbfGjA2l0ojWsGFY+xfmeLW
8NUEK4eSiBPyRirjkp13vA3v7cEPQqunj3Uma9HO1ufZLqbJicfr
-----END RSA PRIVATE KEY-----
";
const EC_PEM: &str = r"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKUtXRpj995fUlscz
VsfbgmhQhOJUeKt+pEEY5IsgLjKhRANCAASMcAhpu/zbOrPMQyJtMxwLMMq3m5I8
d1/+/yLt2UBaMlscYyt7a7wsdyIckvPi1Wiftfs+yRJ1LbLPaK/2jV1h
-----END PRIVATE KEY-----
";
const ED_PEM: &str = r"-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEWyQgcE9Z6X/x07cHu2cDsYLviCpRu1UZxwy+G1sR+t
-----END PRIVATE KEY-----
";

/// A listener on 127.0.0.1 and its base URL (used as the issuer).
async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn serve(listener: tokio::net::TcpListener, router: Router) {
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

fn memory(clock: &ManualClock) -> KeyRing {
    KeyRing::new(MemoryStore::new()).with_clock(clock.clone())
}

/// A remote verifier of `issuer`'s JWKS, fetched over HTTP and cached for 48 h.
fn remote_verifier(issuer: &str, clock: &ManualClock, leeway: Duration) -> JwksVerifier {
    JwksVerifier::builder()
        .jwks_url(format!("{issuer}/.well-known/jwks.json"))
        .issuer(issuer)
        .audience(AUD)
        .leeway(leeway)
        .ttl_bounds(
            Duration::from_secs(48 * 3600),
            Duration::from_secs(48 * 3600),
        )
        .cache_ttl(Duration::from_secs(48 * 3600))
        .unknown_kid_cooldown(Duration::from_secs(1))
        .versioned_kids(true)
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn header(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn refused(result: Result<jwks_auth::User, AuthError>, description: &str) {
    let err = result.expect_err("token must be refused");
    assert_eq!(err.kind(), AuthErrorKind::InvalidToken);
    assert_eq!(err.description(), description);
}

async fn published_kids(issuer: &str) -> Vec<String> {
    let doc: Value = reqwest::get(format!("{issuer}/.well-known/jwks.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A token with any kid, signed by `material` (to forge "other version" tokens).
fn hand_signed(kid: &str, alg: Algorithm, material: &KeyMaterial, claims: Value) -> String {
    let Value::Object(claims) = claims else {
        panic!()
    };
    SigningKey::new(kid, alg, material)
        .unwrap()
        .sign(&claims)
        .unwrap()
}

fn secret_of(store: &KeyRing, kid: &KeyId) -> KeyMaterial {
    match store.export_key(kid).unwrap().material {
        StoredMaterial::Private(m) => m,
        _ => panic!("no private key"),
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let suffix: String = jwks_auth::issuer::random_bytes(6)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self(std::env::temp_dir().join(format!("jwks-auth-{name}-{suffix}")))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- round trips

#[tokio::test]
async fn every_asymmetric_algorithm_round_trips_mint_publish_remote_verify() {
    use Algorithm::*;
    for alg in [
        RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA,
    ] {
        let clock = ManualClock::at_unix(T0);
        let (listener, issuer) = bind().await;
        let signer = RotatingSigner::builder()
            .key_ring(memory(&clock))
            .key_id("sig")
            .algorithm(alg)
            .issuer(&issuer)
            .audience(AUD)
            .clock(clock.clone())
            .build()
            .unwrap();
        serve(
            listener,
            JwksPublisher::new(signer.key_source())
                .issuer(&issuer)
                .router(),
        );
        let token = signer
            .mint(&MintOptions::new().subject("alice").scope("orders:read"))
            .unwrap();
        assert_eq!(header(&token)["alg"], json!(alg), "{alg:?}");
        assert_eq!(header(&token)["kid"], "sig.1");

        let verifier = remote_verifier(&issuer, &clock, Duration::from_secs(30));
        let user = verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(user.sub(), Some("alice"));
        let c = user.claims();
        assert_eq!(c["iss"], issuer.as_str());
        assert_eq!(c["aud"], AUD);
        assert_eq!(c["scope"], "orders:read");
        assert_eq!(c["iat"], T0);
        assert_eq!(c["nbf"], T0);
        assert_eq!(c["exp"], T0 + 3600);

        // The published JWK is pinned to the signer's algorithm.
        let doc: Value = reqwest::get(format!("{issuer}/.well-known/jwks.json"))
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        assert_eq!(doc["keys"][0]["alg"], json!(alg));
        assert_eq!(doc["keys"][0]["use"], "sig");
        assert!(doc["keys"][0].get("d").is_none());
    }
}

#[tokio::test]
async fn hmac_tokens_verify_only_with_the_explicit_local_secret_and_are_never_published() {
    for (kind, alg) in [
        (KeyKind::Hmac256, Algorithm::HS256),
        (KeyKind::Hmac384, Algorithm::HS384),
        (KeyKind::Hmac512, Algorithm::HS512),
    ] {
        let store = KeyRing::new(MemoryStore::new());
        let signer = RotatingSigner::builder()
            .key_ring(store.clone())
            .key_kind(kind)
            .export_policy(ExportPolicy::SecretAllowed)
            .issuer("https://issuer.test")
            .audience(AUD)
            .build()
            .unwrap();
        assert_eq!(signer.algorithm(), alg);
        let token = signer.mint(&MintOptions::new().subject("svc")).unwrap();
        assert_eq!(header(&token)["alg"], json!(alg));

        // Nothing is published for an HMAC key.
        let Fetched::Document { body, .. } = signer.key_source().fetch(None).await.unwrap() else {
            panic!()
        };
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"keys": []})
        );
        assert!(matches!(
            store.public_jwk(&signer.current_kid()),
            Err(IssuerError::NoPublicKey { .. })
        ));

        // The secret, exported under its policy and given explicitly to the verifier,
        // verifies the token.
        let kid = signer.current_kid().to_string();
        let secret = secret_of(&store, &signer.current_kid());
        let k = secret.to_private_jwk(&kid, alg).unwrap()["k"]
            .as_str()
            .unwrap()
            .to_owned();
        let bytes = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(k)
                .unwrap()
        };
        let verifier = signer
            .verifier_builder()
            .audience(AUD)
            .algorithms(alg)
            .hmac_secret(Some(&kid), bytes)
            .build()
            .unwrap();
        assert_eq!(verifier.verify(&token).await.unwrap().sub(), Some("svc"));
        let local = LocalVerifier::new(&signer, verifier);
        assert_eq!(local.verify(&token).await.unwrap().sub(), Some("svc"));
        // Another secret does not verify it.
        let other = KeyMaterial::generate(kind).unwrap();
        let other_k = other.to_private_jwk(&kid, alg).unwrap()["k"]
            .as_str()
            .unwrap()
            .to_owned();
        let other_bytes = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(other_k)
                .unwrap()
        };
        let wrong = signer
            .verifier_builder()
            .audience(AUD)
            .algorithms(alg)
            .hmac_secret(Some(&kid), other_bytes)
            .build()
            .unwrap();
        refused(wrong.verify(&token).await, "invalid signature");
        // A verifier without a local secret never accepts HS* (no key confusion).
        let asymmetric = signer.verifier_builder().audience(AUD).build().unwrap();
        assert_eq!(
            asymmetric.verify(&token).await.unwrap_err().kind(),
            AuthErrorKind::InvalidToken
        );
    }
}

#[tokio::test]
async fn discovery_document_and_jwks_carry_etag_and_cache_control() {
    let clock = ManualClock::at_unix(T0);
    let (listener, issuer) = bind().await;
    let signer = RotatingSigner::builder()
        .key_ring(memory(&clock))
        .key_kind(KeyKind::Ed25519)
        .issuer(&issuer)
        .clock(clock.clone())
        .build()
        .unwrap();
    serve(
        listener,
        JwksPublisher::new(signer.key_source())
            .issuer(&issuer)
            .max_age(Duration::from_secs(120))
            .router(),
    );
    let http = reqwest::Client::new();
    let jwks_url = format!("{issuer}/.well-known/jwks.json");
    let first = http.get(&jwks_url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=120");
    assert_eq!(first.headers()["content-type"], "application/json");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));

    let again = http
        .get(&jwks_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());

    // A rotation changes the set, so the old tag no longer matches.
    signer.force_rotate().unwrap();
    let changed = http
        .get(&jwks_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());

    let discovery: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(discovery["jwks_uri"], jwks_url.as_str());
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
}

#[derive(Debug)]
struct FailingSource;

impl KeySource for FailingSource {
    fn fetch<'a>(
        &'a self,
        _: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(async { Err(FetchError::transient("primary is down")) })
    }
}

#[tokio::test]
async fn publisher_answers_503_when_its_source_fails() {
    let (listener, issuer) = bind().await;
    serve(listener, JwksPublisher::new(FailingSource).router());
    let response = reqwest::get(format!("{issuer}/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(response.headers()["cache-control"], "no-store");
    // Without an issuer there is no discovery document.
    let discovery = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(discovery.status(), 404);
}

// ---------------------------------------------------------------- rotation

#[test]
fn rotates_after_max_tokens_per_key() {
    let clock = ManualClock::at_unix(T0);
    let signer = RotatingSigner::builder()
        .key_ring(memory(&clock))
        .key_id("count")
        .key_kind(KeyKind::EcP256)
        .issuer("https://issuer.test")
        .max_tokens_per_key(3)
        .clock(clock.clone())
        .build()
        .unwrap();
    let kids: Vec<String> = (0..7)
        .map(|_| {
            header(&signer.mint(&MintOptions::new()).unwrap())["kid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kids,
        [
            "count.1", "count.1", "count.1", "count.2", "count.2", "count.2", "count.3"
        ]
    );
}

#[test]
fn rotates_when_the_current_version_reaches_rotate_every() {
    let clock = ManualClock::at_unix(T0);
    let signer = RotatingSigner::builder()
        .key_ring(memory(&clock))
        .key_id("time")
        .key_kind(KeyKind::EcP256)
        .issuer("https://issuer.test")
        .rotate_every(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap();
    let kid = |s: &RotatingSigner| header(&s.mint(&MintOptions::new()).unwrap())["kid"].clone();
    assert_eq!(kid(&signer), "time.1");
    clock.advance(Duration::from_millis(599_999));
    assert_eq!(kid(&signer), "time.1");
    clock.advance(Duration::from_millis(1));
    assert_eq!(kid(&signer), "time.2");
    clock.advance(Duration::from_secs(599));
    assert_eq!(kid(&signer), "time.2");
    // force_rotate restarts the schedule.
    assert_eq!(signer.force_rotate().unwrap().to_string(), "time.3");
    clock.advance(Duration::from_secs(599));
    assert_eq!(kid(&signer), "time.3");
    clock.advance(Duration::from_secs(1));
    assert_eq!(kid(&signer), "time.4");
}

// ---------------------------------------------------------------- retention

#[tokio::test]
async fn retained_version_verifies_until_its_window_closes_then_fails_even_from_a_cached_set() {
    let clock = ManualClock::at_unix(T0);
    let (listener, issuer) = bind().await;
    let store = memory(&clock);
    let signer = RotatingSigner::builder()
        .key_ring(store.clone())
        .key_id("ret")
        .key_kind(KeyKind::EcP256)
        .export_policy(ExportPolicy::SecretAllowed)
        .issuer(&issuer)
        .audience(AUD)
        .retention(Duration::from_secs(3600))
        .token_lifetime(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap();
    serve(
        listener,
        JwksPublisher::new(signer.key_source())
            .issuer(&issuer)
            .router(),
    );
    // A remote verifier with the largest leeway, caching the set for 48 h.
    let remote = remote_verifier(&issuer, &clock, Duration::from_secs(300));
    // The local verifier: its JwksVerifier also caches the set for 48 h.
    let inner = signer
        .verifier_builder()
        .audience(AUD)
        .leeway(Duration::from_secs(300))
        .ttl_bounds(
            Duration::from_secs(48 * 3600),
            Duration::from_secs(48 * 3600),
        )
        .build()
        .unwrap();
    let local = LocalVerifier::new(&signer, inner.clone());

    // At T0+2m, v1 mints its longest-lived token (60m - 5m allowance - 1s), then retires.
    clock.advance(Duration::from_secs(120));
    let longest = Duration::from_secs(3600 - 300 - 1);
    let old = signer
        .mint(&MintOptions::new().subject("old").lifetime(longest))
        .unwrap();
    assert_eq!(header(&old)["kid"], "ret.1");
    assert!(matches!(
        signer.mint(&MintOptions::new().lifetime(longest + Duration::from_secs(1))),
        Err(IssuerError::Mint(m)) if m.contains("outside 1..=3299s")
    ));
    remote.verify(&old).await.unwrap(); // the remote verifier caches {ret.1}
    assert_eq!(signer.force_rotate().unwrap().to_string(), "ret.2");
    let new = signer.mint(&MintOptions::new().subject("new")).unwrap();
    remote.verify(&new).await.unwrap(); // unknown kid -> one refresh -> {ret.2, ret.1}
    local.verify(&old).await.unwrap();
    inner.verify(&old).await.unwrap(); // inner verifier now caches {ret.2, ret.1}
    assert_eq!(published_kids(&issuer).await, ["ret.2", "ret.1"]);

    // A token signed by v1 that the signer would never mint: it outlives the window.
    let v1 = secret_of(&store, &"ret.1".parse().unwrap());
    let forged = hand_signed(
        "ret.1",
        Algorithm::ES256,
        &v1,
        json!({"iss": issuer, "aud": AUD, "sub": "forged", "iat": T0, "exp": T0 + 86_400}),
    );

    // One second before v1's window closes (retired at T0+2m, retention 1h), less the
    // millisecond that makes the longest token's exp + leeway (exactly that second) exclusive
    // (RFC 7519 section 4.1.4, issue 13 point 10): all verify.
    clock.set_unix(T0 + 120 + 3600 - 2);
    clock.advance(Duration::from_millis(999));
    assert_eq!(remote.verify(&old).await.unwrap().sub(), Some("old"));
    assert_eq!(local.verify(&old).await.unwrap().sub(), Some("old"));
    assert_eq!(local.verify(&forged).await.unwrap().sub(), Some("forged"));
    assert_eq!(published_kids(&issuer).await, ["ret.2", "ret.1"]);

    // The window closes.
    clock.set_unix(T0 + 120 + 3600);
    assert_eq!(published_kids(&issuer).await, ["ret.2"]);
    // The remote verifier still holds {ret.2, ret.1} in its cache, yet the signer's token
    // is refused: its exp (plus the 5-minute leeway) never reaches past the window.
    refused(remote.verify(&old).await, "token expired");
    refused(local.verify(&old).await, "unknown key id");
    // Verify-time enforcement: the cached inner verifier alone would still accept the
    // long-lived token; the local verifier refuses it.
    assert!(inner.verify(&forged).await.is_ok());
    refused(local.verify(&forged).await, "unknown key id");
    // The current version is unaffected.
    assert_eq!(
        local.verify(&new).await.unwrap_err().description(),
        "token expired"
    );
    let fresh = signer.mint(&MintOptions::new().subject("fresh")).unwrap();
    assert_eq!(local.verify(&fresh).await.unwrap().sub(), Some("fresh"));
    assert_eq!(remote.verify(&fresh).await.unwrap().sub(), Some("fresh"));
}

#[test]
fn token_lifetime_that_could_outlive_retention_is_a_config_error() {
    let build = |lifetime: u64, retention: u64| {
        RotatingSigner::builder()
            .key_ring(KeyRing::new(MemoryStore::new()))
            .key_kind(KeyKind::EcP256)
            .issuer("https://issuer.test")
            .token_lifetime(Duration::from_secs(lifetime))
            .retention(Duration::from_secs(retention))
            .build()
    };
    // lifetime + 5 min allowance must stay below retention.
    assert!(build(3299, 3600).is_ok());
    let Err(IssuerError::Config(e)) = build(3300, 3600) else {
        panic!("expected a config error")
    };
    assert!(e.to_string().contains(
        "token_lifetime (3300s) + leeway_allowance (300s) must be shorter than retention (3600s)"
    ));
}

// ---------------------------------------------------------------- exact kids

#[tokio::test]
async fn unknown_versions_never_fall_back_to_another_version() {
    let clock = ManualClock::at_unix(T0);
    let (listener, issuer) = bind().await;
    let store = memory(&clock);
    let signer = RotatingSigner::builder()
        .key_ring(store.clone())
        .key_id("exact")
        .key_kind(KeyKind::Ed25519)
        .export_policy(ExportPolicy::SecretAllowed)
        .issuer(&issuer)
        .audience(AUD)
        .clock(clock.clone())
        .build()
        .unwrap();
    signer.force_rotate().unwrap();
    serve(
        listener,
        JwksPublisher::new(signer.key_source())
            .issuer(&issuer)
            .router(),
    );
    let remote = remote_verifier(&issuer, &clock, Duration::from_secs(30));
    let local = LocalVerifier::new(
        &signer,
        signer.verifier_builder().audience(AUD).build().unwrap(),
    );

    let v2 = secret_of(&store, &"exact.2".parse().unwrap());
    let claims = json!({"iss": issuer, "aud": AUD, "sub": "x", "iat": T0, "exp": T0 + 600});
    // Signed by the newest key, but naming versions that do not exist, or another base.
    for kid in [
        "exact.3",
        "exact.99",
        "exact.02",
        "exact.",
        "exact.2.1",
        "other.2",
        "other",
    ] {
        let token = hand_signed(kid, Algorithm::EdDSA, &v2, claims.clone());
        refused(remote.verify(&token).await, "unknown key id");
        refused(local.verify(&token).await, "unknown key id");
    }
    // The real kid works, and so does the bare base (a kid naming no version): the newest.
    for kid in ["exact.2", "exact"] {
        let token = hand_signed(kid, Algorithm::EdDSA, &v2, claims.clone());
        remote.verify(&token).await.unwrap();
        local.verify(&token).await.unwrap();
    }
    // The bare base never means an older version.
    let v1 = secret_of(&store, &"exact.1".parse().unwrap());
    let token = hand_signed("exact", Algorithm::EdDSA, &v1, claims.clone());
    refused(remote.verify(&token).await, "invalid signature");
    refused(local.verify(&token).await, "invalid signature");

    // The store resolves exactly; only a bare base means "newest".
    assert_eq!(store.resolve("exact.1").unwrap().id.to_string(), "exact.1");
    assert_eq!(store.resolve("exact").unwrap().id.to_string(), "exact.2");
    assert!(
        matches!(store.resolve("exact.3"), Err(IssuerError::NotFound { kid }) if kid == "exact.3")
    );
    for bad in [
        "exact.02",
        "exact.",
        "exact.2.1",
        "exact.0",
        "",
        "a/b",
        "../x.1",
    ] {
        assert!(
            matches!(store.resolve(bad), Err(IssuerError::InvalidKeyId { .. })),
            "{bad}"
        );
    }
}

#[test]
fn signer_refusals_are_precise() {
    let store: KeyRing = KeyRing::new(MemoryStore::new());
    let err = |b: jwks_auth::issuer::RotatingSignerBuilder| match b.build() {
        Err(IssuerError::Config(e)) => e.to_string(),
        other => panic!("expected a config error, got {other:?}"),
    };
    let base = || {
        RotatingSigner::builder()
            .key_ring(store.clone())
            .issuer("https://i.test")
    };
    assert!(err(RotatingSigner::builder().issuer("https://i.test")).contains("no key store"));
    assert!(err(RotatingSigner::builder().key_ring(store.clone())).contains("no issuer"));
    assert!(
        err(base()
            .algorithm(Algorithm::ES256)
            .key_kind(KeyKind::Rsa2048))
        .contains("ES256 does not fit a RSA-2048 key")
    );
    assert!(err(base().max_tokens_per_key(0)).contains("must be positive"));

    // An existing key is pinned to its algorithm: a signer configured otherwise is refused.
    store
        .create_key(Some("pinned"), &KeySpec::new(KeyKind::Rsa2048))
        .unwrap();
    assert!(
        err(base()
            .key_id("pinned")
            .algorithm(Algorithm::PS256)
            .key_kind(KeyKind::Rsa2048))
        .contains("key `pinned.1` is pinned to RS256")
    );

    let signer = base().key_kind(KeyKind::EcP256).build().unwrap();
    for claim in ["exp", "iat", "nbf", "iss", "sub", "aud", "scope"] {
        assert!(matches!(
            signer.mint(&MintOptions::new().claim(claim, 1)),
            Err(IssuerError::Mint(m)) if m.contains(&format!("claim `{claim}` is set by the signer"))
        ));
    }
    assert!(matches!(
        signer.mint(&MintOptions::new().lifetime(Duration::ZERO)),
        Err(IssuerError::Mint(_))
    ));
    // Extra claims and audiences go through.
    let token = signer
        .mint(
            &MintOptions::new()
                .claim("tenant", "acme")
                .audience("a")
                .audience("b"),
        )
        .unwrap();
    assert_eq!(claims(&token)["tenant"], "acme");
    assert_eq!(claims(&token)["aud"], json!(["a", "b"]));
    // A public-only copy cannot sign.
    let mirror = KeyRing::new(MemoryStore::new());
    let public =
        jwks_auth::issuer::PublicKey::from_jwk(&store.public_jwk(&signer.current_kid()).unwrap())
            .unwrap();
    mirror
        .import_key(
            Some("pub"),
            StoredMaterial::Public(public),
            &KeySpec::new(KeyKind::EcP256),
        )
        .unwrap();
    let Err(e) = RotatingSigner::builder()
        .key_ring(mirror)
        .key_id("pub")
        .key_kind(KeyKind::EcP256)
        .issuer("https://i.test")
        .build()
    else {
        panic!()
    };
    assert_eq!(
        e,
        IssuerError::NoPrivateKey {
            kid: "pub.1".into()
        }
    );
}

// ---------------------------------------------------------------- key store

#[test]
fn store_creates_rotates_lists_and_destroys_without_reusing_versions() {
    let store = KeyRing::new(MemoryStore::new());
    let info = store
        .create_key(Some("k"), &KeySpec::new(KeyKind::EcP384))
        .unwrap();
    assert_eq!(info.id.to_string(), "k.1");
    assert_eq!(info.spec.algorithm, Algorithm::ES384);
    assert!(info.has_secret);
    assert_eq!(store.rotate_key("k").unwrap().id.to_string(), "k.2");
    assert_eq!(store.rotate_key("k").unwrap().id.to_string(), "k.3");
    store.destroy_version(&"k.3".parse().unwrap()).unwrap();
    // Version 3 is never reissued.
    assert_eq!(store.rotate_key("k").unwrap().id.to_string(), "k.4");
    let versions: Vec<String> = store
        .list_versions("k")
        .unwrap()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(versions, ["k.1", "k.2", "k.4"]);
    let jwks = store.jwks().unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k.4", "k.2", "k.1"]);
    assert_eq!(
        store.public_jwk(&"k.2".parse().unwrap()).unwrap()["crv"],
        "P-384"
    );

    assert!(matches!(
        store.create_key(Some("k"), &KeySpec::new(KeyKind::EcP384)),
        Err(IssuerError::AlreadyExists { .. })
    ));
    store.destroy_key("k").unwrap();
    assert!(matches!(
        store.list_versions("k"),
        Err(IssuerError::NotFound { .. })
    ));
    assert!(store.list_keys().unwrap().is_empty());
    // A destroyed base is not recreated (its kids could be cached elsewhere).
    assert!(matches!(
        store.create_key(Some("k"), &KeySpec::new(KeyKind::EcP384)),
        Err(IssuerError::AlreadyExists { .. })
    ));
    assert!(matches!(
        store.destroy_key("k"),
        Err(IssuerError::NotFound { .. })
    ));
    // A random base is valid and unique.
    let a = store
        .create_key(None, &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    let b = store
        .create_key(None, &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    assert_ne!(a.id.base(), b.id.base());
    assert!(matches!(
        store.create_key(Some("x"), &KeySpec::new(KeyKind::Ed25519).algorithm(Algorithm::RS256)),
        Err(IssuerError::InvalidKey(m)) if m.contains("RS256 does not fit a Ed25519 key")
    ));
}

#[test]
fn export_policy_guards_secrets_and_debug_never_shows_them() {
    let store = KeyRing::new(MemoryStore::new());
    let kept = store
        .create_key(Some("kept"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    assert_eq!(
        store.export_key(&kept.id).unwrap_err(),
        IssuerError::ExportRefused {
            kid: "kept.1".into()
        }
    );
    let open = store
        .create_key(
            Some("open"),
            &KeySpec::new(KeyKind::Ed25519).export_policy(ExportPolicy::SecretAllowed),
        )
        .unwrap();
    let exported = secret_of(&store, &open.id);
    let d = exported.to_private_jwk("open.1", Algorithm::EdDSA).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    for debug in [
        format!("{exported:?}"),
        format!("{store:?}"),
        format!("{:?}", store.signing_key(&open.id).unwrap()),
    ] {
        assert!(!debug.contains(&d), "secret in {debug}");
    }
    assert!(format!("{exported:?}").contains("<redacted>"));
}

#[test]
fn import_from_pem_and_jwk_round_trips_for_every_kind() {
    let rsa = KeyMaterial::from_pem(RSA_PEM).unwrap();
    assert_eq!(rsa.kind(), KeyKind::Rsa2048);
    assert!(
        rsa.to_public_jwk("r.1", Algorithm::PS256).unwrap()["n"]
            .as_str()
            .unwrap()
            .starts_with("r0qK")
    );
    assert_eq!(
        KeyMaterial::from_pem(EC_PEM).unwrap().kind(),
        KeyKind::EcP256
    );
    let ed = KeyMaterial::from_pem(ED_PEM).unwrap();
    assert_eq!(
        ed.to_public_jwk("e.1", Algorithm::EdDSA).unwrap()["x"],
        "yhxs3Bde7Nfk9j6gbUIf_vcW8EmQhc3haC0iym8LGiU"
    );
    assert!(matches!(
        KeyMaterial::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(IssuerError::InvalidKey(_))
    ));

    for kind in KeyKind::ALL {
        let key = KeyMaterial::generate(kind).unwrap();
        let alg = kind.default_algorithm();
        let private = key.to_private_jwk("k.1", alg).unwrap();
        let back = KeyMaterial::from_jwk(&private).unwrap();
        assert_eq!(back.kind(), kind);
        // Same key: a token signed by the re-imported key verifies with the original.
        let token = hand_signed(
            "k.1",
            alg,
            &back,
            json!({"sub": "x", "exp": 4_000_000_000u64}),
        );
        match alg.as_str().parse::<jsonwebtoken::Algorithm>() {
            Ok(jose) => {
                let mut validation = jsonwebtoken::Validation::new(jose);
                validation.validate_aud = false;
                jsonwebtoken::decode::<Value>(&token, &key.decoding_key().unwrap(), &validation)
                    .unwrap_or_else(|e| panic!("{kind}: {e}"));
            }
            // ES512: jsonwebtoken has none; check the raw r || s with aws-lc-rs directly.
            Err(_) => {
                use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, UnparsedPublicKey};
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let jwk = key.to_public_jwk("k.1", alg).unwrap();
                let mut point = vec![4u8];
                point.extend(b64.decode(jwk["x"].as_str().unwrap()).unwrap());
                point.extend(b64.decode(jwk["y"].as_str().unwrap()).unwrap());
                let (input, sig) = token.rsplit_once('.').unwrap();
                let sig = b64.decode(sig).unwrap();
                assert_eq!(sig.len(), 132, "raw r || s");
                UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, &point)
                    .verify(input.as_bytes(), &sig)
                    .unwrap_or_else(|e| panic!("{kind}: {e}"));
            }
        }
        if !kind.is_symmetric() {
            let public = key.to_public_jwk("k.1", alg).unwrap();
            assert_eq!(back.to_public_jwk("k.1", alg).unwrap(), public);
            // A public JWK is not a private key, and a private JWK is not a public key.
            assert!(matches!(
                KeyMaterial::from_jwk(&public),
                Err(IssuerError::InvalidKey(_))
            ));
            assert!(matches!(
                jwks_auth::issuer::PublicKey::from_jwk(&private),
                Err(IssuerError::InvalidKey(_))
            ));
        }
    }
    // A short HMAC secret is refused.
    assert!(matches!(
        KeyMaterial::hmac(KeyKind::Hmac256, &[0; 31]),
        Err(IssuerError::InvalidKey(_))
    ));

    // Imported into a store, then used to sign.
    let store = KeyRing::new(MemoryStore::new());
    let info = store
        .import_key(
            Some("imported"),
            StoredMaterial::Private(rsa),
            &KeySpec::new(KeyKind::Rsa2048).algorithm(Algorithm::PS384),
        )
        .unwrap();
    assert_eq!(store.public_jwk(&info.id).unwrap()["alg"], "PS384");
    assert!(matches!(
        store.import_key(None, StoredMaterial::Private(ed), &KeySpec::new(KeyKind::EcP256)),
        Err(IssuerError::InvalidKey(m)) if m.contains("the material is a Ed25519 key")
    ));
}

// ---------------------------------------------------------------- file store

#[test]
fn file_store_survives_a_restart_with_owner_only_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("restart");
    let clock = ManualClock::at_unix(T0);
    let (kid, jwk, token) = {
        let store: KeyRing =
            KeyRing::new(FileStore::open(&dir.0).unwrap()).with_clock(clock.clone());
        let signer = RotatingSigner::builder()
            .key_ring(store.clone())
            .key_id("persist")
            .key_kind(KeyKind::Rsa2048)
            .issuer("https://issuer.test")
            .clock(clock.clone())
            .build()
            .unwrap();
        clock.advance(Duration::from_secs(60));
        signer.force_rotate().unwrap();
        let kid = signer.current_kid();
        (
            kid.clone(),
            store.public_jwk(&kid).unwrap(),
            signer.mint(&MintOptions::new()).unwrap(),
        )
    };
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.0), 0o700);
    assert_eq!(mode(&dir.0.join("persist.json")), 0o600);
    let names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["persist.json"], "no temporary files left behind");

    // Restart: same versions, same keys, same creation times; the signer resumes.
    let store: KeyRing = KeyRing::new(FileStore::open(&dir.0).unwrap()).with_clock(clock.clone());
    let versions = store.list_versions("persist").unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].created_at_ms, (T0 + 60) * 1000);
    assert_eq!(store.public_jwk(&kid).unwrap(), jwk);
    let signer = RotatingSigner::builder()
        .key_ring(store.clone())
        .key_id("persist")
        .key_kind(KeyKind::Rsa2048)
        .issuer("https://issuer.test")
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(signer.current_kid(), kid);
    let again = signer.mint(&MintOptions::new()).unwrap();
    // Same key, same claims (same clock): the same RS256 token.
    assert_eq!(again, token);
    assert_eq!(signer.force_rotate().unwrap().to_string(), "persist.3");
}

#[test]
fn file_store_refuses_corrupt_files_and_never_replaces_them() {
    let dir = TempDir::new("corrupt");
    {
        let store = KeyRing::new(FileStore::open(&dir.0).unwrap());
        store
            .create_key(Some("victim"), &KeySpec::new(KeyKind::EcP256))
            .unwrap();
    }
    let path = dir.0.join("victim.json");
    let good = std::fs::read_to_string(&path).unwrap();
    for (content, reason) in [
        ("{ not json".to_owned(), "not JSON"),
        (good[..good.len() / 2].to_owned(), "not JSON"),
        (good.replace("jwks-auth-keystore/1", "other/9"), "`format`"),
        (
            good.replace("\"base\": \"victim\"", "\"base\": \"other\""),
            "`base` does not match",
        ),
        (
            good.replace("\"kind\": \"EC-P256\"", "\"kind\": \"EC-P999\""),
            "unknown `kind`",
        ),
        (
            good.replace("\"next_version\": 2", "\"next_version\": 1"),
            "version 1 is out of place",
        ),
    ] {
        std::fs::write(&path, &content).unwrap();
        match FileStore::open(&dir.0) {
            Err(IssuerError::Corrupt { path: p, reason: r }) => {
                assert_eq!(p, path);
                assert!(r.contains(reason), "{r} should mention {reason}");
            }
            other => panic!("expected Corrupt for {reason}, got {other:?}"),
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            content,
            "file untouched"
        );
    }
    // A tampered key (its private half no longer matches its public half) is corrupt too.
    let v: Value = serde_json::from_str(&good).unwrap();
    let mut tampered = v.clone();
    let other = KeyMaterial::generate(KeyKind::EcP256)
        .unwrap()
        .to_private_jwk("victim.1", Algorithm::ES256)
        .unwrap();
    tampered["versions"][0]["jwk"]["d"] = other["d"].clone();
    std::fs::write(&path, tampered.to_string()).unwrap();
    assert!(matches!(
        FileStore::open(&dir.0),
        Err(IssuerError::Corrupt { .. })
    ));
    // Restored, it opens again with the original key.
    std::fs::write(&path, &good).unwrap();
    assert_eq!(
        KeyRing::new(FileStore::open(&dir.0).unwrap())
            .list_keys()
            .unwrap(),
        ["victim"]
    );
}

#[test]
fn file_store_refuses_files_other_users_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("perms");
    KeyRing::new(FileStore::open(&dir.0).unwrap())
        .create_key(Some("k"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    let file = dir.0.join("k.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        FileStore::open(&dir.0).unwrap_err(),
        IssuerError::InsecurePermissions {
            path: file.clone(),
            mode: 0o644
        }
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        FileStore::open(&dir.0).unwrap_err(),
        IssuerError::InsecurePermissions {
            path: dir.0.clone(),
            mode: 0o755
        }
    );
}

// ---------------------------------------------------------------- failover and mirroring

/// A store whose every operation fails, as a dead primary would.
#[derive(Debug)]
struct DeadStore;

fn dead() -> IssuerError {
    IssuerError::Io {
        path: "/dead".into(),
        kind: std::io::ErrorKind::Other,
        message: "down".into(),
    }
}

impl KeyStore for DeadStore {
    fn load(&self, _: &str) -> Result<Option<KeyRecord>, IssuerError> {
        Err(dead())
    }
    fn save(&self, _: &str, _: &KeyRecord) -> Result<(), IssuerError> {
        Err(dead())
    }
    fn bases(&self) -> Result<Vec<String>, IssuerError> {
        Err(dead())
    }
}

#[test]
fn mirrored_store_reads_fail_over_to_the_secondary() {
    let secondary = KeyRing::new(MemoryStore::new());
    let info = secondary
        .create_key(Some("s"), &KeySpec::new(KeyKind::EcP256))
        .unwrap();
    let mirrored = KeyRing::new(MirroredStore::new(
        Arc::new(DeadStore),
        secondary.store().clone(),
    ));
    assert_eq!(mirrored.list_keys().unwrap(), ["s"]);
    assert_eq!(
        mirrored.public_jwk(&info.id).unwrap(),
        secondary.public_jwk(&info.id).unwrap()
    );
    assert_eq!(mirrored.jwks().unwrap(), secondary.jwks().unwrap());
    assert_eq!(mirrored.resolve("s").unwrap().id, info.id);
    mirrored.signing_key(&info.id).unwrap();
    // Writes never go to the secondary alone.
    assert_eq!(mirrored.rotate_key("s").unwrap_err(), dead());
    // Fail-open switched off: the primary's error.
    let strict = KeyRing::new(
        MirroredStore::new(Arc::new(DeadStore), secondary.store().clone()).fail_open_reads(false),
    );
    assert_eq!(strict.list_keys().unwrap_err(), dead());
    assert_eq!(strict.jwks().unwrap_err(), dead());

    // A key the primary lost (here: a primary restored empty) is served from the mirror
    // (same kid, same public key).
    let primary = KeyRing::new(MemoryStore::new());
    let secondary = KeyRing::new(MemoryStore::new());
    let mirrored = KeyRing::new(MirroredStore::new(
        primary.store().clone(),
        secondary.store().clone(),
    ));
    let info = mirrored
        .create_key(Some("m"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    let jwk = mirrored.public_jwk(&info.id).unwrap();
    let restored = KeyRing::new(MirroredStore::new(
        Arc::new(MemoryStore::new()),
        secondary.store().clone(),
    ));
    assert_eq!(restored.public_jwk(&info.id).unwrap(), jwk);
    // A version the primary destroyed is not: its tombstone wins over the mirror's copy.
    primary.destroy_version(&info.id).unwrap();
    assert!(matches!(
        mirrored.public_jwk(&info.id),
        Err(IssuerError::NotFound { .. })
    ));
}

#[tokio::test]
async fn failover_source_reads_the_secondary_when_the_primary_fails() {
    let store: KeyRing = KeyRing::new(MemoryStore::new());
    store
        .create_key(Some("backup"), &KeySpec::new(KeyKind::EcP256))
        .unwrap();
    let doc = |f: Fetched| match f {
        Fetched::Document { body, .. } => serde_json::from_slice::<Value>(&body).unwrap(),
        other => panic!("{other:?}"),
    };
    let source = FailoverSource::new(FailingSource, StoreKeys::new(store.clone()));
    let fetched = doc(source.fetch(None).await.unwrap());
    assert_eq!(fetched, store.jwks().unwrap());
    let strict =
        FailoverSource::new(FailingSource, StoreKeys::new(store.clone())).fail_open_reads(false);
    assert_eq!(
        strict.fetch(None).await.unwrap_err().to_string(),
        "primary is down"
    );

    // A verifier built on the failover source verifies the secondary's tokens.
    let signer = RotatingSigner::builder()
        .key_ring(store.clone())
        .key_id("backup")
        .key_kind(KeyKind::EcP256)
        .issuer("https://issuer.test")
        .audience(AUD)
        .build()
        .unwrap();
    let verifier = JwksVerifier::builder()
        .key_source(FailoverSource::new(FailingSource, StoreKeys::new(store)))
        .issuer("https://issuer.test")
        .audience(AUD)
        .build()
        .unwrap();
    let token = signer.mint(&MintOptions::new().subject("bob")).unwrap();
    assert_eq!(verifier.verify(&token).await.unwrap().sub(), Some("bob"));
}

#[tokio::test]
async fn merged_sets_prefer_the_primary_on_kid_collisions() {
    let primary: KeyRing = KeyRing::new(MemoryStore::new());
    let secondary: KeyRing = KeyRing::new(MemoryStore::new());
    primary
        .create_key(Some("shared"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    secondary
        .create_key(Some("shared"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    secondary
        .create_key(Some("only2"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    let shared: KeyId = "shared.1".parse().unwrap();
    let primary_x = primary.public_jwk(&shared).unwrap()["x"].clone();
    assert_ne!(primary_x, secondary.public_jwk(&shared).unwrap()["x"]);

    let check = |doc: &Value| {
        let keys = doc["keys"].as_array().unwrap();
        let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, ["shared.1", "only2.1"]);
        assert_eq!(keys[0]["x"], primary_x);
    };
    // As key sources (e.g. local keys merged with a remote set) ...
    let merged = FailoverSource::merged(
        StoreKeys::new(primary.clone()),
        StoreKeys::new(secondary.clone()),
    );
    let Fetched::Document {
        body, validators, ..
    } = merged.fetch(None).await.unwrap()
    else {
        panic!()
    };
    check(&serde_json::from_slice(&body).unwrap());
    // ... with a content ETag: unchanged means NotModified.
    assert!(matches!(
        merged.fetch(Some(&validators)).await.unwrap(),
        Fetched::NotModified { .. }
    ));
    // ... and as a mirrored store.
    check(
        &KeyRing::new(MirroredStore::new(
            primary.store().clone(),
            secondary.store().clone(),
        ))
        .jwks()
        .unwrap(),
    );
}

#[test]
fn each_mirror_mode_copies_exactly_what_it_should() {
    let spec_open = KeySpec::new(KeyKind::EcP256).export_policy(ExportPolicy::SecretAllowed);
    let spec_closed = KeySpec::new(KeyKind::EcP256);
    let spec_hmac = KeySpec::new(KeyKind::Hmac256).export_policy(ExportPolicy::SecretAllowed);
    let setup = |mode: MirrorMode| {
        let primary: KeyRing = KeyRing::new(MemoryStore::new());
        let secondary: KeyRing = KeyRing::new(MemoryStore::new());
        let mirrored = KeyRing::new(
            MirroredStore::new(primary.store().clone(), secondary.store().clone())
                .mirror_mode(mode),
        );
        mirrored.create_key(Some("open"), &spec_open).unwrap();
        mirrored.create_key(Some("closed"), &spec_closed).unwrap();
        mirrored.create_key(Some("hmac"), &spec_hmac).unwrap();
        mirrored.rotate_key("open").unwrap();
        (primary, secondary, mirrored)
    };
    let id = |s: &str| -> KeyId { s.parse().unwrap() };

    // Public only (the default): public keys, no secrets, nothing for HMAC.
    let (primary, secondary, _) = setup(MirrorMode::default());
    assert_eq!(secondary.list_keys().unwrap(), ["closed", "open"]);
    assert_eq!(secondary.list_versions("open").unwrap().len(), 2);
    for kid in ["open.1", "open.2", "closed.1"] {
        assert_eq!(
            secondary.public_jwk(&id(kid)).unwrap(),
            primary.public_jwk(&id(kid)).unwrap()
        );
        assert!(!secondary.list_versions(id(kid).base()).unwrap()[0].has_secret);
        assert_eq!(
            secondary.signing_key(&id(kid)).unwrap_err(),
            IssuerError::NoPrivateKey { kid: kid.into() }
        );
    }

    // Full: secrets where the export policy allows, public keys otherwise.
    let (primary, secondary, _) = setup(MirrorMode::Full);
    assert_eq!(secondary.list_keys().unwrap(), ["closed", "hmac", "open"]);
    for kid in ["open.1", "open.2", "hmac.1"] {
        secondary.signing_key(&id(kid)).unwrap();
        assert_eq!(
            secret_of(&secondary, &id(kid))
                .to_private_jwk(kid, primary.resolve(kid).unwrap().spec.algorithm)
                .unwrap(),
            secret_of(&primary, &id(kid))
                .to_private_jwk(kid, primary.resolve(kid).unwrap().spec.algorithm)
                .unwrap(),
        );
    }
    assert_eq!(
        secondary.signing_key(&id("closed.1")).unwrap_err(),
        IssuerError::NoPrivateKey {
            kid: "closed.1".into()
        }
    );
    assert_eq!(
        secondary.public_jwk(&id("closed.1")).unwrap(),
        primary.public_jwk(&id("closed.1")).unwrap()
    );

    // None: nothing at all.
    let (_, secondary, _) = setup(MirrorMode::None);
    assert!(secondary.list_keys().unwrap().is_empty());

    // Destroys are mirrored too (except in mode None).
    let (primary, secondary, mirrored) = setup(MirrorMode::PublicOnly);
    mirrored.destroy_version(&id("open.1")).unwrap();
    mirrored.destroy_key("closed").unwrap();
    assert_eq!(secondary.list_keys().unwrap(), ["open"]);
    assert_eq!(primary.list_keys().unwrap(), ["hmac", "open"]);
    assert_eq!(secondary.list_versions("open").unwrap()[0].id, id("open.2"));
}

// ---------------------------------------------------------------- issue 12, issuer side

/// Point 10: a key directory or key file that is a symbolic link is refused.
#[test]
fn file_store_refuses_symlinked_directory_and_key_file() {
    let real = TempDir::new("real");
    KeyRing::new(FileStore::open(&real.0).unwrap())
        .create_key(Some("k"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    // The directory is a link to a good key directory.
    let link = TempDir::new("link");
    std::os::unix::fs::symlink(&real.0, &link.0).unwrap();
    match FileStore::open(&link.0) {
        Err(IssuerError::UntrustedPath { path, reason }) => {
            assert_eq!(path, link.0);
            assert!(reason.contains("symbolic link"), "{reason}");
        }
        other => panic!("expected UntrustedPath, got {other:?}"),
    }
    // A key file is a link (to a good key file elsewhere).
    let dir = TempDir::new("filelink");
    FileStore::open(&dir.0).unwrap();
    std::os::unix::fs::symlink(real.0.join("k.json"), dir.0.join("k.json")).unwrap();
    let err = FileStore::open(&dir.0).unwrap_err();
    assert_eq!(
        err,
        IssuerError::UntrustedPath {
            path: dir.0.join("k.json"),
            reason: "it is a symbolic link".into()
        }
    );
    assert!(err.to_string().contains("not symbolic links"), "{err}");
}

/// Point 10: a directory or key file owned by another user is refused, whatever its mode.
#[test]
fn file_store_refuses_a_directory_or_key_file_of_another_user() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("owner");
    KeyRing::new(FileStore::open(&dir.0).unwrap())
        .create_key(Some("k"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    if std::fs::metadata(&dir.0).unwrap().uid() != 0 {
        eprintln!("skipped: changing a file's owner needs root, and this test is not root");
        return;
    }
    const NOBODY: u32 = 65534;
    let file = dir.0.join("k.json");
    std::os::unix::fs::chown(&file, Some(NOBODY), None).unwrap();
    assert_eq!(
        FileStore::open(&dir.0).unwrap_err(),
        IssuerError::UntrustedPath {
            path: file.clone(),
            reason: format!("it is owned by uid {NOBODY}, not by the effective user (uid 0)"),
        }
    );
    std::os::unix::fs::chown(&file, Some(0), None).unwrap();
    std::os::unix::fs::chown(&dir.0, Some(NOBODY), None).unwrap();
    assert!(matches!(
        FileStore::open(&dir.0),
        Err(IssuerError::UntrustedPath { path, .. }) if path == dir.0
    ));
    std::os::unix::fs::chown(&dir.0, Some(0), None).unwrap();
    assert_eq!(
        KeyRing::new(FileStore::open(&dir.0).unwrap())
            .list_keys()
            .unwrap(),
        ["k"]
    );
}

/// A store that fails every call while `down` is set, as an unreachable backend would.
#[derive(Debug, Default)]
struct Switchable {
    inner: MemoryStore,
    down: std::sync::atomic::AtomicBool,
}

impl Switchable {
    fn check(&self) -> Result<(), IssuerError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Err(dead())
        } else {
            Ok(())
        }
    }
}

impl KeyStore for Switchable {
    fn load(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        self.check()?;
        self.inner.load(base)
    }
    fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
        self.check()?;
        self.inner.save(base, record)
    }
    fn bases(&self) -> Result<Vec<String>, IssuerError> {
        self.check()?;
        self.inner.bases()
    }
}

/// `id` (which signed `token`) is neither published by `keys` nor accepted by a verifier on it.
async fn destroyed_key_check(keys: &KeyRing, token: &str, id: &KeyId) {
    let kid = id.to_string();
    let jwks = keys.jwks().unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != kid.as_str()),
        "{kid} still published: {jwks}"
    );
    assert!(matches!(
        keys.public_jwk(id),
        Err(IssuerError::NotFound { .. })
    ));
    // Another live key, so that the verifier has a usable set to look the kid up in.
    keys.create_key(None, &KeySpec::new(KeyKind::EcP256))
        .unwrap();
    let verifier = JwksVerifier::builder()
        .key_source(StoreKeys::new(keys.clone()))
        .issuer("https://issuer.test")
        .audience(AUD)
        .build()
        .unwrap();
    refused(verifier.verify(token).await, "unknown key id");
}

/// Point 11: destroy through a mirrored store never reports success with the key live.
#[tokio::test]
async fn destroy_through_a_mirrored_store_unpublishes_the_key_everywhere() {
    let mint = |keys: &KeyRing, base: &str| {
        let signer = RotatingSigner::builder()
            .key_ring(keys.clone())
            .key_id(base)
            .key_kind(KeyKind::EcP256)
            .issuer("https://issuer.test")
            .audience(AUD)
            .build()
            .unwrap();
        (
            signer.current_kid(),
            signer.mint(&MintOptions::new()).unwrap(),
        )
    };

    // The secondary is unreachable during the destroy: an error, and the key is not served.
    let primary = KeyRing::new(MemoryStore::new());
    let secondary = Arc::new(Switchable::default());
    let mirrored = KeyRing::new(MirroredStore::new(
        primary.store().clone(),
        secondary.clone(),
    ));
    let (id, token) = mint(&mirrored, "gone");
    secondary
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(
        mirrored.destroy_version(&id),
        Err(IssuerError::MirrorIncomplete { base, .. }) if base == "gone"
    ));
    // The secondary comes back still holding its copy: the primary's tombstone wins.
    secondary
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(
        secondary
            .inner
            .load("gone")
            .unwrap()
            .unwrap()
            .versions
            .contains_key(&1)
    );
    destroyed_key_check(&mirrored, &token, &id).await;

    // MirrorMode::None, and a secondary restored from a backup that holds the key.
    let primary = KeyRing::new(MemoryStore::new());
    let secondary = KeyRing::new(MemoryStore::new());
    let copying = KeyRing::new(MirroredStore::new(
        primary.store().clone(),
        secondary.store().clone(),
    ));
    let (id, token) = mint(&copying, "old");
    let unmirrored = KeyRing::new(
        MirroredStore::new(primary.store().clone(), secondary.store().clone())
            .mirror_mode(MirrorMode::None),
    );
    unmirrored.destroy_version(&id).unwrap();
    assert_eq!(secondary.list_keys().unwrap(), ["old"], "the restored copy");
    destroyed_key_check(&unmirrored, &token, &id).await;
}

/// Point 12: with max_tokens_per_key(1), 260 mints never publish more versions than a
/// verifier keeps, every minted token verifies, and expired versions are pruned.
#[tokio::test]
async fn max_tokens_per_key_stays_within_the_verifier_key_limit() {
    let clock = ManualClock::at_unix(T0);
    let keys = memory(&clock);
    let signer = RotatingSigner::builder()
        .key_ring(keys.clone())
        .key_id("busy")
        .key_kind(KeyKind::EcP256)
        .issuer("https://issuer.test")
        .audience(AUD)
        .token_lifetime(Duration::from_secs(600))
        .retention(Duration::from_secs(3600))
        .max_tokens_per_key(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = signer.verifier_builder().audience(AUD).build().unwrap();
    let mut tokens = Vec::new();
    let mut refusals = 0;
    for _ in 0..260 {
        match signer.mint(&MintOptions::new()) {
            Ok(token) => tokens.push(token),
            Err(IssuerError::Mint(why)) => {
                assert!(why.contains("over the 256 keys"), "{why}");
                assert!(why.contains("raise max_tokens_per_key or shorten retention"));
                refusals += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    // The set holds at most 256 versions; the mints beyond fail loudly, none is dropped.
    assert_eq!(tokens.len(), jwks_auth::jwks::MAX_KEYS);
    assert_eq!(refusals, 260 - jwks_auth::jwks::MAX_KEYS);
    for token in [&tokens[0], &tokens[128], &tokens[255]] {
        verifier.verify(token).await.unwrap();
    }
    // Once the retention window has passed, minting resumes and expired versions are pruned.
    clock.advance(Duration::from_secs(3601));
    let fresh = signer.mint(&MintOptions::new()).unwrap();
    assert_eq!(
        keys.list_versions("busy").unwrap().len(),
        2,
        "current and previous only"
    );
    assert_eq!(signer.current_kid().version(), 257);
    let verifier = signer.verifier_builder().audience(AUD).build().unwrap();
    verifier.verify(&fresh).await.unwrap();

    // A time-based rotation that could exceed the limit within one window is refused.
    let Err(IssuerError::Config(e)) = RotatingSigner::builder()
        .key_ring(memory(&clock))
        .issuer("https://issuer.test")
        .rotate_every(Duration::from_secs(300))
        .build()
    else {
        panic!("expected a config error")
    };
    assert!(
        e.to_string()
            .contains("publishes up to 289 versions at once, over the 256 keys"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("rotate less often or shorten retention")
    );
}

/// A source handing over a JWKS with private members (a misconfigured remote set).
#[derive(Debug)]
struct LeakySource;

impl KeySource for LeakySource {
    fn fetch<'a>(
        &'a self,
        _: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        let private = KeyMaterial::generate(KeyKind::Rsa2048)
            .unwrap()
            .to_private_jwk("rsa.1", Algorithm::RS256)
            .unwrap();
        let mut leaky = private.clone();
        leaky["oth"] = json!([{"r": "AQ", "d": "AQ", "t": "AQ"}]);
        let doc = json!({"keys": [leaky, {"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]});
        Box::pin(async move {
            Ok(Fetched::Document {
                body: doc.to_string().into(),
                max_age: None,
                validators: Validators::default(),
            })
        })
    }
}

/// Point 13: whatever the source, the publisher serves public members only.
#[tokio::test]
async fn publisher_serves_only_public_members() {
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    let check = |doc: &Value| {
        for key in doc["keys"].as_array().unwrap() {
            for member in PRIVATE {
                assert!(key.get(member).is_none(), "`{member}` published in {key}");
            }
        }
    };
    let (listener, issuer) = bind().await;
    serve(
        listener,
        JwksPublisher::new(FailoverSource::merged(LeakySource, LeakySource))
            .issuer(&issuer)
            .router(),
    );
    let served: Value = reqwest::get(format!("{issuer}/.well-known/jwks.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    check(&served);
    let keys = served["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "the oct key is not served: {served}");
    assert_eq!(keys[0]["kid"], "rsa.1");
    assert!(keys[0]["n"].is_string() && keys[0]["e"].is_string());

    let (listener, issuer) = bind().await;
    serve(listener, JwksPublisher::new(LeakySource).router());
    let direct: Value = reqwest::get(format!("{issuer}/.well-known/jwks.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    check(&direct);
    assert_eq!(direct["keys"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------- issue 12, what the fixes missed

/// A memory store whose reads (`load`, `bases`) and saves fail while their switch is on.
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryStore,
    fail_load: std::sync::atomic::AtomicBool,
    fail_save: std::sync::atomic::AtomicBool,
}

fn switch(flag: &std::sync::atomic::AtomicBool, on: bool) {
    flag.store(on, std::sync::atomic::Ordering::SeqCst);
}

impl Flaky {
    fn fails(flag: &std::sync::atomic::AtomicBool) -> Result<(), IssuerError> {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Err(dead())
        } else {
            Ok(())
        }
    }

    /// The versions the store holds of `base`, and whether each has its secret.
    fn versions(&self, base: &str) -> Vec<(u32, bool)> {
        self.inner
            .load(base)
            .unwrap()
            .map(|r| {
                r.versions
                    .iter()
                    .map(|(v, k)| (*v, matches!(k.material, StoredMaterial::Private(_))))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl KeyStore for Flaky {
    fn load(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        Self::fails(&self.fail_load)?;
        self.inner.load(base)
    }
    fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
        Self::fails(&self.fail_save)?;
        self.inner.save(base, record)
    }
    fn bases(&self) -> Result<Vec<String>, IssuerError> {
        Self::fails(&self.fail_load)?;
        self.inner.bases()
    }
}

fn kid(base: &str, version: u32) -> KeyId {
    KeyId::new(base, version).unwrap()
}

/// The kids a ring publishes, in order.
fn jwks_kids(ring: &KeyRing) -> Vec<String> {
    ring.jwks().unwrap()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A primary and a secondary `Flaky`, mirrored (public keys only), and a ring over them.
fn flaky_mirror() -> (Arc<Flaky>, Arc<Flaky>, KeyRing) {
    let p = Arc::new(Flaky::default());
    let s = Arc::new(Flaky::default());
    let ring = KeyRing::shared(Arc::new(MirroredStore::new(p.clone(), s.clone())));
    (p, s, ring)
}

/// Fix 1: while the primary's reads fail, reads fail over to the secondary's public copies,
/// but no write is computed on them: every write fails with the primary's error, and the
/// primary keeps every version with its private half.
#[test]
fn mirrored_store_never_bases_a_write_on_the_secondary_copy() {
    let (p, s, ring) = flaky_mirror();
    ring.create_key(Some("api"), &KeySpec::new(KeyKind::EcP256))
        .unwrap();
    ring.rotate_key("api").unwrap();
    assert_eq!(p.versions("api"), [(1, true), (2, true)]);
    assert_eq!(s.versions("api"), [(1, false), (2, false)]);

    switch(&p.fail_load, true);
    // Reads fail over: the secondary's public copies are served, and cannot sign.
    assert_eq!(jwks_kids(&ring), ["api.2", "api.1"]);
    assert_eq!(
        ring.signing_key(&kid("api", 2)).unwrap_err(),
        IssuerError::NoPrivateKey {
            kid: "api.2".into()
        }
    );
    // Writes: the primary's error, whatever the change.
    assert_eq!(ring.destroy_version(&kid("api", 1)).unwrap_err(), dead());
    assert_eq!(ring.rotate_key("api").unwrap_err(), dead());
    assert_eq!(ring.destroy_key("api").unwrap_err(), dead());
    let spec = KeySpec::new(KeyKind::EcP256);
    assert_eq!(ring.create_key(Some("api"), &spec).unwrap_err(), dead());
    let stored = KeyRing::new(MemoryStore::new());
    let full = stored
        .create_key(Some("y"), &spec.export_policy(ExportPolicy::SecretAllowed))
        .unwrap();
    let key = stored.export_key(&full.id).unwrap();
    assert_eq!(ring.put_version(&kid("api", 9), key).unwrap_err(), dead());

    switch(&p.fail_load, false);
    // Both stores are as before the outage.
    assert_eq!(p.versions("api"), [(1, true), (2, true)]);
    assert_eq!(p.inner.load("api").unwrap().unwrap().next_version, 3);
    assert_eq!(s.versions("api"), [(1, false), (2, false)]);
    ring.signing_key(&kid("api", 2)).unwrap();
    ring.signing_key(&kid("api", 1)).unwrap();
    // And the writes work again.
    ring.destroy_version(&kid("api", 1)).unwrap();
    assert_eq!(p.versions("api"), [(2, true)]);
    assert_eq!(s.versions("api"), [(2, false)]);
}

/// Fix 1, the signer: a rotation while the primary's reads fail fails, keeps signing with
/// the current key, and leaves the primary intact (the rotation and the pruning after it
/// read the primary only).
#[test]
fn signer_rotation_fails_while_the_primary_reads_fail() {
    let clock = ManualClock::at_unix(T0);
    let (p, s, ring) = flaky_mirror();
    let signer = RotatingSigner::builder()
        .key_ring(ring.with_clock(clock.clone()))
        .key_id("api")
        .key_kind(KeyKind::EcP256)
        .issuer("https://issuer.test")
        .token_lifetime(Duration::from_secs(600))
        .retention(Duration::from_secs(3600))
        .clock(clock.clone())
        .build()
        .unwrap();
    signer.force_rotate().unwrap();
    clock.advance(Duration::from_secs(3601));
    switch(&p.fail_load, true);
    assert_eq!(signer.force_rotate().unwrap_err(), dead());
    assert_eq!(signer.current_kid(), kid("api", 2));
    assert_eq!(
        header(&signer.mint(&MintOptions::new()).unwrap())["kid"],
        "api.2"
    );
    switch(&p.fail_load, false);
    assert_eq!(p.versions("api"), [(1, true), (2, true)]);
    assert_eq!(s.versions("api"), [(1, false), (2, false)]);
    // Back up: the rotation prunes api.1 (its window closed) in both stores.
    assert_eq!(signer.force_rotate().unwrap(), kid("api", 3));
    assert_eq!(p.versions("api"), [(2, true), (3, true)]);
    assert_eq!(s.versions("api"), [(2, false), (3, false)]);
}

/// Fix 2: a destroy the secondary could not be told about is never served again by this
/// process, even from the secondary when the primary's reads fail, and is removed from the
/// secondary by a later write.
#[test]
fn unmirrored_destroys_are_never_served_and_are_retried() {
    let (p, s, ring) = flaky_mirror();
    let spec = KeySpec::new(KeyKind::EcP256);
    ring.create_key(Some("api"), &spec).unwrap();
    ring.rotate_key("api").unwrap();

    switch(&s.fail_save, true);
    assert_eq!(
        ring.destroy_version(&kid("api", 1)),
        Err(IssuerError::MirrorIncomplete {
            base: "api".into(),
            reason: dead().to_string(),
        })
    );
    assert_eq!(p.versions("api"), [(2, true)]);
    assert_eq!(s.versions("api"), [(1, false), (2, false)]);

    // The primary's reads fail: the secondary is read, without the destroyed version.
    switch(&p.fail_load, true);
    assert_eq!(jwks_kids(&ring), ["api.2"]);
    assert!(matches!(
        ring.public_jwk(&kid("api", 1)),
        Err(IssuerError::NotFound { .. })
    ));
    assert!(matches!(
        ring.resolve("api.1"),
        Err(IssuerError::NotFound { .. })
    ));
    assert_eq!(ring.resolve("api").unwrap().id, kid("api", 2));
    // What the documentation says a restarted process cannot know: a new mirrored store over
    // the same failing primary and stale secondary serves the secondary's copy.
    let restarted = KeyRing::shared(Arc::new(MirroredStore::new(p.clone(), s.clone())));
    assert_eq!(jwks_kids(&restarted), ["api.2", "api.1"]);

    // A later write while the secondary still fails: the write succeeds, the version stays
    // hidden.
    switch(&p.fail_load, false);
    ring.create_key(Some("other"), &spec).unwrap();
    assert_eq!(s.versions("api"), [(1, false), (2, false)]);
    switch(&p.fail_load, true);
    assert_eq!(jwks_kids(&ring), ["api.2"]);

    // The secondary is back: the next write (to another base) removes the copy there.
    switch(&p.fail_load, false);
    switch(&s.fail_save, false);
    ring.rotate_key("other").unwrap();
    assert_eq!(s.versions("api"), [(2, false)]);
    assert_eq!(s.inner.load("api").unwrap().unwrap().next_version, 3);
    switch(&p.fail_load, true);
    assert_eq!(jwks_kids(&ring), ["api.2", "other.2", "other.1"]);
    assert_eq!(jwks_kids(&restarted), ["api.2", "other.2", "other.1"]);
    switch(&p.fail_load, false);

    // A destroy of a whole base, then a write to the same base once the secondary is back:
    // the whole record is mirrored.
    switch(&s.fail_save, true);
    assert!(matches!(
        ring.destroy_key("other"),
        Err(IssuerError::MirrorIncomplete { base, .. }) if base == "other"
    ));
    switch(&p.fail_load, true);
    assert_eq!(jwks_kids(&ring), ["api.2"]);
    switch(&p.fail_load, false);
    switch(&s.fail_save, false);
    assert!(matches!(
        ring.create_key(Some("other"), &spec),
        Err(IssuerError::AlreadyExists { .. })
    ));
    ring.rotate_key("api").unwrap();
    assert_eq!(s.versions("other"), []);
    assert_eq!(s.versions("api"), [(2, false), (3, false)]);
}

/// Fix 2 under `MirrorMode::None`: the secondary (a backup) is never written, and a version
/// the primary destroyed is not served from it when the primary's reads fail.
#[test]
fn unmirrored_mode_hides_destroyed_versions_of_the_backup() {
    let p = Arc::new(Flaky::default());
    let s = Arc::new(Flaky::default());
    let copying = KeyRing::shared(Arc::new(MirroredStore::new(p.clone(), s.clone())));
    copying
        .create_key(Some("api"), &KeySpec::new(KeyKind::Ed25519))
        .unwrap();
    copying.rotate_key("api").unwrap();
    let ring = KeyRing::shared(Arc::new(
        MirroredStore::new(p.clone(), s.clone()).mirror_mode(MirrorMode::None),
    ));
    ring.destroy_version(&kid("api", 1)).unwrap();
    ring.rotate_key("api").unwrap();
    assert_eq!(p.versions("api"), [(2, true), (3, true)]);
    assert_eq!(s.versions("api"), [(1, false), (2, false)], "never written");
    switch(&p.fail_load, true);
    assert_eq!(jwks_kids(&ring), ["api.2"]);
}

/// Fix 3: `link/` and `link/.` name the link itself, and are refused as it is; a link on
/// the way to the directory is followed only when root or the effective user owns it.
#[test]
fn file_store_normalises_the_path_before_the_link_checks() {
    let real = TempDir::new("real2");
    FileStore::open(&real.0).unwrap();
    let link = TempDir::new("link2");
    std::os::unix::fs::symlink(&real.0, &link.0).unwrap();
    let link_refused = IssuerError::UntrustedPath {
        path: link.0.clone(),
        reason: "it is a symbolic link".into(),
    };
    for named in [
        format!("{}/", link.0.display()),
        format!("{}/.", link.0.display()),
        format!("{}//./", link.0.display()),
    ] {
        assert_eq!(
            FileStore::open(&named).unwrap_err(),
            link_refused,
            "{named}"
        );
    }
    // `..` is applied where the link leads, as the OS does: `link/../name` is next to `real`.
    let parent_name = format!(
        "{}/../{}",
        link.0.display(),
        link.0.file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(FileStore::open(&parent_name).unwrap_err(), link_refused);

    // A link on the way, owned by the effective user (or root): followed, resolved.
    let below = link.0.join("sub");
    let store = FileStore::open(format!("{}/", below.display())).unwrap();
    assert_eq!(store.dir(), real.0.join("sub"));
    use std::os::unix::fs::MetadataExt;
    if std::fs::symlink_metadata(&link.0).unwrap().uid() != 0 {
        eprintln!("skipped: changing a link's owner needs root, and this test is not root");
        return;
    }
    const NOBODY: u32 = 65534;
    std::os::unix::fs::lchown(&link.0, Some(NOBODY), None).unwrap();
    assert_eq!(
        FileStore::open(&below).unwrap_err(),
        IssuerError::UntrustedPath {
            path: link.0.clone(),
            reason: format!(
                "it is a symbolic link on the way to the key directory, owned by uid \
                 {NOBODY}: such links must be owned by root or the effective user (uid 0)"
            ),
        }
    );
    // A link whose target passes through another user's link is refused as well.
    let hop = TempDir::new("hop");
    std::os::unix::fs::symlink(&link.0, &hop.0).unwrap();
    assert!(matches!(
        FileStore::open(hop.0.join("sub")),
        Err(IssuerError::UntrustedPath { path, .. }) if path == link.0
    ));
}

/// A source handing over keys of unknown types and incomplete keys.
#[derive(Debug)]
struct StubSource;

impl KeySource for StubSource {
    fn fetch<'a>(
        &'a self,
        _: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        let good = KeyMaterial::generate(KeyKind::Ed25519)
            .unwrap()
            .to_public_jwk("ok.1", Algorithm::EdDSA)
            .unwrap();
        let doc = json!({"keys": [
            {"kty": "OCT", "kid": "O"},
            {"kty": "AKP", "kid": "pq", "alg": "ML-DSA-44", "pub": "AAAA"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AAAA"},
            {"kty": "RSA", "kid": "rsa", "n": "AQAB"},
            {"kty": "OKP", "kid": "okp", "x": "AAAA"},
            good,
        ]});
        Box::pin(async move {
            Ok(Fetched::Document {
                body: doc.to_string().into(),
                max_age: None,
                validators: Validators::default(),
            })
        })
    }
}

/// Fix 4: keys of an unknown type and incomplete keys are not published as stubs.
#[tokio::test]
async fn publisher_skips_unknown_and_incomplete_keys() {
    let good = |doc: &Value| {
        let keys = doc["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{doc}");
        assert_eq!(keys[0]["kid"], "ok.1");
        assert_eq!(keys[0]["kty"], "OKP");
        assert!(keys[0]["x"].is_string());
    };
    for router in [
        JwksPublisher::new(StubSource).router(),
        JwksPublisher::new(FailoverSource::merged(StubSource, StubSource)).router(),
    ] {
        let (listener, issuer) = bind().await;
        serve(listener, router);
        let served: Value = reqwest::get(format!("{issuer}/.well-known/jwks.json"))
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        good(&served);
    }
}
