//! An in-process mock identity provider for tests, examples and benches.
//!
//! [`MockIdp::start`] serves a JWKS (`/.well-known/jwks.json`) and an OpenID discovery document
//! (`/.well-known/openid-configuration`) on `127.0.0.1:<random port>` and mints tokens signed
//! with the published keys:
//!
//! ```no_run
//! # async fn demo() {
//! use jwks_auth::Algorithm;
//! # use jwks_auth::testing::{Fault, MockIdp};
//!
//! let idp = MockIdp::start().await;
//! let token = idp.token().alg(Algorithm::ES256).subject("alice").sign();
//! let expired = idp.token().expires_in(-600).sign();
//! idp.rotate(Algorithm::RS256); // new key, old one no longer published
//! idp.set_fault(Fault::Status(503)); // the JWKS endpoint now fails
//! # let _ = (token, expired);
//! # }
//! ```
//!
//! It also plays Cloudflare Access: `/cdn-cgi/access/certs` in Cloudflare's format and
//! `/cdn-cgi/access/get-identity`, with [`MockIdp::cf_token`] and
//! [`MockIdp::cf_service_token`] presets (see [`MockIdp::cf_certs_url`]).
//!
//! It also plays Cognito, Entra ID, Google, Keycloak, Auth0 and Okta: their key sets and
//! discovery documents on their own paths, with their quirks, and tokens in their exact
//! shapes ([`MockIdp::cognito_access_token`], [`MockIdp::entra_token`], ...; see
//! [`MockIdp::cognito_url`] for the paths).
//!
//! Key material is generated once per process and shared between mocks, so starting a mock
//! after the first one is cheap. [`DpopProver`] signs DPoP proofs for DPoP-bound tokens.

mod cloudflare;
mod dpop;
mod introspection;
mod keys;
mod provider_tokens;
mod providers;
mod server;
#[cfg(test)]
mod tests;
mod token;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::algorithms::Algorithm;
use serde_json::{Value, json};
use tokio::sync::watch;

pub use cloudflare::CF_AUD;
pub use dpop::{DpopProver, ProofBuilder};
pub use introspection::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, OpaqueTokenBuilder};
use keys::KeyMaterial;
pub use providers::{
    GOOGLE_ISSUER, MOCK_CALLER_APP, cognito_issuer, entra_v1_issuer, entra_v2_issuer,
};
pub use token::{TokenBuilder, foreign_token};

/// Every algorithm the mock publishes a key for, one key each.
pub const ALGORITHMS: [Algorithm; 10] = crate::algorithms::ASYMMETRIC_ALGORITHMS;

/// Path of the JWKS endpoint.
const JWKS_PATH: &str = crate::issuer::JWKS_PATH;
/// Path of the OpenID discovery endpoint.
const DISCOVERY_PATH: &str = crate::oidc::DISCOVERY_PATH;

/// A misbehaviour of the JWKS, discovery and Cloudflare certs endpoints, set with
/// [`MockIdp::set_fault`] (or of the get-identity endpoint, [`MockIdp::set_identity_fault`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// Behave normally.
    #[default]
    None,
    /// Answer with this status code and a small body (invalid codes become 500).
    Status(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// Answer 200 with a syntactically valid JSON document of this many bytes
    /// (the normal document plus a `"padding"` member; never smaller than the
    /// normal document).
    Oversized(usize),
    /// Answer `302 Found` with this `Location`.
    Redirect(String),
    /// Answer 200 and send the body one byte at a time, one byte every `chunk_every`: the
    /// normal document followed by endless whitespace, until the mock shuts down.
    SlowDrip {
        /// Interval between two bytes (the first byte is sent at once).
        chunk_every: Duration,
    },
    /// Send the status line and headers, then break the connection before the body.
    ConnectionReset,
    /// Answer 200 with the normal document minus every key's `kid` (a provider republishing
    /// its keys without kids), without validators.
    WithoutKids,
    /// Wait this long, then answer 200 with the document as it was when the request arrived
    /// (a slow replica or CDN: what was published meanwhile is not in it), without validators.
    Late(Duration),
    /// Answer 200 with the normal document gzip-encoded (`Content-Encoding: gzip`), whatever
    /// the request's `Accept-Encoding` says, without validators.
    Gzip,
}

