//! Tests of the mock identity provider itself.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};

use crate::algorithms::Algorithm;
use serde_json::{Value, json};

use super::{ALGORITHMS, Fault, MockIdp, foreign_token};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build a reqwest client")
}

async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.expect("request the mock")
}

async fn json_body(response: reqwest::Response) -> Value {
    let body = response.bytes().await.expect("a body");
    serde_json::from_slice(&body).expect("a JSON body")
}

async fn get_json(url: &str) -> Value {
    json_body(get(url).await).await
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .map(|k| k["kid"].as_str().expect("a kid").to_owned())
        .collect()
}

/// The decoded JOSE header of `token`.
fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a header segment");
    let bytes = crate::encoding::b64url_decode(header).expect("base64url header");
    serde_json::from_slice(&bytes).expect("a JSON header")
}

/// ES512, which jsonwebtoken lacks: checked with aws-lc-rs directly against the JWK's point,
/// independently of the crate's verifier. Only the signature: the claims are returned as is.
fn verify_es512(token: &str, jwks: &Value) -> jsonwebtoken::errors::Result<Value> {
    use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, UnparsedPublicKey};
    let bad =
        || jsonwebtoken::errors::Error::from(jsonwebtoken::errors::ErrorKind::InvalidSignature);
    let kid = header_of(token)["kid"].clone();
    let jwk = jwks["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .find(|k| k["kid"] == kid && k["crv"] == "P-521")
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidToken)?;
    let coord = |m: &str| crate::encoding::b64url_decode(jwk[m].as_str().expect("coordinate"));
    let mut point = vec![4u8];
    point.extend(coord("x").expect("x"));
    point.extend(coord("y").expect("y"));
    let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
    let signature = crate::encoding::b64url_decode(signature).ok_or_else(bad)?;
    UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, &point)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| bad())?;
    let payload = signing_input.split('.').nth(1).expect("a payload");
    Ok(
        serde_json::from_slice(&crate::encoding::b64url_decode(payload).expect("payload"))
            .expect("JSON"),
    )
}

/// Verifies `token` against the JWK with its kid in `jwks`.
fn verify(
    token: &str,
    jwks: &Value,
    alg: Algorithm,
    issuer: &str,
) -> jsonwebtoken::errors::Result<Value> {
    let Some(jose_alg) = alg.to_jsonwebtoken() else {
        return verify_es512(token, jwks);
    };
    let header = jsonwebtoken::decode_header(token)?;
    let kid = header.kid.expect("token has a kid");
    let jwk = jwks["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidToken)?;
    let jwk: Jwk = serde_json::from_value(jwk.clone()).expect("a valid JWK");
    let key = DecodingKey::from_jwk(&jwk)?;
    let mut validation = Validation::new(jose_alg);
    validation.set_audience(&["test-api"]);
    validation.set_issuer(&[issuer]);
    Ok(jsonwebtoken::decode::<Value>(token, &key, &validation)?.claims)
}

#[tokio::test]
async fn serves_jwks_and_discovery_and_counts_fetches() {
    let idp = MockIdp::start().await;
    assert!(idp.url().starts_with("http://127.0.0.1:"));
    assert!(!idp.url().ends_with('/'));
    assert_eq!(idp.issuer(), idp.url());
    assert_eq!(idp.jwks_fetches(), 0);

    let response = get(&idp.jwks_url()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().get("cache-control").is_none());
    let jwks = json_body(response).await;
    assert_eq!(jwks, idp.jwks_json());
    assert_eq!(
        kids(&jwks),
        [
            "rs256-1", "rs384-1", "rs512-1", "ps256-1", "ps384-1", "ps512-1", "es256-1", "es384-1",
            "es512-1", "eddsa-1"
        ]
    );
    for key in jwks["keys"].as_array().expect("keys") {
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "no private members: {key}");
        let (kty, members): (&str, &[&str]) = match key["alg"].as_str() {
            Some("ES256" | "ES384" | "ES512") => ("EC", &["crv", "x", "y"]),
            Some("EdDSA") => ("OKP", &["crv", "x"]),
            _ => ("RSA", &["n", "e"]),
        };
        assert_eq!(key["kty"], kty);
        let mut expected = vec!["alg", "kid", "kty", "use"];
        expected.extend_from_slice(members);
        expected.sort_unstable();
        let mut actual: Vec<&str> = key
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        actual.sort_unstable();
        assert_eq!(actual, expected);
    }
    assert_eq!(jwks["keys"][6]["crv"], "P-256");
    assert_eq!(jwks["keys"][7]["crv"], "P-384");
    assert_eq!(jwks["keys"][8]["crv"], "P-521");
    assert_eq!(jwks["keys"][9]["crv"], "Ed25519");
    assert_eq!(idp.jwks_fetches(), 1);

    let discovery = get_json(&idp.discovery_url()).await;
    assert_eq!(discovery["issuer"], idp.issuer().as_str());
    assert_eq!(discovery["jwks_uri"], idp.jwks_url().as_str());
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"]
            .as_array()
            .map(Vec::len),
        Some(10)
    );
    assert_eq!(idp.discovery_fetches(), 1);
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn minted_tokens_verify_against_the_served_jwk_for_every_algorithm() {
    let idp = MockIdp::start().await;
    let jwks = get_json(&idp.jwks_url()).await;
    for alg in ALGORITHMS {
        let token = idp.mint(alg);
        let header = header_of(&token);
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], idp.kid(alg));
        let claims =
            verify(&token, &jwks, alg, &idp.issuer()).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["aud"], idp.audience());
        assert_eq!(claims["email"], "user-1@example.test");
        assert_eq!(claims["name"], "Test User");
        let (iat, nbf, exp) = (&claims["iat"], &claims["nbf"], &claims["exp"]);
        assert!(iat.is_i64() && nbf == iat);
        assert_eq!(exp.as_i64(), iat.as_i64().map(|t| t + 3600));
    }
}

