//! [`SigningKey`]: a capability that signs with one key version and never reveals it.

use std::fmt;

use serde_json::{Map, Value, json};

use super::IssuerError;
use super::keys::KeyMaterial;
use super::raw_signer::RawSigner;
use crate::algorithms::Algorithm;

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
