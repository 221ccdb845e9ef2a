//! The mock's Cloudflare Access side: the certs endpoint in Cloudflare's format, a
//! get-identity endpoint, and token presets.

use std::sync::atomic::Ordering;

use jsonwebtoken::{DecodingKey, Validation};

use crate::algorithms::Algorithm;
use serde_json::{Map, Value, json};

use super::{Fault, MockIdp, Shared, TokenBuilder};

/// Path of the Cloudflare certs endpoint.
pub(crate) const CF_CERTS_PATH: &str = "/cdn-cgi/access/certs";
/// Path of the Cloudflare get-identity endpoint.
pub(crate) const CF_IDENTITY_PATH: &str = "/cdn-cgi/access/get-identity";

/// The AUD tag stamped on [`MockIdp::cf_token`] tokens (64 hex characters, fake).
pub const CF_AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";

/// Stand-in for the PEM certificates of `public_cert` / `public_certs`: jwks-auth ignores
/// those members (it reads `keys`), so the mock does not build real certificates.
const PLACEHOLDER_CERT: &str =
    "-----BEGIN CERTIFICATE-----\nMOCK+PLACEHOLDER+NOT+A+CERTIFICATE\n-----END CERTIFICATE-----\n";

impl Shared {
    /// What the certs endpoint serves: the published RS256 keys as `keys`, plus
    /// `public_cert` (current key) and `public_certs` (all keys) with placeholder PEMs.
    pub(crate) fn certs_document(&self) -> Value {
        let config = self.config();
        let rsa: Vec<_> = config
            .keys
            .iter()
            .filter(|k| k.alg == Algorithm::RS256)
            .collect();
        let keys: Vec<Value> = rsa.iter().map(|k| k.material.jwk(k.alg, &k.kid)).collect();
        let certs: Vec<Value> = rsa
            .iter()
            .map(|k| json!({ "kid": k.kid, "cert": PLACEHOLDER_CERT }))
            .collect();
        let current = rsa.last().map_or(
            Value::Null,
            |k| json!({ "kid": k.kid, "cert": PLACEHOLDER_CERT }),
        );
        json!({ "keys": keys, "public_cert": current, "public_certs": certs })
    }

    /// The `CF_Authorization` cookie of a get-identity request, recorded for
    /// [`MockIdp::identity_cookies`].
    pub(crate) fn identity_cookie(&self, headers: &http::HeaderMap) -> Option<String> {
        let token = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == crate::token::CF_AUTHORIZATION_COOKIE)
            .map(|(_, value)| value.to_owned())?;
        self.config().identity_cookies.push(token.clone());
        Some(token)
    }

    /// The claims of `token` if one of the published RS256 keys signed it and it has not
    /// expired (60 s leeway); `None` otherwise.
    pub(crate) fn verify_cf_token(&self, token: &str) -> Option<Map<String, Value>> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let jwk = {
            let config = self.config();
            let key = config
                .keys
                .iter()
                .find(|k| k.alg == Algorithm::RS256 && k.kid == kid)?;
            key.material.jwk(key.alg, &key.kid)
        };
        let key = DecodingKey::from_rsa_components(jwk["n"].as_str()?, jwk["e"].as_str()?).ok()?;
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        super::token::ensure_provider();
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// The identity document for a verified token's claims: the override if set, else a
    /// realistic document (every documented field, `groups`, `amr`, and one field no version
    /// of jwks-auth knows).
    pub(crate) fn identity_document(&self, claims: &Map<String, Value>) -> Value {
        if let Some(document) = self.config().identity_override.clone() {
            return document;
        }
        let text = |name: &str| claims.get(name).cloned().unwrap_or(Value::Null);
        let iat = claims.get("iat").cloned().unwrap_or(json!(0));
        let text_of = |name: &str| claims.get(name).and_then(Value::as_str);
        // Cloudflare's own rule, as the crate defines it: Client ID, no email, no subject.
        let service = crate::cloudflare::is_service_token(
            text_of("common_name"),
            text_of("email"),
            text_of("sub"),
        );
        if service {
            return json!({
                "common_name": text("common_name"),
                "service_token_id": "0c0ffee0-1111-4a1b-9c3d-0123456789ab",
                "service_token_status": true,
                "account_id": "1234abcd",
                "iat": iat,
                "ip": "203.0.113.9",
                "auth_status": "NONE",
                "is_warp": false,
                "is_gateway": false,
                "version": 2,
            });
        }
        json!({
            "email": text("email"),
            "name": "Alice Example",
            "idp": { "id": "7d2c9a4e-0000-4b5c-8d9e-0123456789ab", "type": "okta" },
            "geo": { "country": claims.get("country").cloned().unwrap_or(json!("NL")) },
            "user_uuid": text("sub"),
            "account_id": "1234abcd",
            "iat": iat,
            "ip": "203.0.113.7",
            "auth_status": "NONE",
            "common_name": "",
            "service_token_id": "",
            "service_token_status": false,
            "is_warp": true,
            "is_gateway": false,
            "gateway_account_id": "gw-1234abcd",
            "device_id": "dev-5e6f",
            "version": 2,
            "amr": ["pwd", "mfa"],
            "groups": ["finance", { "id": "g-ops", "name": "ops", "email": "ops@example.test" }],
            "devicePosture": {
                "r1": {
                    "id": "r1",
                    "rule_name": "Disk encryption",
                    "type": "disk_encryption",
                    "success": true,
                    "timestamp": "2025-10-09T08:00:00.000Z",
                    "description": "FileVault on",
                    "error": "",
                    "check": { "requireAll": true },
                    "data": {}
                }
            },
            "device_sessions": { "s1": { "last_authenticated": iat } },
            "mtls_auth": {
                "auth_status": "NONE",
                "cert_issuer_dn": "",
                "cert_issuer_ski": "",
                "cert_presented": false,
                "cert_serial": ""
            },
            "custom": { "department": "finance" },
            "mock_unknown_field": { "kept": true }
        })
    }
}

