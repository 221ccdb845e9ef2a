//! [`SigningKey`]: a capability that signs with one key version and never reveals it.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};

use super::IssuerError;
use super::keys::KeyMaterial;

/// A signing capability for one key version: signs, but never hands out the secret.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
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
            key: material.encoding_key(),
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
        crate::crypto::install_provider();
        let mut header = jsonwebtoken::Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|e| IssuerError::Crypto(format!("signing failed: {e}")))
    }
}
