//! Writes the fixtures and seed corpora of the fuzz targets (run once; the output is committed).
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example gen_fixtures
//! ```
//!
//! The `verify` target verifies against `fixtures/jwks.json` with a clock fixed at
//! [`NOW`]; its oracle is `fixtures/accept.txt`: every token a verifier may accept. The private
//! keys live only in this process (the mock identity provider's pool), so after this program
//! exits nobody can sign another token for that key set: a fuzzed token that verifies must be
//! one of those lines, byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use jwks_auth::Algorithm;
use jwks_auth::testing::{ALGORITHMS, MockIdp};
use serde_json::{Value, json};

/// The fuzz verifier's clock (2023-11-14T22:13:20Z).
const NOW: i64 = 1_700_000_000;
const ISSUER: &str = "https://idp.example.test";
const AUDIENCE: &str = "fuzz-api";
/// The fuzz verifier's local HMAC secret (kid `hs-1`).
const HMAC_SECRET: &str = "fuzz-fixture-hmac-secret-0123456789abcdef";

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(dir.join(name), bytes).expect("write");
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "user-1", "aud": AUDIENCE,
        "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600,
        "email": "user-1@example.test", "scope": "read write",
    })
}

fn header(alg: Algorithm, kid: &str) -> String {
    json!({ "alg": alg, "typ": "JWT", "kid": kid }).to_string()
}

