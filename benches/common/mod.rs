//! Shared set-up of the benches: a mock IdP, warmed verifiers behind `JwksAuthLayer`, and the
//! floor (`jsonwebtoken::decode` with a prepared key and `Validation`; for ES512, which
//! jsonwebtoken lacks, aws-lc-rs's verify with a prepared key plus the same claim checks).
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;

use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, ParsedPublicKey};
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt;
use http::{Request, Response};
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithm, JwksAuth, JwksAuthLayer, JwksVerifier};
use tower::{Layer, ServiceExt, service_fn};

pub const ALGS: [(Algorithm, &str); 4] = [
    (Algorithm::RS256, "RS256"),
    (Algorithm::ES256, "ES256"),
    (Algorithm::ES512, "ES512"),
    (Algorithm::EdDSA, "EdDSA"),
];

/// Requests carry an empty `()` body so that a prepared request can be cloned per iteration:
/// building one (formatting and validating an 800-byte header) would otherwise be measured too.
pub type Inner = tower::util::ServiceFn<
    fn(Request<()>) -> std::future::Ready<Result<Response<Body>, Infallible>>,
>;

fn trivial(_req: Request<()>) -> std::future::Ready<Result<Response<Body>, Infallible>> {
    std::future::ready(Ok(Response::new(Body::empty())))
}

pub struct Setup {
    pub rt: tokio::runtime::Runtime,
    pub idp: MockIdp,
    /// Verified-token cache off: every request checks the signature.
    pub cold: JwksAuth<Inner>,
    /// Verified-token cache on.
    pub repeat: JwksAuth<Inner>,
}

pub fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let idp = rt.block_on(MockIdp::start());
    let build = |capacity: u64| {
        let verifier = JwksVerifier::builder()
            .jwks_url(idp.jwks_url())
            .issuer(idp.issuer())
            .audience(idp.audience())
            .token_cache_capacity(capacity)
            .build()
            .expect("config");
        rt.block_on(verifier.refresh()).expect("warm the key cache");
        let inner: Inner = service_fn(trivial as fn(_) -> _);
        JwksAuthLayer::new(verifier).layer(inner)
    };
    let cold = build(0);
    let repeat = build(10_000);
    Setup {
        rt,
        idp,
        cold,
        repeat,
    }
}

/// The floor for one algorithm: a token, its prepared key and `Validation`.
pub struct Floor {
    pub token: String,
    /// A prepared request carrying the token.
    pub request: Request<()>,
    pub key: FloorKey,
    pub validation: Validation,
}

/// The floor's prepared key: jsonwebtoken's, or (ES512) aws-lc-rs's.
pub enum FloorKey {
    Jose(DecodingKey),
    P521(ParsedPublicKey),
}

impl Floor {
    pub fn new(s: &Setup, alg: Algorithm) -> Self {
        let token = s.idp.token().alg(alg).expires_in(86_400).sign();
        let jwk_value = s.idp.public_jwk(&s.idp.kid(alg)).expect("published key");
        let jose_alg = alg.as_str().parse().ok();
        let key = match jose_alg {
            Some(_) => {
                let jwk: Jwk = serde_json::from_value(jwk_value).expect("jwk");
                FloorKey::Jose(DecodingKey::from_jwk(&jwk).expect("decoding key"))
            }
            None => {
                let coord = |m: &str| URL_SAFE_NO_PAD.decode(jwk_value[m].as_str().unwrap());
                let mut point = vec![4u8];
                point.extend(coord("x").expect("x"));
                point.extend(coord("y").expect("y"));
                FloorKey::P521(
                    ParsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point).expect("P-521"),
                )
            }
        };
        // For ES512 only its claim checks are used (its alg is checked by hand).
        let mut validation = Validation::new(jose_alg.unwrap_or(jsonwebtoken::Algorithm::ES384));
        validation.set_audience(&[s.idp.audience()]);
        validation.set_issuer(&[s.idp.issuer()]);
        let request = bearer(&token);
        let floor = Self {
            token,
            request,
            key,
            validation,
        };
        floor.decode();
        assert_eq!(call(&s.cold, floor.request.clone()), 200);
        assert_eq!(call(&s.repeat, floor.request.clone()), 200);
        floor
    }

    pub fn decode(&self) {
        match &self.key {
            FloorKey::Jose(key) => {
                jsonwebtoken::decode::<serde_json::Value>(&self.token, key, &self.validation)
                    .expect("valid");
            }
            FloorKey::P521(key) => {
                // What jsonwebtoken::decode does, with aws-lc-rs's P-521 verify.
                let (input, sig) = self.token.rsplit_once('.').expect("compact");
                let (header, payload) = input.split_once('.').expect("compact");
                let header: serde_json::Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64"))
                        .expect("json");
                assert_eq!(header["alg"], "ES512");
                let sig = URL_SAFE_NO_PAD.decode(sig).expect("b64");
                key.verify_sig(input.as_bytes(), &sig).expect("valid");
                let claims: serde_json::Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64"))
                        .expect("json");
                let exp = claims["exp"].as_u64().expect("exp");
                assert!(exp > jsonwebtoken::get_current_timestamp());
                assert!(
                    self.validation
                        .iss
                        .as_ref()
                        .is_some_and(|iss| claims["iss"].as_str().is_some_and(|i| iss.contains(i)))
                );
                assert!(
                    self.validation
                        .aud
                        .as_ref()
                        .is_some_and(|aud| claims["aud"].as_str().is_some_and(|a| aud.contains(a)))
                );
            }
        }
    }
}

/// One request through the service; the cached-key path completes on its first poll, so no
/// executor is involved (the same as for the floor).
pub fn call(svc: &JwksAuth<Inner>, request: Request<()>) -> u16 {
    let response = svc
        .clone()
        .oneshot(request)
        .now_or_never()
        .expect("cached-key path completes without waiting")
        .expect("infallible");
    response.status().as_u16()
}

/// A request carrying `token` as a bearer token (clone it for each call).
pub fn bearer(token: &str) -> Request<()> {
    Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("request")
}
