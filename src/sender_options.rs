//! The layer's sender-constraint options (DPoP, RFC 9728 challenges): kept apart from
//! `layer.rs` (its size) and from `sender/`, which checks requests and knows nothing of the
//! layer that calls it.

use crate::layer::JwksAuthLayer;
use crate::sender::Dpop;

/// The layer's sender-constraint options.
impl<B> JwksAuthLayer<B> {
    /// Accepts DPoP-bound tokens (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof
    /// header, checked as [`Dpop`] describes. Off by default; set per layer, so routes can
    /// differ: give the routes that take DPoP their own router and layer, and `merge` it with
    /// the others (nesting a DPoP layer inside a layer without DPoP does not work: the outer
    /// layer does not read the `DPoP` scheme).
    ///
    /// Layers built from one [`Dpop`] (clones) share its replay cache; give each service that
    /// must reject a proof already used elsewhere the same `Dpop`.
    ///
    /// ```
    /// use jwks_auth::sender::{Dpop, HtuOrigin};
    /// # fn demo(verifier: jwks_auth::JwksVerifier) -> Result<(), jwks_auth::ConfigError> {
    /// let layer = jwks_auth::JwksAuthLayer::new(verifier)
    ///     .dpop(Dpop::required(HtuOrigin::fixed("https://api.example.com")).build()?);
    /// # let _ = layer; Ok(()) }
    /// ```
    pub fn dpop(mut self, dpop: Dpop) -> Self {
        self.config_mut().sender.dpop = Some(dpop);
        self.share_sender_config()
    }

    /// Adds `resource_metadata="<url>"` to 401 challenges (RFC 9728 section 5.1): where a
    /// client finds this resource's [`ProtectedResourceMetadata`](crate::sender::ProtectedResourceMetadata), typically
    /// `https://api.example.com/.well-known/oauth-protected-resource`.
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.config_mut().sender.resource_metadata = Some(url.into().into_boxed_str());
        self.share_sender_config()
    }

    /// Leaves the settings in the request extensions, so that refusals behind the layer
    /// (per-route requirements, extractors) carry the same challenges.
    fn share_sender_config(mut self) -> Self {
        let config = self.config_mut();
        config.extensions.insert(config.sender.clone());
        self
    }
}
