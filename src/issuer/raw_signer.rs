//! [`RawSigner`]: a private key ready to sign, whatever library signs with it.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::EcdsaKeyPair;
use jsonwebtoken::EncodingKey;

use super::IssuerError;
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