/// A key currently published in the JWKS.
struct PublishedKey {
    alg: Algorithm,
    /// Generation of this key for its algorithm: `1` for the initial key.
    slot: u32,
    kid: String,
    material: Arc<KeyMaterial>,
}

/// Mutable configuration of a mock.
struct Config {
    issuer: String,
    keys: Vec<PublishedKey>,
    keep_previous: bool,
    fault: Fault,
    jwks_override: Option<Value>,
    cache_control: Option<String>,
    /// Extra headers of JWKS responses (200 and 304), e.g. `Age`, `Expires`, `Date`.
    jwks_headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Whether JWKS responses carry `ETag` / `Last-Modified` and conditional requests are
    /// answered 304 when nothing changed.
    validators: bool,
    /// Misbehaviour of the Cloudflare get-identity endpoint.
    identity_fault: Fault,
    /// Served instead of the realistic identity document when set.
    identity_override: Option<Value>,
    /// The `CF_Authorization` value of every get-identity request that carried one.
    identity_cookies: Vec<String>,
}

/// State shared between the [`MockIdp`] handles, its token builders and the
/// HTTP handlers.
pub(crate) struct Shared {
    addr: SocketAddr,
    config: Mutex<Config>,
    jwks_fetches: AtomicUsize,
    not_modified: AtomicUsize,
    discovery_fetches: AtomicUsize,
    certs_fetches: AtomicUsize,
    identity_fetches: AtomicUsize,
    /// Requests on the providers' paths (Cognito, Entra ID, Google, Keycloak, Auth0, Okta).
    providers: providers::Counters,
    /// Counter behind the `identity_nonce` of Cloudflare tokens.
    cf_nonces: AtomicUsize,
    introspection: introspection::IntrospectionState,
    /// Becomes `true` (or its sender is dropped) when the mock shuts down.
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    fn config(&self) -> MutexGuard<'_, Config> {
        self.config.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn issuer(&self) -> String {
        self.config().issuer.clone()
    }

    /// The kid and key material of the current key for `alg`.
    ///
    /// Panics if `alg` is not one of [`ALGORITHMS`].
    pub(crate) fn current_key(&self, alg: Algorithm) -> (String, Arc<KeyMaterial>) {
        let config = self.config();
        let key = current(&config.keys, alg);
        (key.kid.clone(), Arc::clone(&key.material))
    }

    /// The real key set, ignoring any override.
    fn real_jwks(&self) -> Value {
        let config = self.config();
        let keys: Vec<Value> = config
            .keys
            .iter()
            .map(|k| k.material.jwk(k.alg, &k.kid))
            .collect();
        json!({ "keys": keys })
    }

    /// What the JWKS endpoint serves when no fault is set.
    pub(crate) fn jwks_document(&self) -> Value {
        let over = self.config().jwks_override.clone();
        over.unwrap_or_else(|| self.real_jwks())
    }

    /// What the discovery endpoint serves when no fault is set.
    pub(crate) fn discovery_document(&self) -> Value {
        json!({
            "issuer": self.issuer(),
            "jwks_uri": format!("{}{JWKS_PATH}", self.url()),
            "introspection_endpoint": format!("{}{}", self.url(), introspection::INTROSPECTION_PATH),
            "id_token_signing_alg_values_supported": ALGORITHMS,
        })
    }
}

fn current(keys: &[PublishedKey], alg: Algorithm) -> &PublishedKey {
    keys.iter()
        .rev()
        .find(|k| k.alg == alg)
        .unwrap_or_else(|| panic!("MockIdp publishes no key for {alg:?}; use one of ALGORITHMS"))
}

fn published(alg: Algorithm, slot: u32, material: Arc<KeyMaterial>) -> PublishedKey {
    let slug = keys::alg_slug(alg).unwrap_or("key");
    PublishedKey {
        alg,
        slot,
        kid: format!("{slug}-{slot}"),
        material,
    }
}