#[tokio::test]
async fn builder_options_shape_header_and_claims() {
    let idp = MockIdp::start().await;
    let token = idp
        .token()
        .alg(Algorithm::ES384)
        .kid("other")
        .header("crit", json!(["exp"]))
        .subject("alice")
        .audience(json!(["a", "b"]))
        .claim("role", json!("admin"))
        .remove_claim("email")
        .expires_in(-10)
        .not_before_in(60)
        .sign();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |part: &str| -> Value {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("b64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let header = decode(parts[0]);
    assert_eq!(
        header,
        json!({ "alg": "ES384", "typ": "JWT", "kid": "other", "crit": ["exp"] })
    );
    let claims = decode(parts[1]);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], json!(["a", "b"]));
    assert_eq!(claims["role"], "admin");
    assert!(claims.get("email").is_none());
    let now = super::token::now();
    assert!(claims["exp"].as_i64().is_some_and(|exp| exp < now));
    assert!(claims["nbf"].as_i64().is_some_and(|nbf| nbf > now));

    let no_kid = idp.token().no_kid().sign();
    assert!(
        jsonwebtoken::decode_header(&no_kid)
            .expect("header")
            .kid
            .is_none()
    );

    // Signed with the ES384 key despite the foreign kid.
    let jwk: Jwk = serde_json::from_value(idp.public_jwk("es384-1").expect("jwk")).expect("Jwk");
    let message = format!("{}.{}", parts[0], parts[1]);
    let key = DecodingKey::from_jwk(&jwk).expect("key");
    assert!(
        jsonwebtoken::crypto::verify(
            parts[2],
            message.as_bytes(),
            &key,
            jsonwebtoken::Algorithm::ES384
        )
        .expect("verify")
    );
}

