//! What a [`RotatingSigner`] publishes: its current and retained versions, as a
//! [`KeySource`] ([`SignerKeys`]) and as the kids it accepts.

use std::time::Duration;

use super::IssuerError;
use super::kid::KeyRef;
use super::signer::RotatingSigner;
use super::source::answer;
use super::store::KeyInfo;
use crate::jwks::{BoxFuture, FetchError, Fetched, KeySource, Validators};
use crate::{JwksVerifier, JwksVerifierBuilder};

impl RotatingSigner {
    /// The versions a verifier may use at `now_ms`: the current one, every newer one, and
    /// each older one whose retention window (from its successor's creation) is still open.
    /// Also returns when the next retained version leaves the set.
    fn published(&self, now_ms: i64) -> Result<(Vec<KeyInfo>, Option<i64>), IssuerError> {
        self.published_at(&self.current_kid(), now_ms)
    }

    /// Whether a token naming `kid` may be verified now: `kid` must be exactly
    /// `base.version` of a published version of this signer, or (a kid naming no version)
    /// this signer's bare base, which means its newest version. Another base or an unknown
    /// version never matches another version.
    #[must_use]
    pub fn accepts_kid(&self, kid: &str) -> bool {
        match KeyRef::parse(kid) {
            Ok(KeyRef::Exact(id)) => {
                id.base() == self.inner.base
                    && self
                        .published(self.inner.clock.now_millis())
                        .is_ok_and(|(infos, _)| infos.iter().any(|i| i.id == id))
            }
            Ok(KeyRef::Newest(base)) => base == self.inner.base,
            Err(_) => false,
        }
    }

    /// The current and retained public keys, as a [`KeySource`](crate::jwks::KeySource) for a [`JwksVerifier`] or the
    /// [`JwksPublisher`](super::JwksPublisher). HMAC signers publish an empty set.
    pub fn key_source(&self) -> SignerKeys {
        SignerKeys {
            signer: self.clone(),
        }
    }

    /// A verifier builder preset for this signer's tokens: its key source, issuer and clock.
    /// Add the audience (or `any_audience`) and build.
    pub fn verifier_builder(&self) -> JwksVerifierBuilder {
        JwksVerifier::builder()
            .key_source(self.key_source())
            .issuer(self.inner.issuer.clone())
            .versioned_kids(true)
            .clock(self.inner.clock.clone())
    }

    pub(crate) fn document(&self, previous: Option<&Validators>) -> Result<Fetched, FetchError> {
        let now = self.inner.clock.now_millis();
        let (infos, next_drop) = self
            .published(now)
            .map_err(|e| FetchError::transient(format!("local key store: {e}")))?;
        let mut keys = Vec::new();
        for info in infos.iter().filter(|i| !i.spec.kind.is_symmetric()) {
            let jwk = self
                .inner
                .store
                .public_jwk(&info.id)
                .map_err(|e| FetchError::transient(format!("local key store: {e}")))?;
            keys.push(jwk);
        }
        let until_drop =
            next_drop.map(|t| Duration::from_millis(u64::try_from(t - now).unwrap_or(0).max(1000)));
        let max_age = until_drop.map_or(self.inner.publish_max_age, |d| {
            d.min(self.inner.publish_max_age)
        });
        Ok(answer(keys, Some(max_age), previous))
    }
}

/// A signer's published keys as a [`KeySource`]: see [`RotatingSigner::key_source`].
#[derive(Debug, Clone)]
pub struct SignerKeys {
    signer: RotatingSigner,
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
