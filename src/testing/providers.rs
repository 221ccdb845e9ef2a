//! The mock playing real identity providers: their key-set quirks and discovery documents on
//! their own paths, and tokens in their exact shapes (claims, header `typ`, issuer strings),
//! as described in the project's provider notes.
//!
//! Each provider lives under a prefix of the mock's URL, which stands for the provider's host:
//!
//! | provider | host stand-in | key set | discovery |
//! |---|---|---|---|
//! | Cognito | [`MockIdp::cognito_url`] | `/{pool}/.well-known/jwks.json` | `/{pool}/.well-known/openid-configuration` |
//! | Entra ID | [`MockIdp::entra_url`] | `/{tenant}/discovery/v2.0/keys`, `/{tenant}/discovery/keys` (v1) | `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/.well-known/openid-configuration` (v1) |
//! | Google | [`MockIdp::google_url`] | `/oauth2/v3/certs` | `/.well-known/openid-configuration` |
//! | Keycloak | [`MockIdp::keycloak_url`] | `/realms/{realm}/protocol/openid-connect/certs` | `/realms/{realm}/.well-known/openid-configuration` |
//! | Auth0 | [`MockIdp::auth0_issuer`] | `.well-known/jwks.json` | `.well-known/openid-configuration` |
//! | Okta | [`MockIdp::okta_issuer`] | `/v1/keys` | `/.well-known/openid-configuration` |
//!
//! Tokens carry the real issuer strings where the provider's host is fixed (Cognito, Entra ID,
//! Google), so a preset pointed at the mock with its `base_url` checks exactly what it checks
//! in production; where the issuer is your own host (Keycloak, Auth0, Okta), it is the mock's.
//! Key sets hold the mock's RS256 keys (rotations included) in each provider's format.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Algorithm;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

use super::server::{apply_fault, json_response};
use super::{MockIdp, Shared};

/// The Entra ID tenant-independent endpoints, whose documents announce a template issuer.
const ENTRA_COMMON: [&str; 3] = ["common", "organizations", "consumers"];

/// The client (application) id the mock's Entra ID and Google tokens name as the caller
/// (`azp` / `appid`) when the test does not set one.
pub const MOCK_CALLER_APP: &str = "3f0b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// Requests on the providers' key-set and discovery paths.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    keys: AtomicUsize,
    discovery: AtomicUsize,
}

/// A provider's key-set format.
#[derive(Debug, Clone, Copy)]
enum Format {
    /// `kid`, `alg`, `kty`, `n`, `e`, `use: sig` (Cognito, Google, Okta).
    Plain,
    /// No `alg`; `x5t`, `x5c` and the per-key `issuer` member (Entra ID).
    Entra,
    /// An RSA `use: enc` key (`RSA-OAEP`) listed first under the signing key's kid, then the
    /// signing key with `x5c`/`x5t` (Keycloak's stock realm).
    Keycloak,
    /// `x5c` and `x5t` on each key (Auth0).
    Auth0,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/cognito/{pool}/.well-known/jwks.json", get(cognito_keys))
        .route(
            "/cognito/{pool}/.well-known/openid-configuration",
            get(cognito_discovery),
        )
        .route("/entra/{tenant}/discovery/v2.0/keys", get(entra_keys))
        .route("/entra/{tenant}/discovery/keys", get(entra_keys))
        .route(
            "/entra/{tenant}/v2.0/.well-known/openid-configuration",
            get(entra_v2_discovery),
        )
        .route(
            "/entra/{tenant}/.well-known/openid-configuration",
            get(entra_v1_discovery),
        )
        .route("/google/oauth2/v3/certs", get(google_keys))
        .route(
            "/google/.well-known/openid-configuration",
            get(google_discovery),
        )
        .route(
            "/keycloak/realms/{realm}/protocol/openid-connect/certs",
            get(keycloak_keys),
        )
        .route(
            "/keycloak/realms/{realm}/.well-known/openid-configuration",
            get(keycloak_discovery),
        )
        .route("/auth0/.well-known/jwks.json", get(auth0_keys))
        .route(
            "/auth0/.well-known/openid-configuration",
            get(auth0_discovery),
        )
        .route("/okta/oauth2/{server}/v1/keys", get(okta_keys))
        .route(
            "/okta/oauth2/{server}/.well-known/openid-configuration",
            get(okta_discovery),
        )
}

