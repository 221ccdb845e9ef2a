//! The mock's OAuth 2.0 token introspection endpoint (RFC 7662): opaque tokens it minted,
//! revocation, client authentication (`client_secret_basic`, `client_secret_post`,
//! `private_key_jwt`), signed answers when asked for them (RFC 9701) and the faults of
//! [`Fault`].

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value, json};
use url::form_urlencoded;

use super::server::{apply_given_fault, json_response};
use super::token::{DEFAULT_AUDIENCE, DEFAULT_SUBJECT, now, sign_compact};
use super::{Fault, MockIdp, Shared};
use crate::algorithms::Algorithm;

/// Path of the introspection endpoint.
pub(crate) const INTROSPECTION_PATH: &str = "/oauth2/introspect";
/// The client id the mock's introspection endpoint accepts by default.
pub const INTROSPECTION_CLIENT_ID: &str = "test-api";
/// The client secret the mock's introspection endpoint accepts by default.
pub const INTROSPECTION_CLIENT_SECRET: &str = "test-api-secret";

/// The endpoint's state.
pub(crate) struct IntrospectionState {
    config: Mutex<Config>,
    calls: AtomicUsize,
    minted: AtomicUsize,
}

struct Config {
    /// Active tokens and the claims their answer carries (`active` aside).
    tokens: HashMap<String, Map<String, Value>>,
    client_id: String,
    client_secret: String,
    /// A client that authenticates with `private_key_jwt`: its id, public key and algorithm.
    client_key: Option<(String, DecodingKey, jsonwebtoken::Algorithm)>,
    /// The `jti` of every client assertion accepted: a replay is refused.
    seen_jtis: HashSet<String>,
    /// The `aud` of signed answers instead of the authenticated client id.
    jwt_audience: Option<String>,
    fault: Fault,
}

impl Default for IntrospectionState {
    fn default() -> Self {
        Self {
            config: Mutex::new(Config {
                tokens: HashMap::new(),
                client_id: INTROSPECTION_CLIENT_ID.to_owned(),
                client_secret: INTROSPECTION_CLIENT_SECRET.to_owned(),
                client_key: None,
                seen_jtis: HashSet::new(),
                jwt_audience: None,
                fault: Fault::None,
            }),
            calls: AtomicUsize::new(0),
            minted: AtomicUsize::new(0),
        }
    }
}

impl IntrospectionState {
    fn config(&self) -> MutexGuard<'_, Config> {
        self.config.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route(INTROSPECTION_PATH, post(introspect))
}

/// The answer for a token nobody knows, also the base of the `Oversized` fault.
fn inactive(_: &Shared) -> Value {
    json!({ "active": false })
}

async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let state = &shared.introspection;
    state.calls.fetch_add(1, Ordering::SeqCst);
    let fault = state.config().fault.clone();
    if let Some(response) = apply_given_fault(&shared, fault, inactive).await {
        return response;
    }
    let (client_id, client_secret) = {
        let config = state.config();
        (config.client_id.clone(), config.client_secret.clone())
    };
    let presented = basic_credentials(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let authenticated = match form.get("client_assertion") {
        Some(assertion) => assertion_valid(&shared, &form, assertion),
        None => presented == Some((client_id.clone(), client_secret)),
    };
    if !authenticated {
        let mut response = json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_client" }).to_string(),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mock\""),
        );
        return response;
    }
    let answer = form
        .get("token")
        .and_then(|token| state.config().tokens.get(token).cloned())
        .map_or_else(
            || json!({ "active": false }),
            |mut claims| {
                claims.insert("active".into(), Value::Bool(true));
                Value::Object(claims)
            },
        );
    let wants_jwt = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/token-introspection+jwt"));
    if wants_jwt {
        // The authenticated client: the form's `client_id` (post, private_key_jwt) or Basic's.
        let client = form.get("client_id").cloned().unwrap_or(client_id);
        let audience = state.config().jwt_audience.clone().unwrap_or(client);
        return signed_answer(&shared, &audience, answer);
    }
    json_response(StatusCode::OK, answer.to_string())
}

/// The answer as RFC 9701 has it: a JWT signed with the mock's current RS256 key.
fn signed_answer(shared: &Shared, client_id: &str, answer: Value) -> Response {
    let alg = Algorithm::RS256;
    let (kid, key) = shared.current_key(alg);
    let header = json!({ "alg": alg, "kid": kid, "typ": "token-introspection+jwt" });
    let claims = json!({
        "iss": shared.issuer(),
        "aud": client_id,
        "iat": now(),
        "token_introspection": answer,
    });
    let jwt = sign_compact(
        &key.signer,
        alg,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    );
    let mut response = Response::new(axum::body::Body::from(jwt));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/token-introspection+jwt"),
    );
    response
}

