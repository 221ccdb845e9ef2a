//! [`LocalVerifier`], which enforces a signer's retention window at verify time.

use super::signer::RotatingSigner;
use crate::error::{AuthError, AuthReason};
use crate::{JwksVerifier, User};

/// Verifies a signer's own tokens with its retention window enforced at verify time.
///
/// The key lookup is exact: the token's kid must be a version the signer publishes *now*, or
/// its bare base for the newest version ([`RotatingSigner::accepts_kid`]); only then is the token handed to the
/// [`JwksVerifier`] (signature, `exp`, `nbf`, `iss`, `aud`, ...). A version whose window has
/// closed is refused even while the verifier's cached key set still holds it.
#[derive(Debug, Clone)]
pub struct LocalVerifier {
    signer: RotatingSigner,
    verifier: JwksVerifier,
}

impl LocalVerifier {
    /// Combines a signer with a verifier of its tokens (build it with
    /// [`RotatingSigner::verifier_builder`]).
    #[must_use]
    pub fn new(signer: &RotatingSigner, verifier: JwksVerifier) -> Self {
        Self {
            signer: signer.clone(),
            verifier,
        }
    }

    /// Verifies `token`.
    ///
    /// # Errors
    /// [`AuthError`] (invalid token) when the kid is not a currently published version of the
    /// signer, or as [`JwksVerifier::verify`].
    pub async fn verify(&self, token: &str) -> Result<User, AuthError> {
        // The crate's own strict parse (jsonwebtoken's header reader has no ES512); its
        // refusals are the verifier's, and nothing is decoded twice beyond the small header.
        let mut header_buf = Vec::new();
        let header = crate::jwt::parse(token, usize::MAX, &mut header_buf)?;
        match header.kid.as_deref() {
            Some(kid) if self.signer.accepts_kid(kid) => self.verifier.verify(token).await,
            Some(_) => Err(AuthError::new(AuthReason::UnknownKeyId)),
            None => Err(AuthError::new(AuthReason::MissingKeyId)),
        }
    }
}
