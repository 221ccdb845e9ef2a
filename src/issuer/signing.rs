//! [`SigningKey`]: a capability that signs with one key version and never reveals it.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::EcdsaKeyPair;
use jsonwebtoken::EncodingKey;
use serde_json::{Map, Value, json};

use super::IssuerError;
use super::keys::KeyMaterial;
use crate::algorithms::Algorithm;

/// A private key ready to sign: through jsonwebtoken for every algorithm it implements, with
/// aws-lc-rs directly for ES512 (P-521), which jsonwebtoken lacks.
#[derive(Clone)]
pub(crate) enum RawSigner {
    /// jsonwebtoken's key (RSA, P-256, P-384, Ed25519, HMAC).
    Jose(EncodingKey),
    /// A P-521 key pair: signatures are raw `r || s`, 132 bytes (RFC 7518 section 3.4).
    P521(Arc<EcdsaKeyPair>),
}

impl RawSigner {
    /// The base64url signature of `signing_input` with `alg` (which the caller has checked to
    /// fit the key).
    pub(crate) fn sign(&self, alg: Algorithm, signing_input: &[u8]) -> Result<String, IssuerError> {
        let failed = || IssuerError::Crypto(format!("signing with {alg} failed"));
        match (self, alg.to_jsonwebtoken()) {
            (Self::Jose(key), Some(jose)) => {
                crate::crypto::install_provider();
                jsonwebtoken::crypto::sign(signing_input, key, jose)
                    .map_err(|e| IssuerError::Crypto(format!("signing failed: {e}")))
            }
            (Self::P521(pair), None) => {
                let signature = pair
                    .sign(&SystemRandom::new(), signing_input)
                    .map_err(|_| failed())?;
                Ok(crate::encoding::b64url(signature.as_ref()))
            }
            _ => Err(failed()),
        }
    }

    /// The compact JWS of exactly these header and payload bytes.
    pub(crate) fn sign_compact(
        &self,
        alg: Algorithm,
        header: &[u8],
        payload: &[u8],
    ) -> Result<String, IssuerError> {
        use crate::encoding::b64url;
        let signing_input = format!("{}.{}", b64url(header), b64url(payload));
        let signature = self.sign(alg, signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{signature}"))
    }
}

/// A signing capability for one key version: signs, but never hands out the secret.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    key: RawSigner,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A signing key for `kid` that signs with `algorithm` only.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] when `algorithm` does not fit the key.
    pub fn new(
        kid: &str,
        algorithm: Algorithm,
        material: &KeyMaterial,
    ) -> Result<Self, IssuerError> {
        if !material.kind().supports(algorithm) {
            return Err(IssuerError::InvalidKey(format!(
                "{algorithm:?} does not fit a {} key",
                material.kind()
            )));
        }
        Ok(Self {
            kid: kid.into(),
            algorithm,
            key: material.signer()?,
        })
    }

    /// The key id stamped into tokens.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Signs `claims` as a compact JWT with header `{alg, kid, typ: "JWT"}`.
    ///
    /// # Errors
    /// [`IssuerError::Crypto`] if signing fails.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, IssuerError> {
        let header = json!({ "typ": "JWT", "alg": self.algorithm, "kid": self.kid });
        let payload = serde_json::to_vec(claims)
            .map_err(|e| IssuerError::Crypto(format!("cannot encode the claims: {e}")))?;
        self.key
            .sign_compact(self.algorithm, header.to_string().as_bytes(), &payload)
    }
}
