//! The signer's keys as a [`KeySource`], and [`LocalVerifier`], which enforces retention at
//! verify time.

use super::signer::RotatingSigner;
use crate::clock::{Clock, SharedClock};
use crate::error::{AuthError, AuthReason};
use crate::jwks::{BoxFuture, FetchError, Fetched, KeySource, Validators};
use crate::{JwksVerifier, User};

/// A signer's published keys as a [`KeySource`]: see [`RotatingSigner::key_source`].
#[derive(Debug, Clone)]
pub struct SignerKeys {
    signer: RotatingSigner,
}

impl SignerKeys {
    pub(crate) fn new(signer: RotatingSigner) -> Self {
        Self { signer }
    }
}

impl KeySource for SignerKeys {
    fn fetch<'a>(
        &'a self,
        previous: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        let result = self.signer.document(previous);
        Box::pin(async move { result })
    }
}

pub(crate) struct ClockHandle(pub(crate) SharedClock);

impl Clock for ClockHandle {
    fn now_millis(&self) -> i64 {
        self.0.now_millis()
    }
}

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
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::new(AuthReason::MalformedToken))?;
        match header.kid {
            Some(kid) if self.signer.accepts_kid(&kid) => self.verifier.verify(token).await,
            Some(_) => Err(AuthError::new(AuthReason::UnknownKeyId)),
            None => Err(AuthError::new(AuthReason::MissingKeyId)),
        }
    }
}