fn hs256(header_json: &str, payload_json: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!("{}.{}", b64.encode(header_json), b64.encode(payload_json));
    let key = jsonwebtoken::EncodingKey::from_secret(HMAC_SECRET.as_bytes());
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
        .expect("hmac");
    format!("{input}.{sig}")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("fixtures");
    let seeds = root.join("seeds");
    let idp = MockIdp::start().await;

    // The key set: the mock's ten keys (RS*, PS*, ES256, ES384, ES512, EdDSA).
    let jwks = idp.jwks_json();
    write(
        &fixtures,
        "jwks.json",
        serde_json::to_string_pretty(&jwks).expect("json"),
    );

    let mut accept = Vec::new();
    let mut refuse = Vec::new();
    for alg in ALGORITHMS {
        let kid = idp.kid(alg);
        accept.push(idp.sign_raw(alg, &header(alg, &kid), &claims().to_string()));
        let mut c = claims();
        c["aud"] = json!(["other", AUDIENCE]);
        c["nested"] = json!({"a": [1, 2, {"b": null}], "n": 1.5});
        accept.push(idp.sign_raw(alg, &header(alg, &kid), &c.to_string()));
    }
    // At the edges with the 30 s leeway: exp + 30 a millisecond after NOW (exp is exclusive),
    // nbf - 30 == NOW (inclusive). `exp + 30 == NOW` is in refuse.txt.
    let mut edge = claims();
    edge["exp"] = json!(1_699_999_970.001);
    edge["nbf"] = json!(NOW + 30);
    accept.push(idp.sign_raw(
        Algorithm::ES256,
        &header(Algorithm::ES256, &idp.kid(Algorithm::ES256)),
        &edge.to_string(),
    ));
    accept.push(hs256(
        &header(Algorithm::HS256, "hs-1"),
        &claims().to_string(),
    ));

    // Signed with the right key, and still refused.
    let rs = |payload: Value| {
        idp.sign_raw(
            Algorithm::RS256,
            &header(Algorithm::RS256, &idp.kid(Algorithm::RS256)),
            &payload.to_string(),
        )
    };
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c[name] = value;
        c
    };
    let without = |name: &str| {
        let mut c = claims();
        c.as_object_mut().expect("object").remove(name);
        c
    };
    refuse.push(rs(with("exp", json!(NOW - 31))));
    refuse.push(rs(with("exp", json!(NOW - 30))));
    refuse.push(rs(with("nbf", json!(NOW + 31))));
    refuse.push(rs(with("exp", json!("1700003600"))));
    // Fractional NumericDates are valid (RFC 7519 section 2; issue 13 point 2) and compared
    // exactly: accepted here, and refused just past the leeway below.
    accept.push(rs(with("exp", json!(1_700_003_600.5))));
    let mut fractional = claims();
    fractional["iat"] = json!(1_699_999_940.25);
    fractional["nbf"] = json!(1_700_000_029.875);
    fractional["auth_time"] = json!(1.69999e9);
    accept.push(rs(fractional));
    refuse.push(rs(with("exp", json!(1_699_999_969.999))));
    refuse.push(rs(with("nbf", json!(1_700_000_030.001))));
    refuse.push(rs(with("exp", json!(-1))));
    refuse.push(rs(with("iat", json!(-0.5))));
    refuse.push(rs(with("iss", json!(format!("{ISSUER}/")))));
    refuse.push(rs(with("iss", json!("https://IDP.example.test"))));
    refuse.push(rs(with("aud", json!("other"))));
    refuse.push(rs(with("aud", json!([]))));
    refuse.push(rs(with("aud", json!([1]))));
    refuse.push(rs(without("exp")));
    refuse.push(rs(without("aud")));
    let body = claims().to_string();
    let dup = format!("{},\"sub\":\"admin\"}}", &body[..body.len() - 1]);
    refuse.push(idp.sign_raw(
        Algorithm::RS256,
        &header(Algorithm::RS256, &idp.kid(Algorithm::RS256)),
        &dup,
    ));
    let rs_kid = idp.kid(Algorithm::RS256);
    refuse.push(idp.sign_raw(
        Algorithm::RS256,
        &format!(r#"{{"alg":"RS256","kid":"{rs_kid}","crit":["exp"]}}"#),
        &body,
    ));
    refuse.push(idp.sign_raw(
        Algorithm::RS256,
        &format!(r#"{{"alg":"RS256","kid":"{rs_kid}","b64":false}}"#),
        &body,
    ));
    refuse.push(idp.sign_raw(
        Algorithm::RS256,
        &format!(r#"{{"alg":"RS256","alg":"RS256","kid":"{rs_kid}"}}"#),
        &body,
    ));
    // PS256 signature under the RS256 key's kid: the key is pinned to RS256.
    refuse.push(idp.sign_raw(Algorithm::PS256, &header(Algorithm::PS256, &rs_kid), &body));
    // Unknown kid, and no kid.
    refuse.push(idp.sign_raw(
        Algorithm::RS256,
        &header(Algorithm::RS256, "rs256-9"),
        &body,
    ));
    refuse.push(idp.sign_raw(Algorithm::RS256, r#"{"alg":"RS256","typ":"JWT"}"#, &body));
    // HS256 with the wrong secret's kid, and with the RSA modulus as secret (key confusion).
    refuse.push(hs256(&header(Algorithm::HS256, "hs-2"), &body));
    refuse.push(hs256(
        &header(Algorithm::HS256, &rs_kid),
        &with("exp", json!(NOW - 31)).to_string(),
    ));
    // A key the set never published.
    refuse.push(jwks_auth::testing::foreign_token(
        Algorithm::ES256,
        &idp.kid(Algorithm::ES256),
        claims(),
    ));

    write(&fixtures, "accept.txt", accept.join("\n") + "\n");
    write(&fixtures, "refuse.txt", refuse.join("\n") + "\n");

    let verify = seeds.join("verify");
    let compact = seeds.join("compact");
    for (i, t) in accept.iter().enumerate() {
        write(&verify, &format!("accept-{i:02}"), t);
        write(&compact, &format!("accept-{i:02}"), t);
    }
    for (i, t) in refuse.iter().enumerate() {
        write(&verify, &format!("refuse-{i:02}"), t);
        write(&compact, &format!("refuse-{i:02}"), t);
    }
    for (name, t) in [
        ("none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."),
        ("two-segments", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0"),
        ("padding", "eyJhbGciOiJSUzI1NiJ9=.eyJzdWIiOiJhIn0.c2ln"),
    ] {
        write(&compact, name, t);
    }

    // JWKS documents: the fixture, one key alone, Cloudflare's certs shape, and a mixed set.
    let jwks_dir = seeds.join("jwks");
    write(&jwks_dir, "fixture.json", jwks.to_string());
    let keys = jwks["keys"].as_array().expect("keys").clone();
    for (i, k) in keys.iter().enumerate() {
        write(
            &jwks_dir,
            &format!("one-{i}.json"),
            json!({ "keys": [k] }).to_string(),
        );
    }
    let rsa = keys[0].clone();
    write(
        &jwks_dir,
        "cloudflare-certs.json",
        json!({
            "keys": [rsa.clone()],
            "public_cert": { "kid": rsa["kid"], "cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
            "public_certs": [{ "kid": rsa["kid"], "cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" }],
        })
        .to_string(),
    );
    let mut private = keys[6].clone();
    private["d"] = json!("AAAA");
    let mut enc = keys[0].clone();
    enc["use"] = json!("enc");
    let mut no_alg = keys[7].clone();
    no_alg.as_object_mut().expect("jwk").remove("alg");
    let mut versioned = keys[8].clone();
    versioned["kid"] = json!("signing.3");
    write(
        &jwks_dir,
        "mixed.json",
        json!({ "keys": [
            private, enc, no_alg, versioned,
            { "kty": "oct", "k": "c2VjcmV0", "kid": "sym" },
            { "kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB" },
            { "kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA" },
            { "kty": "OKP", "crv": "X25519", "kid": "x", "x": "AA" },
            { "kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": rsa["n"], "e": "AQAB" },
            keys[1].clone(),
        ]})
        .to_string(),
    );
    write(&jwks_dir, "empty.json", r#"{"keys":[]}"#);
    // Duplicate kids (issue 13 point 1): one key twice, and different RSA keys under one kid.
    let under_rsa_kid = |k: &Value| {
        let mut k = k.clone();
        k["kid"] = rsa["kid"].clone();
        k["alg"] = rsa["alg"].clone();
        k
    };
    let (b, c, d) = (
        under_rsa_kid(&keys[1]),
        under_rsa_kid(&keys[2]),
        under_rsa_kid(&keys[3]),
    );
    let dup = |keys: Vec<Value>| json!({ "keys": keys }).to_string();
    let mut empty_kid = rsa.clone();
    empty_kid["kid"] = json!("");
    write(&jwks_dir, "empty-kid.json", dup(vec![empty_kid]));
    write(&jwks_dir, "duplicate-kid-same-key.json", dup(vec![rsa.clone(), rsa.clone()]));
    write(&jwks_dir, "duplicate-kid-two-keys.json", dup(vec![rsa.clone(), b.clone()]));
    write(
        &jwks_dir,
        "duplicate-kid-four-keys.json",
        dup(vec![b, c, d, rsa.clone(), rsa.clone()]),
    );

    // Discovery documents (first byte chooses the configured issuer in the target).
    let disc = seeds.join("discovery");
    let doc = |issuer: &str, jwks_uri: &str| {
        json!({
            "issuer": issuer, "jwks_uri": jwks_uri,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        })
        .to_string()
    };
    write(
        &disc,
        "ok",
        [
            b"\x00".as_slice(),
            doc(ISSUER, "https://idp.example.test/.well-known/jwks.json").as_bytes(),
        ]
        .concat(),
    );
    write(
        &disc,
        "loopback",
        [
            b"\x00".as_slice(),
            doc(ISSUER, "http://127.0.0.1:8080/jwks").as_bytes(),
        ]
        .concat(),
    );
    write(
        &disc,
        "http",
        [
            b"\x00".as_slice(),
            doc(ISSUER, "http://idp.example.test/jwks").as_bytes(),
        ]
        .concat(),
    );
    write(
        &disc,
        "other-issuer",
        [
            b"\x00".as_slice(),
            doc("https://evil.example", "https://evil.example/jwks").as_bytes(),
        ]
        .concat(),
    );
    write(
        &disc,
        "trailing-slash",
        [
            b"\x01".as_slice(),
            doc(ISSUER, "https://idp.example.test/jwks").as_bytes(),
        ]
        .concat(),
    );
    write(
        &disc,
        "keycloak",
        [
            b"\x02".as_slice(),
            doc(
                "https://kc.example.test/realms/main",
                "https://kc.example.test/realms/main/protocol/openid-connect/certs",
            )
            .as_bytes(),
        ]
        .concat(),
    );

    // Cloudflare get-identity documents.
    let cf = seeds.join("cf_identity");
    write(
        &cf,
        "user.json",
        json!({
            "id": "1234", "name": "Alice", "email": "alice@example.test",
            "amr": ["pwd", "mfa"], "oidc_fields": { "preferred_username": "alice" },
            "groups": ["finance", { "id": "g2", "name": "eng", "email": "eng@example.test" }],
            "idp": { "id": "7d2c", "type": "okta" }, "geo": { "country": "NL" },
            "user_uuid": "0a1b2c3d-0000-4000-8000-000000000001", "account_id": "acc",
            "iat": NOW, "ip": "192.0.2.1", "auth_status": "NONE", "common_name": "",
            "service_token_id": "", "service_token_status": false, "is_warp": false,
            "is_gateway": false, "gateway_account_id": "", "device_id": "", "version": 2,
            "devicePosture": { "r1": { "id": "r1", "rule_name": "disk", "success": true,
                "timestamp": "2023-11-14T22:13:20Z", "input": { "path": "/" } } },
            "device_sessions": { "s1": { "last_authenticated": NOW } },
            "mtls_auth": { "cert_issuer_dn": "", "cert_serial": "", "cert_subject_dn": "", "cert_presented": false, "cert_revoked": false, "auth_status": "NONE" },
            "custom": { "department": "x" }, "something_new": [1, 2, 3],
        })
        .to_string(),
    );
    write(
        &cf,
        "service-token.json",
        json!({ "common_name": "abc.access", "service_token_id": "st-1", "service_token_status": true, "iat": NOW })
            .to_string(),
    );
    write(&cf, "error.json", r#"{"err":"no CF_Authorization cookie"}"#);

    // Header maps: first byte picks the source order, then `name: value` lines.
    let tx = seeds.join("token_extract");
    let t = &accept[0];
    for (name, sel, lines) in [
        ("bearer", 0u8, format!("authorization: Bearer {t}")),
        ("bearer-lower", 0, format!("authorization: bearer  {t}")),
        (
            "two-auth",
            0,
            format!("authorization: Bearer {t}\nauthorization: Bearer a.b.c"),
        ),
        ("basic", 0, "authorization: Basic dXNlcjpwYXNz".to_owned()),
        ("cf-header", 0, format!("cf-access-jwt-assertion: {t}")),
        (
            "cookie",
            0,
            format!("cookie: a=1; CF_Authorization={t}; b=2"),
        ),
        (
            "cookie-quoted",
            0,
            format!("cookie: CF_Authorization=\"{t}\""),
        ),
        (
            "cookies-split",
            0,
            format!("cookie: x=1\ncookie: y=2; CF_Authorization={t}"),
        ),
        (
            "all-three",
            0,
            format!(
                "authorization: Bearer {t}\ncf-access-jwt-assertion: h.h.h\ncookie: CF_Authorization=c.c.c"
            ),
        ),
        (
            "cookie-first",
            3,
            format!("authorization: Bearer {t}\ncookie: CF_Authorization=c.c.c"),
        ),
        ("custom", 5, format!("x-token: {t}\ncookie: session=s.s.s")),
    ] {
        write(&tx, name, [&[sel][..], lines.as_bytes()].concat());
    }
    let many: String = (0..150).map(|i| format!("c{i}=v; ")).collect();
    write(
        &tx,
        "many-cookies",
        [
            &[0u8][..],
            format!("cookie: {many}CF_Authorization={t}").as_bytes(),
        ]
        .concat(),
    );

    println!(
        "wrote {} accept, {} refuse tokens and the seed corpora under {}",
        accept.len(),
        refuse.len(),
        root.display()
    );
}