/// A `private_key_jwt` client assertion (RFC 7523 section 3): the registered client's key,
/// `iss` = `sub` = its id, `aud` the endpoint URL or the issuer, unexpired, `jti` never seen.
fn assertion_valid(shared: &Shared, form: &HashMap<String, String>, assertion: &str) -> bool {
    let type_ok = form.get("client_assertion_type").map(String::as_str)
        == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let mut config = shared.introspection.config();
    let Some((client_id, key, alg)) = &config.client_key else {
        return false;
    };
    let mut validation = Validation::new(*alg);
    validation.set_audience(&[
        format!("{}{INTROSPECTION_PATH}", shared.url()),
        shared.issuer(),
    ]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let Ok(data) = jsonwebtoken::decode::<Value>(assertion, key, &validation) else {
        return false;
    };
    let Some(jti) = data.claims.get("jti").and_then(Value::as_str) else {
        return false;
    };
    let fresh = config.seen_jtis.insert(jti.to_owned());
    type_ok && fresh
}

/// `Authorization: Basic` credentials, each part form-urldecoded (RFC 6749 section 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

/// An opaque token being minted: [`MockIdp::opaque_token`].
#[must_use]
pub struct OpaqueTokenBuilder {
    shared: Arc<Shared>,
    claims: Map<String, Value>,
}

impl OpaqueTokenBuilder {
    /// Sets (or replaces) a member of the introspection answer.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a member of the introspection answer.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `exp` to now + `secs` (negative for an already expired token).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", json!(now().saturating_add(secs)))
    }

    /// Registers the token as active and returns it: a random-looking string that is not a
    /// JWT.
    pub fn issue(self) -> String {
        let state = &self.shared.introspection;
        let n = state.minted.fetch_add(1, Ordering::SeqCst);
        // Unique per mock, unguessable enough for tests, and not a JWT.
        let token = format!("mock_at_{n}_{:016x}", RandomState::new().hash_one(n));
        state.config().tokens.insert(token.clone(), self.claims);
        token
    }
}

impl std::fmt::Debug for OpaqueTokenBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaqueTokenBuilder")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl MockIdp {
    /// URL of the token introspection endpoint (RFC 7662), also announced as
    /// `introspection_endpoint` in the discovery document. It accepts the client
    /// [`INTROSPECTION_CLIENT_ID`] with [`INTROSPECTION_CLIENT_SECRET`] (see
    /// [`set_introspection_client`](Self::set_introspection_client)), by `client_secret_basic`
    /// or `client_secret_post`, or a `private_key_jwt` client (see
    /// [`set_introspection_client_key`](Self::set_introspection_client_key)), and answers 401
    /// `invalid_client` otherwise. Asked for `application/token-introspection+jwt`, it
    /// answers a JWT signed with its current RS256 key (RFC 9701), `aud` the client id.
    pub fn introspection_url(&self) -> String {
        format!("{}{INTROSPECTION_PATH}", self.url())
    }

    /// An opaque access token, active until [revoked](Self::revoke), whose introspection
    /// answer carries `iss` (the issuer), `aud` (`"test-api"`), `sub` (`"user-1"`), `scope`
    /// (`"read"`), `client_id` (`"test-client"`), `token_type`, `iat` and `exp` (in an hour)
    /// unless changed.
    pub fn opaque_token(&self) -> OpaqueTokenBuilder {
        let now = now();
        let claims = [
            ("iss", json!(self.issuer())),
            ("aud", json!(DEFAULT_AUDIENCE)),
            ("sub", json!(DEFAULT_SUBJECT)),
            ("scope", json!("read")),
            ("client_id", json!("test-client")),
            ("token_type", json!("Bearer")),
            ("iat", json!(now)),
            ("exp", json!(now.saturating_add(3600))),
        ];
        let claims = claims.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        OpaqueTokenBuilder {
            shared: Arc::clone(self.shared()),
            claims,
        }
    }

    /// Revokes an opaque token: its introspection answers `{"active": false}` from now on.
    pub fn revoke(&self, token: &str) {
        self.shared().introspection.config().tokens.remove(token);
    }

    /// Number of requests received on the introspection endpoint, refused ones included.
    pub fn introspection_calls(&self) -> usize {
        self.shared().introspection.calls.load(Ordering::SeqCst)
    }

    /// Makes the introspection endpoint misbehave from the next request on ([`Fault::None`]
    /// restores it). `Oversized` pads an inactive answer.
    pub fn set_introspection_fault(&self, fault: Fault) {
        self.shared().introspection.config().fault = fault;
    }

    /// Registers a client that authenticates with `private_key_jwt` (RFC 7523): its assertions
    /// must be signed with `alg` by the key whose public half is `public_pem` (SPKI PEM), name
    /// `client_id` as `iss` and `sub`, the endpoint URL or the issuer as `aud`, and never
    /// repeat a `jti`.
    ///
    /// # Panics
    ///
    /// If `public_pem` is not a public key for `alg`, or `alg` is not RSA, ECDSA P-256/P-384
    /// or EdDSA.
    pub fn set_introspection_client_key(&self, client_id: &str, alg: Algorithm, public_pem: &str) {
        let pem = public_pem.as_bytes();
        let key = match alg.as_str() {
            "ES256" | "ES384" => DecodingKey::from_ec_pem(pem),
            "EdDSA" => DecodingKey::from_ed_pem(pem),
            _ => DecodingKey::from_rsa_pem(pem),
        }
        .expect("a public key PEM for the algorithm");
        let alg = alg
            .to_jsonwebtoken()
            .expect("RS*, PS*, ES256, ES384 or EdDSA");
        self.shared().introspection.config().client_key = Some((client_id.to_owned(), key, alg));
    }

    /// The `aud` of signed answers (RFC 9701) from now on; `None` restores the default, the
    /// authenticated client's id.
    pub fn set_introspection_jwt_audience(&self, audience: Option<&str>) {
        self.shared().introspection.config().jwt_audience = audience.map(str::to_owned);
    }

    /// The client credentials the introspection endpoint accepts from now on.
    pub fn set_introspection_client(&self, client_id: &str, client_secret: &str) {
        let mut config = self.shared().introspection.config();
        client_id.clone_into(&mut config.client_id);
        client_secret.clone_into(&mut config.client_secret);
    }
}