impl Shared {
    /// The mock's RS256 keys in a provider's format; `issuer` is Entra's per-key member.
    fn provider_keys(&self, format: Format, issuer: &str) -> Value {
        let config = self.config();
        let mut keys = Vec::new();
        for key in config.keys.iter().filter(|k| k.alg == Algorithm::RS256) {
            let mut jwk = key.material.jwk(key.alg, &key.kid);
            let x5c = key
                .material
                .rsa_public_der()
                .map(|der| json!([STANDARD.encode(der)]));
            let with_certs = |jwk: &mut Value| {
                jwk["x5t"] = json!(format!("x5t-{}", key.kid));
                if let Some(x5c) = &x5c {
                    jwk["x5c"] = x5c.clone();
                }
            };
            match format {
                Format::Plain => {}
                Format::Entra => {
                    if let Some(map) = jwk.as_object_mut() {
                        map.remove("alg");
                    }
                    with_certs(&mut jwk);
                    jwk["issuer"] = json!(issuer);
                }
                Format::Keycloak => {
                    // The realm's encryption key: another RSA key, same kid.
                    let enc = config.keys.iter().find(|k| k.alg == Algorithm::RS384);
                    if let Some(enc) = enc {
                        let mut enc_jwk = enc.material.jwk(enc.alg, &key.kid);
                        enc_jwk["use"] = json!("enc");
                        enc_jwk["alg"] = json!("RSA-OAEP");
                        keys.push(enc_jwk);
                    }
                    with_certs(&mut jwk);
                }
                Format::Auth0 => with_certs(&mut jwk),
            }
            keys.push(jwk);
        }
        json!({ "keys": keys })
    }

    fn keys_response(&self, format: Format, issuer: &str) -> Response {
        json_response(
            StatusCode::OK,
            self.provider_keys(format, issuer).to_string(),
        )
    }
}

/// Counts a key-set request and applies the JWKS fault (documents reused by a fault are the
/// mock's plain key set).
async fn keys_fault(shared: &Shared) -> Option<Response> {
    shared.providers.keys.fetch_add(1, Ordering::SeqCst);
    apply_fault(shared, Shared::jwks_document).await
}

async fn discovery_response(shared: &Shared, document: Value) -> Response {
    shared.providers.discovery.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = apply_fault(shared, Shared::discovery_document).await {
        return response;
    }
    json_response(StatusCode::OK, document.to_string())
}

/// `eu-west-1_AbC` -> `eu-west-1`: a pool id starts with its region.
fn pool_region(pool: &str) -> &str {
    pool.split_once('_').map_or(pool, |(region, _)| region)
}

async fn cognito_keys(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = keys_fault(&shared).await {
        return r;
    }
    shared.keys_response(Format::Plain, "")
}

async fn cognito_discovery(
    State(shared): State<Arc<Shared>>,
    Path(pool): Path<String>,
) -> Response {
    let issuer = cognito_issuer(pool_region(&pool), &pool);
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/cognito/{pool}/.well-known/jwks.json", shared.url()),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    discovery_response(&shared, doc).await
}

/// The issuer an Entra ID document (and each key) announces for `tenant`: the template for
/// the tenant-independent endpoints.
fn entra_announced(tenant: &str, v2: bool) -> String {
    let tid = if ENTRA_COMMON.contains(&tenant) {
        "{tenantid}"
    } else {
        tenant
    };
    if v2 {
        entra_v2_issuer(tid)
    } else {
        entra_v1_issuer(tid)
    }
}

async fn entra_keys(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    if let Some(r) = keys_fault(&shared).await {
        return r;
    }
    shared.keys_response(Format::Entra, &entra_announced(&tenant, true))
}

async fn entra_v2_discovery(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    let doc = json!({
        "issuer": entra_announced(&tenant, true),
        "jwks_uri": format!("{}/entra/{tenant}/discovery/v2.0/keys", shared.url()),
        "token_endpoint": format!("{}/entra/{tenant}/oauth2/v2.0/token", shared.url()),
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    });
    discovery_response(&shared, doc).await
}