#[tokio::test]
async fn rotate_changes_kid_and_served_set() {
    let idp = MockIdp::start().await;
    let old_token = idp.mint(Algorithm::RS256);
    assert_eq!(idp.kid(Algorithm::RS256), "rs256-1");
    let new_kid = idp.rotate(Algorithm::RS256);
    assert_eq!(new_kid, "rs256-2");
    assert_eq!(idp.kid(Algorithm::RS256), "rs256-2");

    let jwks = get_json(&idp.jwks_url()).await;
    let served = kids(&jwks);
    assert!(served.contains(&new_kid) && !served.iter().any(|k| k == "rs256-1"));
    assert_eq!(served.len(), 10);
    assert!(
        verify(
            &idp.mint(Algorithm::RS256),
            &jwks,
            Algorithm::RS256,
            &idp.issuer()
        )
        .is_ok()
    );
    assert!(verify(&old_token, &jwks, Algorithm::RS256, &idp.issuer()).is_err());
    assert_ne!(idp.public_jwk("rs256-2"), None);
    assert_eq!(idp.public_jwk("rs256-1"), None);

    idp.keep_previous(true);
    assert_eq!(idp.rotate(Algorithm::EdDSA), "eddsa-2");
    let served = kids(&idp.jwks_json());
    assert!(served.iter().any(|k| k == "eddsa-1") && served.iter().any(|k| k == "eddsa-2"));
    assert_eq!(idp.kid(Algorithm::EdDSA), "eddsa-2");
}

#[tokio::test]
async fn status_garbage_and_redirect_faults() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Status(503));
    let response = get(&idp.jwks_url()).await;
    assert_eq!(response.status(), 503);
    assert!(response.bytes().await.expect("body").len() < 200);
    assert_eq!(get(&idp.discovery_url()).await.status(), 503);

    idp.set_fault(Fault::Garbage);
    let response = get(&idp.jwks_url()).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.expect("body");
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    idp.set_fault(Fault::Redirect("http://127.0.0.1:1/elsewhere".into()));
    let response = get(&idp.jwks_url()).await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "http://127.0.0.1:1/elsewhere"
    );

    idp.set_fault(Fault::None);
    assert_eq!(get(&idp.jwks_url()).await.status(), 200);
    assert_eq!(idp.jwks_fetches(), 4, "failed requests count too");
    assert_eq!(idp.discovery_fetches(), 1);
}

#[tokio::test]
async fn oversized_fault_is_valid_json_of_the_requested_size() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::Oversized(200_000));
    let body = get(&idp.jwks_url()).await.bytes().await.expect("body");
    assert_eq!(body.len(), 200_000);
    let value: Value = serde_json::from_slice(&body).expect("valid JSON");
    assert_eq!(value["keys"], idp.jwks_json()["keys"]);
}

#[tokio::test]
async fn delay_fault_waits_then_answers() {
    let idp = MockIdp::start().await;
    let delay = Duration::from_millis(300);
    idp.set_fault(Fault::Delay(delay));
    let started = Instant::now();
    let response = get(&idp.jwks_url()).await;
    assert!(started.elapsed() >= delay);
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await, idp.jwks_json());
}

#[tokio::test]
async fn slow_drip_sends_a_first_byte_but_never_finishes() {
    let idp = MockIdp::start().await;
    idp.set_fault(Fault::SlowDrip {
        chunk_every: Duration::from_millis(50),
    });
    let mut response = get(&idp.jwks_url()).await;
    assert_eq!(response.status(), 200);
    let first = response
        .chunk()
        .await
        .expect("read")
        .expect("a first chunk");
    assert_eq!(&first[..], b"{");
    let rest = tokio::time::timeout(Duration::from_millis(300), response.bytes()).await;
    assert!(rest.is_err(), "the body must not finish within 300 ms");
}

#[tokio::test]
async fn override_cache_control_and_issuer() {
    let idp = MockIdp::start().await;
    let hostile = json!({ "keys": [{ "kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB", "extra": [1, 2] }] });
    idp.set_jwks_override(Some(hostile.clone()));
    assert_eq!(get_json(&idp.jwks_url()).await, hostile);
    assert_eq!(idp.jwks_json(), hostile);
    idp.set_jwks_override(None);
    assert_eq!(kids(&get_json(&idp.jwks_url()).await).len(), 10);

    idp.set_cache_control(Some("public, max-age=60"));
    let response = get(&idp.jwks_url()).await;
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
    idp.set_cache_control(None);
    assert!(
        get(&idp.jwks_url())
            .await
            .headers()
            .get("cache-control")
            .is_none()
    );

    idp.set_issuer("https://issuer.example.test/");
    assert_eq!(idp.issuer(), "https://issuer.example.test/");
    assert_eq!(
        get_json(&idp.discovery_url()).await["issuer"],
        "https://issuer.example.test/"
    );
    let claims = verify(
        &idp.mint(Algorithm::PS256),
        &idp.jwks_json(),
        Algorithm::PS256,
        "https://issuer.example.test/",
    )
    .expect("verifies with the new issuer");
    assert_eq!(claims["iss"], "https://issuer.example.test/");
}