/// Owns the server: dropping it (with the last [`MockIdp`] clone) drops the
/// shutdown sender, which stops the server.
struct Handle {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

/// An in-process identity provider serving a JWKS and a discovery document,
/// and minting tokens signed with the published keys.
///
/// Cloning is cheap and shares the same server; the server stops when the
/// last clone is dropped or [`shutdown`](Self::shutdown) is called. It runs on
/// the tokio runtime that called [`start`](Self::start).
#[derive(Clone)]
pub struct MockIdp {
    inner: Arc<Handle>,
}

impl fmt::Debug for MockIdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockIdp")
            .field("url", &self.url())
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

impl MockIdp {
    /// Starts a mock on `127.0.0.1`, port 0, with one signing key per
    /// algorithm in [`ALGORITHMS`] (kids `rs256-1`, …, `eddsa-1`).
    ///
    /// # Panics
    ///
    /// If no tokio runtime is running, or binding a loopback port fails.
    pub async fn start() -> Self {
        token::ensure_provider();
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind a mock identity provider to 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("a bound listener has a local address");

        let wanted: Vec<(Algorithm, u32)> = ALGORITHMS.iter().map(|&alg| (alg, 1)).collect();
        let keys = keys::pooled_many(&wanted)
            .into_iter()
            .zip(ALGORITHMS)
            .map(|(material, alg)| published(alg, 1, material))
            .collect();

        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            addr,
            config: Mutex::new(Config {
                issuer: format!("http://{addr}"),
                keys,
                keep_previous: false,
                fault: Fault::None,
                jwks_override: None,
                cache_control: None,
                jwks_headers: Vec::new(),
                validators: true,
                identity_fault: Fault::None,
                identity_override: None,
                identity_cookies: Vec::new(),
            }),
            jwks_fetches: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            certs_fetches: AtomicUsize::new(0),
            identity_fetches: AtomicUsize::new(0),
            providers: providers::Counters::default(),
            cf_nonces: AtomicUsize::new(0),
            introspection: introspection::IntrospectionState::default(),
            shutdown: shutdown_rx,
        });
        let routes = providers::routes().merge(introspection::routes());
        server::spawn(listener, Arc::clone(&shared), routes);
        Self {
            inner: Arc::new(Handle { shared, shutdown }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        self.shared().url()
    }

    /// The issuer: [`url`](Self::url) unless changed with
    /// [`set_issuer`](Self::set_issuer).
    pub fn issuer(&self) -> String {
        self.shared().issuer()
    }

    /// URL of the JWKS endpoint.
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.url())
    }

    /// URL of the OpenID discovery document.
    pub fn discovery_url(&self) -> String {
        format!("{}{DISCOVERY_PATH}", self.url())
    }

    /// The default audience stamped on minted tokens: `"test-api"`.
    pub fn audience(&self) -> &str {
        token::DEFAULT_AUDIENCE
    }

    /// A token builder: RS256, the current key's kid and the default claims.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new(Arc::clone(self.shared()))
    }

    /// A token with the default claims, signed with `alg`'s current key.
    ///
    /// # Panics
    ///
    /// If `alg` is not one of [`ALGORITHMS`].
    pub fn mint(&self, alg: Algorithm) -> String {
        self.token().alg(alg).sign()
    }

    /// Signs the exact `header_json` and `payload_json` bytes (which need not
    /// be valid or canonical JSON) with `alg`'s current key.
    ///
    /// # Panics
    ///
    /// If `alg` is not one of [`ALGORITHMS`].
    pub fn sign_raw(&self, alg: Algorithm, header_json: &str, payload_json: &str) -> String {
        let (_, key) = self.shared().current_key(alg);
        token::sign_compact(
            &key.signer,
            alg,
            header_json.as_bytes(),
            payload_json.as_bytes(),
        )
    }

    /// The kid of `alg`'s current key, e.g. `rs256-1`.
    ///
    /// # Panics
    ///
    /// If `alg` is not one of [`ALGORITHMS`].
    pub fn kid(&self, alg: Algorithm) -> String {
        self.shared().current_key(alg).0
    }

    /// Replaces `alg`'s key with a new one and returns the new kid (`rs256-2`
    /// after the first rotation). The previous key is removed from the JWKS
    /// unless [`keep_previous`](Self::keep_previous) is on.
    ///
    /// # Panics
    ///
    /// If `alg` is not one of [`ALGORITHMS`].
    pub fn rotate(&self, alg: Algorithm) -> String {
        let slot = current(&self.shared().config().keys, alg).slot + 1;
        // Generate (or fetch from the pool) without holding the lock.
        let key = published(alg, slot, keys::pooled(alg, slot));
        let kid = key.kid.clone();
        let mut config = self.shared().config();
        if !config.keep_previous {
            config.keys.retain(|k| k.alg != alg);
        }
        config.keys.push(key);
        tracing::debug!(kid = %kid, "mock identity provider rotated a key");
        kid
    }

    /// Whether [`rotate`](Self::rotate) keeps publishing the replaced keys
    /// (off by default).
    pub fn keep_previous(&self, keep: bool) {
        self.shared().config().keep_previous = keep;
    }

    /// The key set the JWKS endpoint currently serves (the override, if set).
    pub fn jwks_json(&self) -> Value {
        self.shared().jwks_document()
    }

    /// The public JWK published under `kid`, if it is currently published.
    pub fn public_jwk(&self, kid: &str) -> Option<Value> {
        let config = self.shared().config();
        let key = config.keys.iter().find(|k| k.kid == kid)?;
        Some(key.material.jwk(key.alg, &key.kid))
    }

    /// The PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo) of the RSA
    /// key published under `kid`; `None` if there is none or it is not RSA.
    pub fn rsa_public_pem(&self, kid: &str) -> Option<String> {
        let config = self.shared().config();
        let key = config.keys.iter().find(|k| k.kid == kid)?;
        key.material.rsa_public_pem()
    }

    /// Number of requests received on the JWKS path, failed ones included.
    pub fn jwks_fetches(&self) -> usize {
        self.shared().jwks_fetches.load(Ordering::SeqCst)
    }

    /// Number of JWKS requests answered `304 Not Modified` (they count in
    /// [`jwks_fetches`](Self::jwks_fetches) too).
    pub fn not_modified_answers(&self) -> usize {
        self.shared().not_modified.load(Ordering::SeqCst)
    }

    /// Whether JWKS responses carry `ETag` and `Last-Modified` and conditional requests are
    /// answered `304 Not Modified` when the set did not change (on by default).
    pub fn set_validators(&self, on: bool) {
        self.shared().config().validators = on;
    }

    /// Number of requests received on the discovery path.
    pub fn discovery_fetches(&self) -> usize {
        self.shared().discovery_fetches.load(Ordering::SeqCst)
    }

    /// Makes the JWKS, discovery and Cloudflare certs endpoints misbehave from
    /// the next request on; [`Fault::None`] restores normal service.
    pub fn set_fault(&self, fault: Fault) {
        self.shared().config().fault = fault;
    }

    /// Serves exactly `body` on the JWKS path instead of the real keys
    /// (`None` restores them). Tokens are still signed with the real keys.
    pub fn set_jwks_override(&self, body: Option<Value>) {
        self.shared().config().jwks_override = body;
    }

    /// Changes the `issuer` of the discovery document and the default `iss`
    /// of tokens built from now on.
    pub fn set_issuer(&self, issuer: &str) {
        issuer.clone_into(&mut self.shared().config().issuer);
    }

    /// Sets (or, with `None`, removes) the `Cache-Control` header of JWKS
    /// responses.
    pub fn set_cache_control(&self, value: Option<&str>) {
        self.shared().config().cache_control = value.map(str::to_owned);
    }

    /// Sets (or, with `None`, removes) a header of JWKS responses, 200 and 304 alike: `Age`
    /// (a CDN's copy), `Expires` and `Date`, or anything else.
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not a valid header name or value.
    pub fn set_jwks_header(&self, name: &str, value: Option<&str>) {
        let name = http::HeaderName::try_from(name).expect("a valid header name");
        let mut config = self.shared().config();
        config.jwks_headers.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            let value = http::HeaderValue::try_from(value).expect("a valid header value");
            config.jwks_headers.push((name, value));
        }
    }

    /// Stops the server (for every clone). Connections in flight are allowed
    /// to finish; a [`Fault::SlowDrip`] body ends.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }
}
