//! `private_key_jwt` client authentication (RFC 7523 section 2.2, OpenID Connect Core section
//! 9): a short-lived JWT signed with the client's private key, sent as `client_assertion`.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

use crate::algorithms::{Algorithm, Algorithms};
use crate::claims::NumericDate;
use crate::error::ConfigError;

/// How long an assertion is valid: long enough for clock skew, short enough that a captured
/// one is soon useless (the server also refuses a replayed `jti`).
const LIFETIME_SECS: i64 = 60;

/// The `client_assertion_type` of a JWT assertion (RFC 7523 section 2.2).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's signing key for `private_key_jwt`: build with [`ClientAssertion::new`], use
/// with [`ClientAuth::PrivateKeyJwt`](super::ClientAuth::PrivateKeyJwt).
#[derive(Clone)]
pub struct ClientAssertion {
    pub(crate) client_id: String,
    alg: Algorithm,
    kid: Option<String>,
    key: EncodingKey,
    audience: Option<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: i64,
    exp: i64,
}

impl ClientAssertion {
    /// `client_id`'s key: a PKCS#8 (or for RSA, PKCS#1) PEM private key, signing with `alg`
    /// (RS256/384/512, PS256/384/512, ES256, ES384 or EdDSA; the key's type must fit).
    ///
    /// # Errors
    /// A [`ConfigError`] when the algorithm is not one of those, or the PEM is not a private
    /// key that signs with it.
    pub fn new(
        client_id: impl Into<String>,
        alg: Algorithm,
        pem: &[u8],
    ) -> Result<Self, ConfigError> {
        let client_id = client_id.into();
        let unsupported = || {
            ConfigError::new(format!(
                "private_key_jwt: {} cannot sign client assertions here; use RS256, PS256, \
                 ES256, ES384 or EdDSA",
                alg.as_str()
            ))
        };
        if !Algorithms::ASYMMETRIC.contains(alg) || alg.to_jsonwebtoken().is_none() {
            return Err(unsupported());
        }
        let key = match alg.as_str() {
            "ES256" | "ES384" => EncodingKey::from_ec_pem(pem),
            "EdDSA" => EncodingKey::from_ed_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        }
        .map_err(|e| ConfigError::new(format!("private_key_jwt: the key is not usable: {e}")))?;
        let assertion = Self {
            client_id,
            alg,
            kid: None,
            key,
            audience: None,
        };
        // A key of another type than `alg` only fails when signing: find out now.
        crate::crypto::install_provider();
        assertion
            .sign("https://check.invalid", NumericDate::from_millis(0))
            .map_err(|e| {
                ConfigError::new(format!(
                    "private_key_jwt: the key cannot sign {}: {e}",
                    alg.as_str()
                ))
            })?;
        Ok(assertion)
    }

    /// The `kid` header, naming the key among those registered for the client.
    #[must_use]
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The assertion's `aud` (default: the introspection endpoint URL, which Okta requires;
    /// some servers want their issuer URL instead).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// A fresh assertion for a request to `endpoint` at `now`.
    pub(crate) fn sign(&self, endpoint: &str, now: NumericDate) -> Result<String, String> {
        let secs = now.as_millis().div_euclid(1000);
        let mut header = Header::new(self.alg.to_jsonwebtoken().ok_or("no algorithm")?);
        header.kid.clone_from(&self.kid);
        header.typ = Some("JWT".to_owned());
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: self.audience.as_deref().unwrap_or(endpoint),
            jti: jti(),
            iat: secs,
            exp: secs.saturating_add(LIFETIME_SECS),
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }
}

/// A unique `jti`: a process-wide counter mixed with per-process random keys (`RandomState`
/// is seeded from the OS). Uniqueness is what the server checks (replay); it is not a secret.
fn jti() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = RandomState::new();
    let mut bytes = [0u8; 24];
    bytes[..8].copy_from_slice(&state.hash_one((n, 0u8)).to_be_bytes());
    bytes[8..16].copy_from_slice(&state.hash_one((n, 1u8)).to_be_bytes());
    bytes[16..].copy_from_slice(&n.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

// Never shows the key.
impl fmt::Debug for ClientAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAssertion")
            .field("client_id", &self.client_id)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC_P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc1dxyetPCiNYlu1l
zj+K215l1L9mw0VJGJzRBMcjwKuhRANCAAQb1h+cfNH6Re/Nwqzu+AYhRQiFrdDc
zNAVo9mmO8GzrafKhmewuQpPpQVQZsy3oGXN7Nd5vpXdYE5znnwUV+bc
-----END PRIVATE KEY-----
";

    #[test]
    fn keys_that_cannot_sign_with_the_algorithm_are_refused_when_built() {
        assert!(ClientAssertion::new("c", Algorithm::ES256, EC_P256.as_bytes()).is_ok());
        for (alg, why) in [
            (Algorithm::RS256, "not usable"),
            (Algorithm::ES384, "cannot sign"),
            (Algorithm::ES512, "cannot sign client assertions"),
            (Algorithm::HS256, "cannot sign client assertions"),
        ] {
            let err = ClientAssertion::new("c", alg, EC_P256.as_bytes()).expect_err("refused");
            assert!(err.to_string().contains(why), "{alg:?}: {err}");
        }
    }

    #[test]
    fn jtis_are_unique() {
        let a: std::collections::HashSet<String> = (0..1000).map(|_| jti()).collect();
        assert_eq!(a.len(), 1000);
    }
}