async fn entra_v1_discovery(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    let doc = json!({
        "issuer": entra_announced(&tenant, false),
        "jwks_uri": format!("{}/entra/{tenant}/discovery/keys", shared.url()),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    discovery_response(&shared, doc).await
}

async fn google_keys(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = keys_fault(&shared).await {
        return r;
    }
    shared.keys_response(Format::Plain, "")
}

async fn google_discovery(State(shared): State<Arc<Shared>>) -> Response {
    let doc = json!({
        "issuer": GOOGLE_ISSUER,
        "jwks_uri": format!("{}/google/oauth2/v3/certs", shared.url()),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    discovery_response(&shared, doc).await
}

async fn keycloak_keys(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = keys_fault(&shared).await {
        return r;
    }
    shared.keys_response(Format::Keycloak, "")
}

async fn keycloak_discovery(
    State(shared): State<Arc<Shared>>,
    Path(realm): Path<String>,
) -> Response {
    let issuer = format!("{}/keycloak/realms/{realm}", shared.url());
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
        "id_token_signing_alg_values_supported": ["PS384", "ES384", "RS384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512", "EdDSA"],
    });
    discovery_response(&shared, doc).await
}

async fn auth0_keys(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = keys_fault(&shared).await {
        return r;
    }
    shared.keys_response(Format::Auth0, "")
}

async fn auth0_discovery(State(shared): State<Arc<Shared>>) -> Response {
    let issuer = format!("{}/auth0/", shared.url());
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
    });
    discovery_response(&shared, doc).await
}

async fn okta_keys(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = keys_fault(&shared).await {
        return r;
    }
    shared.keys_response(Format::Plain, "")
}

async fn okta_discovery(State(shared): State<Arc<Shared>>, Path(server): Path<String>) -> Response {
    let issuer = format!("{}/okta/oauth2/{server}", shared.url());
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/v1/keys"),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    discovery_response(&shared, doc).await
}

/// Google's issuer with its scheme (tokens also carry `accounts.google.com`).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// `https://cognito-idp.{region}.amazonaws.com/{pool}`.
pub fn cognito_issuer(region: &str, pool: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool}")
}

/// `https://login.microsoftonline.com/{tid}/v2.0`.
pub fn entra_v2_issuer(tid: &str) -> String {
    format!("https://login.microsoftonline.com/{tid}/v2.0")
}

/// `https://sts.windows.net/{tid}/` (with its trailing slash).
pub fn entra_v1_issuer(tid: &str) -> String {
    format!("https://sts.windows.net/{tid}/")
}

impl MockIdp {
    /// Stands for `https://cognito-idp.{region}.amazonaws.com`: pass it to the Cognito
    /// preset's `base_url`.
    pub fn cognito_url(&self) -> String {
        format!("{}/cognito", self.url())
    }

    /// Stands for `https://login.microsoftonline.com` (keys and discovery): pass it to the
    /// Entra ID preset's `base_url`.
    pub fn entra_url(&self) -> String {
        format!("{}/entra", self.url())
    }

    /// Stands for `https://www.googleapis.com` (keys) and `https://accounts.google.com`
    /// (discovery): pass it to the Google preset's `base_url`.
    pub fn google_url(&self) -> String {
        format!("{}/google", self.url())
    }

    /// A Keycloak server's base URL (realms under `/realms/{realm}`): pass it to the Keycloak
    /// preset as is. Issuers are `{keycloak_url}/realms/{realm}`.
    pub fn keycloak_url(&self) -> String {
        format!("{}/keycloak", self.url())
    }

    /// An Auth0 tenant's issuer, `http://127.0.0.1:PORT/auth0/`, with Auth0's trailing slash.
    pub fn auth0_issuer(&self) -> String {
        format!("{}/auth0/", self.url())
    }

    /// An Okta custom authorization server's issuer, `http://127.0.0.1:PORT/okta/oauth2/{server}`.
    pub fn okta_issuer(&self, server: &str) -> String {
        format!("{}/okta/oauth2/{server}", self.url())
    }

    /// Requests received on the providers' key-set paths (every provider, failed ones
    /// included; the plain JWKS path counts in [`jwks_fetches`](Self::jwks_fetches)).
    pub fn provider_key_fetches(&self) -> usize {
        self.shared().providers.keys.load(Ordering::SeqCst)
    }

    /// Requests received on the providers' discovery paths.
    pub fn provider_discovery_fetches(&self) -> usize {
        self.shared().providers.discovery.load(Ordering::SeqCst)
    }
}