#[tokio::test]
async fn foreign_raw_hmac_and_pem_helpers() {
    let idp = MockIdp::start().await;
    let jwks = idp.jwks_json();
    let claims = json!({ "iss": idp.issuer(), "aud": "test-api", "sub": "mallory", "exp": super::token::now() + 60 });
    for alg in ALGORITHMS {
        let forged = foreign_token(alg, &idp.kid(alg), claims.clone());
        let err = verify(&forged, &jwks, alg, &idp.issuer()).expect_err("forged signature");
        assert_eq!(
            err.kind(),
            &jsonwebtoken::errors::ErrorKind::InvalidSignature,
            "{alg:?}"
        );
    }

    let raw = idp.sign_raw(
        Algorithm::ES256,
        r#"{"alg":"ES256","kid":"es256-1"}"#,
        r#"{"sub":"a","sub":"b"}"#,
    );
    let parts: Vec<&str> = raw.split('.').collect();
    assert_eq!(parts[1], super::keys::b64url(br#"{"sub":"a","sub":"b"}"#));
    let jwk: Jwk = serde_json::from_value(idp.public_jwk("es256-1").expect("jwk")).expect("Jwk");
    let key = DecodingKey::from_jwk(&jwk).expect("key");
    let message = format!("{}.{}", parts[0], parts[1]);
    assert!(
        jsonwebtoken::crypto::verify(
            parts[2],
            message.as_bytes(),
            &key,
            jsonwebtoken::Algorithm::ES256
        )
        .expect("verify")
    );

    let pem = idp.rsa_public_pem("rs256-1").expect("an RSA key");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(idp.rsa_public_pem("es256-1").is_none());
    assert!(idp.rsa_public_pem("nope").is_none());
    let from_pem = DecodingKey::from_rsa_pem(pem.as_bytes()).expect("PEM parses");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["test-api"]);
    assert!(
        jsonwebtoken::decode::<Value>(&idp.mint(Algorithm::RS256), &from_pem, &validation).is_ok()
    );

    // Algorithm confusion: HS256 keyed with the public PEM.
    let confused = idp
        .token()
        .alg(Algorithm::HS256)
        .hmac_secret(&pem)
        .kid("rs256-1")
        .sign();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["test-api"]);
    let secret = DecodingKey::from_secret(pem.as_bytes());
    assert!(jsonwebtoken::decode::<Value>(&confused, &secret, &validation).is_ok());
}

#[tokio::test]
async fn mocks_share_pooled_keys_and_stop_on_shutdown_or_drop() {
    let first = MockIdp::start().await;
    let second = MockIdp::start().await;
    assert_ne!(first.url(), second.url());
    assert_eq!(first.public_jwk("rs256-1"), second.public_jwk("rs256-1"));
    assert_ne!(
        first.public_jwk("rs256-1").map(|k| k["n"].clone()),
        first.public_jwk("ps256-1").map(|k| k["n"].clone())
    );

    let addr = first.url().trim_start_matches("http://").to_owned();
    let clone = first.clone();
    drop(first);
    assert_eq!(
        get(&clone.jwks_url()).await.status(),
        200,
        "a clone keeps it alive"
    );
    clone.shutdown();
    assert!(stops_accepting(&addr).await, "shutdown stops the server");

    let addr = second.url().trim_start_matches("http://").to_owned();
    drop(second);
    assert!(
        stops_accepting(&addr).await,
        "dropping the last clone stops the server"
    );
}

/// Whether connecting to `addr` fails within a bounded number of scheduler
/// turns (the server task needs to run to drop its listener).
async fn stops_accepting(addr: &str) -> bool {
    for _ in 0..10_000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}
