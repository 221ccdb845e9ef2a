//! [`CloudflareAccess`]: the built preset. Verifies tokens, builds the layer, fetches
//! identities.

use std::fmt;
use std::sync::Arc;

use super::client::IdentityClient;
use super::error::IdentityError;
use super::identity::Identity;
use super::{CERTS_PATH, INVALID_TOKEN_DETAIL, MISSING_TOKEN_DETAIL};
use crate::error::AuthError;
use crate::layer::JwksAuthLayer;
use crate::response::DefaultRejection;
use crate::token::TokenSource;
use crate::user::User;
#[cfg(feature = "axum")]
use crate::user::VerifiedToken;
use crate::verifier::JwksVerifier;

/// A Cloudflare Access application: verifies its tokens, builds its layer, fetches and caches
/// identities.
///
/// Cheap to clone (one `Arc`); build one and share it. See the [module docs](crate::cloudflare) for what
/// the preset checks, and [`CloudflareAccessBuilder`](super::CloudflareAccessBuilder) for the options.
#[derive(Clone)]
pub struct CloudflareAccess {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) team: String,
    pub(crate) base_url: String,
    pub(crate) issuer: String,
    pub(crate) aud: String,
    pub(crate) verifier: JwksVerifier,
    pub(crate) identity: IdentityClient,
}

impl CloudflareAccess {
    /// The layer protecting routes: the preset's token sources and responses (see the
    /// [module docs](crate::cloudflare)), with this handle in the request extensions for the [`Identity`]
    /// extractor. It is a plain [`JwksAuthLayer`]: `.optional()`, `.dev_user(..)` or
    /// `.rejection(..)` still apply.
    pub fn layer(&self) -> JwksAuthLayer {
        JwksAuthLayer::new(self.inner.verifier.clone())
            .token_sources(Self::token_sources())
            .rejection(Self::rejection())
            .extension(self.clone())
    }

    /// Where the preset reads tokens: `Cf-Access-Jwt-Assertion`, then the `CF_Authorization`
    /// cookie (Cloudflare recommends the header; the cookie is not always sent).
    #[must_use]
    pub fn token_sources() -> Vec<TokenSource> {
        vec![
            TokenSource::cf_access_header(),
            TokenSource::cf_authorization_cookie(),
        ]
    }

    /// The preset's responses: [`DefaultRejection`] with the Starlette middleware's texts
    /// ([`MISSING_TOKEN_DETAIL`], [`INVALID_TOKEN_DETAIL`]).
    #[must_use]
    pub fn rejection() -> DefaultRejection {
        DefaultRejection::new()
            .missing_detail(MISSING_TOKEN_DETAIL)
            .invalid_detail(INVALID_TOKEN_DETAIL)
    }

    /// Verifies a token (a leading `Bearer ` is stripped) for code not behind the layer (a
    /// WebSocket upgrade, a background job), with the same checks and policies.
    ///
    /// # Errors
    /// An [`AuthError`]: invalid (401), refused by a policy (403), keys unavailable (503).
    pub async fn verify_user(&self, token: &str) -> Result<User, AuthError> {
        self.inner.verifier.verify(strip_bearer(token)).await
    }

    /// Verifies a token and returns its email.
    ///
    /// # Errors
    /// As [`verify_user`](Self::verify_user), and a 403 [`AuthError`] for a token without
    /// email (a service token): use `verify_user` to accept those.
    pub async fn verify_email(&self, token: &str) -> Result<String, AuthError> {
        let user = self.verify_user(token).await?;
        match user.email() {
            Some(email) if !email.is_empty() => Ok(email.to_owned()),
            _ => Err(AuthError::forbidden(
                "no email in the token (service token)",
            )),
        }
    }

    /// The identity behind a token, from `GET <base>/cdn-cgi/access/get-identity` with
    /// `Cookie: CF_Authorization=<token>`: exactly the token verified (one leading `Bearer `
    /// is stripped first, as by [`verify_user`](Self::verify_user)).
    ///
    /// The token is verified first (a cheap cache hit when the layer just did), so nothing
    /// unverified is ever sent or cached. Identities are cached per session: the
    /// `identity_nonce` bound to the verified issuer (the team), subject and token type, so
    /// that another caller whose token carries the same nonce never receives this identity
    /// (per token for service tokens, which have no nonce); until the token's `exp`, at most
    /// [`identity_cache_ttl`](super::CloudflareAccessBuilder::identity_cache_ttl); concurrent
    /// requests for one identity share one fetch; failures are not cached.
    ///
    /// # Errors
    /// An [`IdentityError`] whose [`kind`](IdentityError::kind) says what failed: the token
    /// (401/403), the endpoint's refusal (401), a bad answer (502), an unreachable endpoint or
    /// keys (503). Never a panic.
    pub async fn get_identity(&self, token: &str) -> Result<Arc<Identity>, IdentityError> {
        // Strip once, then verify and send that very string: what is sent is what was
        // verified (`verify_user` would strip a second `Bearer `).
        let token = strip_bearer(token);
        let user = self.inner.verifier.verify(token).await?;
        self.inner.identity.get(&user, token).await
    }

    /// The identity behind a token the layer already verified into `user`: no second
    /// verification.
    #[cfg(feature = "axum")]
    pub(crate) async fn identity_of(
        &self,
        user: &User,
        token: &VerifiedToken,
    ) -> Result<Arc<Identity>, IdentityError> {
        self.inner.identity.get(user, token.as_str()).await
    }

    /// The verifier (for `refresh()` at startup, `status()` in health checks).
    #[must_use]
    pub fn verifier(&self) -> &JwksVerifier {
        &self.inner.verifier
    }

    /// The team name, e.g. `acme`.
    #[must_use]
    pub fn team(&self) -> &str {
        &self.inner.team
    }

    /// The base URL keys and identities are fetched from (no trailing slash).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The exact `iss` required.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The application's AUD tag.
    #[must_use]
    pub fn aud(&self) -> &str {
        &self.inner.aud
    }

    /// The URL of the signing keys.
    #[must_use]
    pub fn certs_url(&self) -> String {
        format!("{}{CERTS_PATH}", self.inner.base_url)
    }

    /// The URL of the identity endpoint.
    #[must_use]
    pub fn identity_url(&self) -> &str {
        self.inner.identity.url().as_str()
    }
}

pub(crate) fn strip_bearer(token: &str) -> &str {
    match token.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim_start(),
        _ => token,
    }
}

impl fmt::Debug for CloudflareAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareAccess")
            .field("team", &self.inner.team)
            .field("base_url", &self.inner.base_url)
            .field("issuer", &self.inner.issuer)
            .field("aud", &self.inner.aud)
            .field("identity", &self.inner.identity)
            .finish_non_exhaustive()
    }
}
