//! [`JwksAuthLayer`]: the configuration shared by every [`JwksAuth`] service it builds.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::response::{DefaultRejection, RejectionHandler, SharedRejection};
use crate::service::JwksAuth;
use crate::token::TokenSource;
use crate::user::User;
use crate::verifier::JwksVerifier;

/// A Tower layer that authenticates every request with a JWT.
///
/// On success the request gets a [`User`] in its extensions (read it with the axum
/// extractors, or `req.extensions().get::<User>()`). On failure the inner service is not
/// called and the response comes from the [`RejectionHandler`] (by default [`DefaultRejection`]:
/// 401 / 403 / 503 with an RFC 6750 challenge and a `{"detail": ...}` body).
///
/// Cloning is cheap (one `Arc`).
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use jwks_auth::{JwksAuthLayer, JwksVerifier, User};
///
/// # fn app() -> Result<Router, jwks_auth::ConfigError> {
/// let verifier = JwksVerifier::builder()
///     .jwks_url("https://idp.example.com/.well-known/jwks.json")
///     .issuer("https://idp.example.com")
///     .audience("my-api")
///     .build()?;
/// let app = Router::new()
///     .route("/me", get(|user: User| async move { format!("{:?}", user.sub()) }))
///     .layer(JwksAuthLayer::new(verifier));
/// # Ok(app) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct JwksAuthLayer {
    pub(crate) config: Arc<LayerConfig>,
}

#[derive(Clone)]
pub(crate) struct LayerConfig {
    pub(crate) verifier: JwksVerifier,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) optional: bool,
    pub(crate) dev_user: Option<User>,
    pub(crate) rejection: SharedRejection,
    /// Values inserted into every request passed to the inner service.
    pub(crate) extensions: http::Extensions,
}

impl JwksAuthLayer {
    /// Authenticates with `verifier`, reading tokens from [`TokenSource::defaults`].
    pub fn new(verifier: JwksVerifier) -> Self {
        Self {
            config: Arc::new(LayerConfig {
                verifier,
                sources: TokenSource::defaults(),
                optional: false,
                dev_user: None,
                rejection: SharedRejection(Arc::new(DefaultRejection::new())),
                extensions: http::Extensions::new(),
            }),
        }
    }

    /// Configuration is copied on write: a layer configured after being cloned never changes
    /// the clones.
    fn config_mut(&mut self) -> &mut LayerConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Where tokens are read from, in order of precedence: the first source holding a token
    /// decides. Default: [`TokenSource::defaults`].
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.config_mut().sources = sources.into_iter().collect();
        self
    }

    /// Let requests without any token through, anonymous (no [`User`] in the extensions).
    /// A token that is present but invalid is still refused.
    pub fn optional(mut self) -> Self {
        self.config_mut().optional = true;
        self
    }

    /// Replaces the rejection response ([`DefaultRejection`] by default).
    pub fn rejection(mut self, handler: impl RejectionHandler) -> Self {
        self.config_mut().rejection = SharedRejection(Arc::new(handler));
        self
    }

    /// Skips verification entirely and gives every request this user.
    ///
    /// # Warning
    /// **Never in production.** For local development only. A loud warning is logged when the
    /// layer is configured, and every request is marked: [`User::is_dev_bypass`] is true and
    /// a [`DevBypass`] marker is in the request extensions, so handlers and logs can tell.
    pub fn dev_user(mut self, user: User) -> Self {
        tracing::warn!(
            sub = ?user.sub(),
            "jwks-auth: DEV USER BYPASS ENABLED - every request is authenticated as this user \
             without any token check. Never enable this in production."
        );
        self.config_mut().dev_user = Some(user.into_dev_bypass());
        self
    }

    /// Inserts a clone of `value` into the extensions of every request the layer passes to
    /// the inner service (authenticated, anonymous or dev-bypass), e.g. a handle that an
    /// extractor needs. One value per type: a second call with the same type replaces the
    /// first. [`CloudflareAccess::layer`](crate::cloudflare::CloudflareAccess::layer) uses it
    /// to make itself reachable by the `Identity` extractor.
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.config_mut().extensions.insert(value);
        self
    }

    /// The verifier behind the layer.
    #[must_use]
    pub fn verifier(&self) -> &JwksVerifier {
        &self.config.verifier
    }
}

/// Request extension set by an [`optional`](JwksAuthLayer::optional) layer on a request that
/// carried no token (so extractors can tell "anonymous" from "layer not installed").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anonymous;

/// Request extension set when the dev-user bypass authenticated the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevBypass;

impl<S> Layer<S> for JwksAuthLayer {
    type Service = JwksAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JwksAuth::new(inner, Arc::clone(&self.config))
    }
}

impl fmt::Debug for JwksAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksAuthLayer")
            .field("verifier", &self.config.verifier)
            .field("sources", &self.config.sources)
            .field("optional", &self.config.optional)
            .field("dev_user", &self.config.dev_user)
            .finish_non_exhaustive()
    }
}