impl MockIdp {
    /// The AUD tag of [`cf_token`](Self::cf_token) tokens: [`CF_AUD`].
    pub fn cf_aud(&self) -> &str {
        CF_AUD
    }

    /// URL of the Cloudflare certs endpoint (`/cdn-cgi/access/certs`): the RS256 keys as
    /// `keys`, and `public_cert` / `public_certs` with placeholder PEM strings (jwks-auth
    /// ignores them, as Cloudflare advises). Honours [`set_fault`](Self::set_fault).
    pub fn cf_certs_url(&self) -> String {
        format!("{}{CF_CERTS_PATH}", self.url())
    }

    /// URL of the get-identity endpoint (`/cdn-cgi/access/get-identity`). It requires
    /// `Cookie: CF_Authorization=<token>` with a token signed by this mock's current or kept
    /// RS256 key and not expired, and answers 401 `{"err": ...}` otherwise. Honours
    /// [`set_identity_fault`](Self::set_identity_fault) and
    /// [`set_identity_document`](Self::set_identity_document).
    pub fn cf_identity_url(&self) -> String {
        format!("{}{CF_IDENTITY_PATH}", self.url())
    }

    /// A Cloudflare Access user token (RS256): `aud: [CF_AUD]`, `type: "app"`, a fresh
    /// `identity_nonce` per call, `country: "NL"`, `email: "alice@example.test"`, a UUID-like
    /// `sub`, no `name`; `iss` is the mock's issuer.
    pub fn cf_token(&self) -> TokenBuilder {
        let n = self.shared().cf_nonces.fetch_add(1, Ordering::SeqCst);
        self.token()
            .alg(Algorithm::RS256)
            .audience(json!([CF_AUD]))
            .subject("5b0c1f7e-2222-4a1b-9c3d-0123456789ab")
            .claim("email", json!("alice@example.test"))
            .claim("type", json!("app"))
            .claim("identity_nonce", json!(format!("mock-nonce-{n}")))
            .claim("country", json!("NL"))
            .remove_claim("name")
    }

    /// A Cloudflare Access service-token token (RS256): `aud: [CF_AUD]`, `type: "app"`,
    /// `common_name: client_id`, `sub: ""`, and no `email`, `name`, `identity_nonce` or
    /// `country`.
    pub fn cf_service_token(&self, client_id: &str) -> TokenBuilder {
        self.token()
            .alg(Algorithm::RS256)
            .audience(json!([CF_AUD]))
            .subject("")
            .claim("type", json!("app"))
            .claim("common_name", json!(client_id))
            .remove_claim("email")
            .remove_claim("name")
    }

    /// Number of requests received on the Cloudflare certs path, failed ones included.
    pub fn certs_fetches(&self) -> usize {
        self.shared().certs_fetches.load(Ordering::SeqCst)
    }

    /// Number of requests received on the get-identity path, refused and failed ones included.
    pub fn identity_fetches(&self) -> usize {
        self.shared().identity_fetches.load(Ordering::SeqCst)
    }

    /// The `CF_Authorization` cookie value of every get-identity request that carried one, in
    /// order: what the application sent. Requests answered by an
    /// [`identity fault`](Self::set_identity_fault) are not recorded (the fault answers first).
    pub fn identity_cookies(&self) -> Vec<String> {
        self.shared().config().identity_cookies.clone()
    }

    /// Makes the get-identity endpoint misbehave from the next request on (independently of
    /// [`set_fault`](Self::set_fault)); [`Fault::None`] restores it.
    pub fn set_identity_fault(&self, fault: Fault) {
        self.shared().config().identity_fault = fault;
    }

    /// Serves exactly `document` to every accepted get-identity request (`None` restores
    /// the realistic document built from the token).
    pub fn set_identity_document(&self, document: Option<Value>) {
        self.shared().config().identity_override = document;
    }
}
