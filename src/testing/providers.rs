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

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use std::sync::Arc;

use super::server::{apply_fault, json_response};
use super::token::now;
use super::{MockIdp, Shared, TokenBuilder};

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

    /// A builder starting from no claims but `iat` and `exp` (one hour), for provider shapes.
    fn bare_token(&self) -> TokenBuilder {
        let mut builder = self.token();
        for name in ["iss", "sub", "aud", "email", "name", "nbf"] {
            builder = builder.remove_claim(name);
        }
        builder
    }

    /// A Cognito user pool access token, as AWS documents it: header without `typ`, no
    /// `aud`, `client_id`, `token_use: access`, `scope` string, `cognito:groups`, `username`,
    /// `version: 2`, no `nbf`.
    pub fn cognito_access_token(&self, region: &str, pool: &str, client_id: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .no_typ()
            .claim("sub", json!("aaaaaaaa-bbbb-cccc-dddd-example"))
            .claim("cognito:groups", json!(["admin"]))
            .claim("iss", json!(cognito_issuer(region, pool)))
            .claim("version", json!(2))
            .claim("client_id", json!(client_id))
            .claim("origin_jti", json!("aaaaaaaa-bbbb-cccc-dddd-origin"))
            .claim("event_id", json!("cccccccc-dddd-eeee-ffff-event"))
            .claim("token_use", json!("access"))
            .claim(
                "scope",
                json!("aws.cognito.signin.user.admin phone openid profile email"),
            )
            .claim("auth_time", json!(now))
            .claim("jti", json!("aaaaaaaa-bbbb-cccc-dddd-jti"))
            .claim("username", json!("alice"))
    }

    /// A Cognito user pool ID token: `aud` = the app client, `token_use: id`,
    /// `cognito:username`, `email_verified` boolean, `cognito:groups`; header without `typ`.
    pub fn cognito_id_token(&self, region: &str, pool: &str, client_id: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .no_typ()
            .claim("sub", json!("aaaaaaaa-bbbb-cccc-dddd-example"))
            .claim("cognito:groups", json!(["admin"]))
            .claim("email_verified", json!(true))
            .claim("iss", json!(cognito_issuer(region, pool)))
            .claim("cognito:username", json!("alice"))
            .claim("origin_jti", json!("aaaaaaaa-bbbb-cccc-dddd-origin"))
            .claim("aud", json!(client_id))
            .claim("event_id", json!("cccccccc-dddd-eeee-ffff-event"))
            .claim("token_use", json!("id"))
            .claim("auth_time", json!(now))
            .claim("jti", json!("aaaaaaaa-bbbb-cccc-dddd-jti"))
            .claim("email", json!("alice@example.test"))
    }

    /// An Entra ID v2 access token for the API `api_client_id` in tenant `tid`: header
    /// `typ: JWT`, `iss` `https://login.microsoftonline.com/{tid}/v2.0`, `aud` the API's
    /// client id, `azp` the caller ([`MOCK_CALLER_APP`]), `scp` string, `tid`, `oid`, `uti`,
    /// `ver: 2.0`, integer `nbf`.
    pub fn entra_token(&self, tid: &str, api_client_id: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .claim("aud", json!(api_client_id))
            .claim("iss", json!(entra_v2_issuer(tid)))
            .claim("nbf", json!(now))
            .claim("aio", json!("AWQAm/8TAAAA-mock"))
            .claim("azp", json!(MOCK_CALLER_APP))
            .claim("azpacr", json!("0"))
            .claim("name", json!("Alice Example"))
            .claim("oid", json!("00000000-0000-0000-66f3-3332eca7ea81"))
            .claim("preferred_username", json!("alice@contoso.example"))
            .claim("rh", json!("0.AAAA-mock."))
            .claim("roles", json!(["Orders.Read"]))
            .claim("scp", json!("access_as_user"))
            .claim("sub", json!("pairwise-subject-for-this-app"))
            .claim("tid", json!(tid))
            .claim("uti", json!("mock-uti"))
            .claim("ver", json!("2.0"))
    }

    /// An Entra ID v1 access token: `iss` `https://sts.windows.net/{tid}/`, header `x5t`
    /// beside `kid`, `appid` for the caller, `upn`, `unique_name`, `ver: 1.0`; `aud` as given
    /// (the API's client id or its App ID URI).
    pub fn entra_v1_token(&self, tid: &str, audience: &str) -> TokenBuilder {
        let now = now();
        let kid = self.kid(Algorithm::RS256);
        self.bare_token()
            .header("x5t", json!(kid))
            .claim("aud", json!(audience))
            .claim("iss", json!(entra_v1_issuer(tid)))
            .claim("nbf", json!(now))
            .claim("acr", json!("1"))
            .claim("aio", json!("E2ZgYJ-mock"))
            .claim("amr", json!(["pwd"]))
            .claim("appid", json!(MOCK_CALLER_APP))
            .claim("appidacr", json!("0"))
            .claim("family_name", json!("Example"))
            .claim("given_name", json!("Alice"))
            .claim("ipaddr", json!("192.0.2.1"))
            .claim("name", json!("Alice Example"))
            .claim("oid", json!("00000000-0000-0000-66f3-3332eca7ea81"))
            .claim("rh", json!("0.AAAA-mock."))
            .claim("scp", json!("access_as_user"))
            .claim("sub", json!("pairwise-subject-for-this-app"))
            .claim("tid", json!(tid))
            .claim("unique_name", json!("alice@contoso.example"))
            .claim("upn", json!("alice@contoso.example"))
            .claim("uti", json!("mock-uti"))
            .claim("ver", json!("1.0"))
    }

    /// A Google ID token for the OAuth client `client_id`: `iss` `https://accounts.google.com`
    /// (set `accounts.google.com` with `.claim("iss", ..)` for the other spelling), `aud` and
    /// `azp` the client, numeric-string `sub`, `email_verified`, no `hd` (a consumer account:
    /// add `.claim("hd", ..)` for a Workspace user), no `nbf`.
    pub fn google_id_token(&self, client_id: &str) -> TokenBuilder {
        self.bare_token()
            .claim("iss", json!(GOOGLE_ISSUER))
            .claim("azp", json!(client_id))
            .claim("aud", json!(client_id))
            .claim("sub", json!("110169484474386276334"))
            .claim("email", json!("alice@example.test"))
            .claim("email_verified", json!(true))
            .claim("at_hash", json!("X_B3Z3Fi4udZ2mf75RWo3w"))
            .claim("name", json!("Alice Example"))
            .claim("given_name", json!("Alice"))
            .claim("family_name", json!("Example"))
    }

    /// A Keycloak access token of realm `realm` for the client `azp`: header `typ: JWT`,
    /// `iss` `{keycloak_url}/realms/{realm}`, `aud: "account"` (no audience mapper), body
    /// `typ: Bearer`, `realm_access.roles`, `resource_access.account.roles`, `scope` string.
    pub fn keycloak_token(&self, realm: &str, azp: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .claim("auth_time", json!(now))
            .claim("jti", json!("onrtac:mock-jti"))
            .claim(
                "iss",
                json!(format!("{}/realms/{realm}", self.keycloak_url())),
            )
            .claim("aud", json!("account"))
            .claim("sub", json!("f1b2c3d4-0000-4000-8000-keycloakuser"))
            .claim("typ", json!("Bearer"))
            .claim("azp", json!(azp))
            .claim("sid", json!("mock-session"))
            .claim("acr", json!("1"))
            .claim("allowed-origins", json!(["https://app.example.test"]))
            .claim(
                "realm_access",
                json!({ "roles": ["default-roles-acme", "offline_access", "orders-admin"] }),
            )
            .claim(
                "resource_access",
                json!({ "account": { "roles": ["manage-account", "view-profile"] } }),
            )
            .claim("scope", json!("openid email profile"))
            .claim("email_verified", json!(true))
            .claim("name", json!("Alice Example"))
            .claim("preferred_username", json!("alice"))
            .claim("email", json!("alice@example.test"))
    }

    /// An Auth0 access token (the "Auth0" profile, `openid` requested) for the API `api`:
    /// `iss` [`auth0_issuer`](Self::auth0_issuer) with its slash, `aud` the array `[api,
    /// "{iss}userinfo"]`, `azp`, `scope` string, `permissions` array, no `nbf`.
    pub fn auth0_token(&self, api: &str) -> TokenBuilder {
        let issuer = self.auth0_issuer();
        self.bare_token()
            .claim("iss", json!(issuer))
            .claim("sub", json!("auth0|64f0c0ffee"))
            .claim("aud", json!([api, format!("{issuer}userinfo")]))
            .claim("azp", json!("aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"))
            .claim("scope", json!("openid profile email read:orders"))
            .claim("permissions", json!(["read:orders"]))
    }

    /// An Okta access token of the custom authorization server `server` for `audience`
    /// (`api://default` on the default server): `ver: 1`, `jti` `AT.…`, `cid`, `uid`, `scp`
    /// array, `sub` the login, `groups`; no `nbf`, no header `typ`.
    pub fn okta_token(&self, server: &str, audience: &str, cid: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .no_typ()
            .claim("ver", json!(1))
            .claim("jti", json!("AT.mock-jti"))
            .claim("iss", json!(self.okta_issuer(server)))
            .claim("aud", json!(audience))
            .claim("cid", json!(cid))
            .claim("uid", json!("00uabcdefg1234567"))
            .claim("scp", json!(["openid", "orders.read"]))
            .claim("auth_time", json!(now))
            .claim("sub", json!("alice@example.test"))
            .claim("groups", json!(["Everyone", "orders-admins"]))
    }
}
