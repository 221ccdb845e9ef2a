//! Token minting: [`TokenBuilder`] and the raw compact-JWS signer.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::EncodingKey;
use serde_json::{Map, Value, json};

use super::Shared;
use crate::algorithms::Algorithm;
use crate::issuer::raw_signer::RawSigner;

/// The default `sub` claim of minted tokens.
pub(crate) const DEFAULT_SUBJECT: &str = "user-1";
/// The default `aud` claim of minted tokens.
pub(crate) const DEFAULT_AUDIENCE: &str = "test-api";

/// Installs jsonwebtoken's aws-lc-rs crypto provider unless one is installed.
pub(crate) fn ensure_provider() {
    // Err only means a provider is already installed, which is fine.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Signs the exact `header` and `payload` bytes as a compact JWS.
pub(crate) fn sign_compact(
    key: &RawSigner,
    alg: Algorithm,
    header: &[u8],
    payload: &[u8],
) -> String {
    ensure_provider();
    key.sign_compact(alg, header, payload)
        .expect("mock key material matches its algorithm and always signs")
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Which `kid` the header carries.
#[derive(Debug, Clone)]
enum KidChoice {
    /// The kid of the signing key (none for HMAC).
    Current,
    Custom(String),
    Omit,
}

/// Builder for a signed test token; get one from
/// [`MockIdp::token`](super::MockIdp::token).
///
/// Starts with RS256, the default header `{"alg", "typ": "JWT", "kid"}` and
/// the default claims (`iss`, `sub`, `aud`, `email`, `name`, `iat`, `nbf`,
/// `exp`). Every method consumes and returns the builder; [`sign`](Self::sign)
/// produces the compact JWS.
#[must_use = "a TokenBuilder does nothing until `sign` is called"]
pub struct TokenBuilder {
    shared: Arc<Shared>,
    alg: Algorithm,
    kid: KidChoice,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    hmac_secret: Option<Vec<u8>>,
    /// Leave `typ` out of the header (Cognito, Okta).
    no_typ: bool,
}

impl fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("header", &self.header)
            .field("claims", &self.claims)
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl TokenBuilder {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let now = now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(shared.issuer()));
        claims.insert("sub".into(), json!(DEFAULT_SUBJECT));
        claims.insert("aud".into(), json!(DEFAULT_AUDIENCE));
        claims.insert("email".into(), json!("user-1@example.test"));
        claims.insert("name".into(), json!("Test User"));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert("exp".into(), json!(now.saturating_add(3600)));
        Self {
            shared,
            alg: Algorithm::RS256,
            kid: KidChoice::Current,
            header: Map::new(),
            claims,
            hmac_secret: None,
            no_typ: false,
        }
    }

    /// Signs with `alg` (and that algorithm's current key).
    ///
    /// HS256/HS384/HS512 are accepted too, but only together with
    /// [`hmac_secret`](Self::hmac_secret); such tokens carry no `kid` by default.
    pub fn alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Puts `kid` in the header instead of the signing key's kid. The token is
    /// still signed with the algorithm's current key.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = KidChoice::Custom(kid.into());
        self
    }

    /// Leaves `kid` out of the header.
    pub fn no_kid(mut self) -> Self {
        self.kid = KidChoice::Omit;
        self
    }

    /// Leaves `typ` out of the header (as Cognito's and Okta's tokens do). A `typ` given with
    /// [`header`](Self::header) still goes in.
    pub fn no_typ(mut self) -> Self {
        self.no_typ = true;
        self
    }

    /// Adds or overrides a header member (`crit`, `jku`, `typ`, even `alg` or
    /// `kid`). Applied after the defaults, so it wins over them.
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Sets or overrides a claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim (default or not).
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Binds the token to `prover`'s key (RFC 9449 section 6): `cnf.jkt` is its thumbprint.
    pub fn dpop_bound(self, prover: &super::DpopProver) -> Self {
        self.confirmation("jkt", json!(prover.thumbprint()))
    }

    /// Binds the token to a client certificate (RFC 8705 section 3): `cnf.x5t#S256` is the
    /// base64url SHA-256 of its DER encoding.
    pub fn certificate_bound(self, certificate_der: &[u8]) -> Self {
        let thumbprint = crate::sender::ClientCertificate::new(certificate_der.to_vec());
        self.confirmation("x5t#S256", json!(thumbprint.thumbprint_sha256()))
    }

    /// Sets one member of the `cnf` claim, keeping the others.
    fn confirmation(mut self, name: &str, value: Value) -> Self {
        let cnf = self
            .claims
            .entry("cnf")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(members) = cnf.as_object_mut() {
            members.insert(name.to_owned(), value);
        }
        self
    }

    /// Sets `sub`.
    pub fn subject(self, sub: &str) -> Self {
        self.claim("sub", json!(sub))
    }

    /// Sets `aud`: a JSON string or array of strings (or anything else, for
    /// malformed-claim tests).
    pub fn audience(self, aud: Value) -> Self {
        self.claim("aud", aud)
    }

    /// Sets `exp` to now + `secs` (negative for an already expired token).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", json!(now().saturating_add(secs)))
    }

    /// Sets `nbf` to now + `secs`.
    pub fn not_before_in(self, secs: i64) -> Self {
        self.claim("nbf", json!(now().saturating_add(secs)))
    }

    /// The HMAC secret used when [`alg`](Self::alg) is HS256/HS384/HS512, e.g.
    /// an RSA public key PEM for algorithm-confusion tests.
    pub fn hmac_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.hmac_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// Signs and returns the compact JWS (`header.payload.signature`).
    ///
    /// # Panics
    ///
    /// If the algorithm is HMAC and no [`hmac_secret`](Self::hmac_secret) was
    /// given, or if it is an algorithm the mock has no keys for.
    #[must_use]
    pub fn sign(self) -> String {
        let (signing_kid, key) = if is_hmac(self.alg) {
            let secret = self
                .hmac_secret
                .as_deref()
                .expect("TokenBuilder: HMAC algorithms need `.hmac_secret(..)`");
            (None, RawSigner::Jose(EncodingKey::from_secret(secret)))
        } else {
            let (kid, material) = self.shared.current_key(self.alg);
            (Some(kid), material.signer.clone())
        };

        let mut header = Map::new();
        header.insert("alg".into(), json!(self.alg));
        if !self.no_typ {
            header.insert("typ".into(), json!("JWT"));
        }
        let kid = match self.kid {
            KidChoice::Current => signing_kid,
            KidChoice::Custom(kid) => Some(kid),
            KidChoice::Omit => None,
        };
        if let Some(kid) = kid {
            header.insert("kid".into(), json!(kid));
        }
        header.extend(self.header);

        let header = Value::Object(header).to_string();
        let payload = Value::Object(self.claims).to_string();
        sign_compact(&key, self.alg, header.as_bytes(), payload.as_bytes())
    }
}

/// A token signed with `alg` by a key that no [`MockIdp`](super::MockIdp) ever publishes,
/// with header `{"alg", "typ": "JWT", "kid": kid}` and exactly `claims` as
/// payload: for forged-signature tests.
///
/// # Panics
///
/// If `alg` is not one of [`ALGORITHMS`](super::ALGORITHMS).
pub fn foreign_token(alg: Algorithm, kid: &str, claims: Value) -> String {
    let key = super::keys::pooled(alg, super::keys::FOREIGN_SLOT);
    let header = json!({ "alg": alg, "typ": "JWT", "kid": kid }).to_string();
    let payload = claims.to_string();
    sign_compact(&key.signer, alg, header.as_bytes(), payload.as_bytes())
}
