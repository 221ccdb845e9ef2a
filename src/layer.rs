//! The middleware, in tower-http's order: [`JwksAuthLayer`] (configuration, cheap to clone),
//! [`JwksAuth`] (the service), [`ResponseFuture`] (the inner service's future, unboxed; only a
//! pending key refresh is boxed).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::AuthError;
use crate::grpc::GrpcMode;
use crate::metrics::Lookup::{self, NoToken};
use crate::response::{
    BodyFromBytes, DefaultRejection, RejectionBody, RejectionHandler, SharedRejection,
    rejection_response_for,
};
use crate::token::TokenSource;
use crate::user::{User, VerifiedToken};
use crate::verifier::Attempt;
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
/// The type parameter says how a refusal's body is built for the protected service's response
/// body type: by default [`BodyFromBytes`] (axum's `Body`, `Full<Bytes>`, any `From<Bytes>`);
/// [`grpc_server`](Self::grpc_server) switches to [`EmptyBody`](crate::EmptyBody) for tonic.
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
#[must_use]
pub struct JwksAuthLayer<B = BodyFromBytes> {
    pub(crate) config: Arc<LayerConfig>,
    pub(crate) body: PhantomData<fn() -> B>,
}

impl<B> Clone for JwksAuthLayer<B> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
            body: PhantomData,
        }
    }
}

#[derive(Clone)]
pub(crate) struct LayerConfig {
    pub(crate) verifier: JwksVerifier,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) optional: bool,
    pub(crate) dev_user: Option<User>,
    pub(crate) rejection: SharedRejection,
    pub(crate) grpc: GrpcMode,
    /// Values inserted into every request passed to the inner service.
    pub(crate) extensions: http::Extensions,
    /// DPoP and RFC 9728 settings (`crate::sender`).
    pub(crate) sender: crate::sender::SenderConfig,
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
                grpc: GrpcMode::Auto,
                extensions: http::Extensions::new(),
                sender: crate::sender::SenderConfig::default(),
            }),
            body: PhantomData,
        }
    }
}

impl<B> JwksAuthLayer<B> {
    /// Configuration is copied on write: a layer configured after being cloned never changes
    /// the clones.
    pub(crate) fn config_mut(&mut self) -> &mut LayerConfig {
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

    /// Replaces the rejection response ([`DefaultRejection`] by default). The handler also
    /// answers the extractors' refusals (`User`, `Claims<T>` on an anonymous request), so
    /// one format covers every refusal: the layer makes it reachable to them through the
    /// request extensions.
    ///
    /// A closure needs its argument type written out, `|e: &AuthError| ...` (Rust infers a
    /// closure's signature from `Fn` bounds, not from a trait implemented for closures).
    pub fn rejection(mut self, handler: impl RejectionHandler) -> Self {
        let handler = SharedRejection(Arc::new(handler));
        let config = self.config_mut();
        config.extensions.insert(handler.clone());
        config.rejection = handler;
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

impl<S, B> Layer<S> for JwksAuthLayer<B> {
    type Service = JwksAuth<S, B>;

    fn layer(&self, inner: S) -> Self::Service {
        JwksAuth::new(inner, Arc::clone(&self.config))
    }
}

impl<B> fmt::Debug for JwksAuthLayer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksAuthLayer")
            .field("verifier", &self.config.verifier)
            .field("sources", &self.config.sources)
            .field("optional", &self.config.optional)
            .field("grpc", &self.config.grpc)
            .field("dev_user", &self.config.dev_user)
            .field("sender", &self.config.sender)
            .finish_non_exhaustive()
    }
}

// ---- the service ----------------------------------------------------------------------------

/// The middleware built by [`JwksAuthLayer`].
///
/// Its error type is the inner service's: refusals are responses, never errors. `B` builds
/// the refusal's body in the inner service's response body type: by default from
/// [`Bytes`](bytes::Bytes), so
/// that type must implement `From<Bytes>` (axum's `Body` and `http_body_util::Full<Bytes>`
/// do); with [`EmptyBody`](crate::EmptyBody) it must implement `Default` (tonic's does).
pub struct JwksAuth<S, B = BodyFromBytes> {
    inner: S,
    config: Arc<LayerConfig>,
    body: PhantomData<fn() -> B>,
}

impl<S: Clone, B> Clone for JwksAuth<S, B> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), Arc::clone(&self.config))
    }
}

impl<S, B> JwksAuth<S, B> {
    fn new(inner: S, config: Arc<LayerConfig>) -> Self {
        Self {
            inner,
            config,
            body: PhantomData,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ReqBody, ResBody> Service<Request<ReqBody>> for JwksAuth<S, B>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ReqBody: Send + 'static,
    B: RejectionBody<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        if !config.extensions.is_empty() {
            req.extensions_mut().extend(config.extensions.clone());
        }
        if let Some(user) = &config.dev_user {
            req.extensions_mut().insert(user.clone());
            req.extensions_mut().insert(DevBypass);
            return ResponseFuture::inner(self.inner.call(req));
        }
        // The sources read the request head (a custom one gets `&Parts`); the body waits
        // aside, two moves and no allocation.
        let (parts, body) = req.into_parts();
        let extracted =
            crate::sender::extract(&parts, &config.sender, &config.sources).map(|found| {
                // The token shares its header's bytes when it is a slice of one.
                found.map(|found| {
                    (
                        found.verified_token(),
                        config.verifier.verify_now(&found.token),
                    )
                })
            });
        let mut req = Request::from_parts(parts, body);
        let (verified, attempt) = match extracted {
            Ok(Some(found)) => found,
            Ok(None) if config.optional => {
                req.extensions_mut().insert(Anonymous);
                return ResponseFuture::inner(self.inner.call(req));
            }
            Ok(None) => {
                let missing = AuthError::missing();
                let refusal = reject::<B, ResBody>(config, req.headers(), &missing, NoToken);
                return ResponseFuture::rejected(refusal);
            }
            Err(e) => {
                let refusal = reject::<B, ResBody>(config, req.headers(), &e, NoToken);
                return ResponseFuture::rejected(refusal);
            }
        };
        match attempt {
            Attempt::Done(Ok(user), lookup) => {
                // Sender constraints run after verification, cached or not (`crate::sender`).
                if let Err(e) = crate::sender::check(&config.sender, &req, &user, verified.as_str())
                {
                    let refusal = reject::<B, ResBody>(config, req.headers(), &e, lookup);
                    return ResponseFuture::rejected(refusal);
                }
                if lookup == Lookup::Hit {
                    config.verifier.hit_counts().hit();
                } else {
                    crate::metrics::accepted_miss();
                }
                req.extensions_mut().insert(user);
                req.extensions_mut().insert(verified);
                ResponseFuture::inner(self.inner.call(req))
            }
            Attempt::Done(Err(e), lookup) => {
                ResponseFuture::rejected(reject::<B, ResBody>(config, req.headers(), &e, lookup))
            }
            Attempt::MustWait(pending) => {
                // Only this path is boxed: it waits for a key set refresh or the introspection
                // endpoint. The request reaches the inner service only if that verification
                // succeeds, so the token can ride along now.
                let token = verified.clone();
                req.extensions_mut().insert(verified);
                let verifier = config.verifier.clone();
                let auth =
                    Box::pin(async move { verifier.verify_pending(token.as_str(), pending).await });
                // Take the service that was driven to readiness; leave a clone in its place.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let reject = reject::<B, ResBody>;
                ResponseFuture::verifying(auth, req, inner, Arc::clone(config), reject)
            }
        }
    }
}

/// The rejection response (HTTP or gRPC, by the request's headers), with the error in its
/// extensions for outer layers.
fn reject<B: RejectionBody<ResBody>, ResBody>(
    config: &LayerConfig,
    headers: &http::HeaderMap,
    error: &AuthError,
    lookup: Lookup,
) -> Response<ResBody> {
    tracing::debug!(reason = error.reason().code(), "jwks-auth: request refused");
    crate::metrics::refused(error, lookup);
    let mut response = rejection_response_for(headers, Some(&config.rejection), config.grpc, error);
    crate::sender::decorate(&config.sender, headers, error, &mut response);
    response.map(B::body)
}

impl<S: fmt::Debug, B> fmt::Debug for JwksAuth<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksAuth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

// ---- the response future ----------------------------------------------------------------------

type AuthFuture = Pin<Box<dyn Future<Output = Result<User, AuthError>> + Send>>;

/// Builds a refusal in the inner service's response type: `reject` for the layer's body
/// builder, fixed when the future is created so that the future's type does not name it.
type Reject<R> = fn(&LayerConfig, &http::HeaderMap, &AuthError, Lookup) -> R;

pin_project! {
    /// Response future of [`JwksAuth`].
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Verifying {
            auth: AuthFuture,
            pending: Option<(Request<ReqBody>, S)>,
            config: Arc<LayerConfig>,
            reject: Reject<S::Response>,
        },
        Inner {
            #[pin]
            future: S::Future,
        },
        Rejected {
            response: Option<S::Response>,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn inner(future: S::Future) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    fn rejected(response: S::Response) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    fn verifying(
        auth: AuthFuture,
        request: Request<ReqBody>,
        service: S,
        config: Arc<LayerConfig>,
        reject: Reject<S::Response>,
    ) -> Self {
        Self {
            state: State::Verifying {
                auth,
                pending: Some((request, service)),
                config,
                reject,
            },
        }
    }
}

impl<S, ReqBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Rejected { response } => {
                    return Poll::Ready(Ok(response
                        .take()
                        .expect("ResponseFuture polled after completion")));
                }
                StateProj::Verifying {
                    auth,
                    pending,
                    config,
                    reject,
                } => {
                    let result = ready!(auth.as_mut().poll(cx));
                    let (mut request, mut service) = pending
                        .take()
                        .expect("ResponseFuture polled after completion");
                    let checked = result.and_then(|user| {
                        let token = request.extensions().get::<VerifiedToken>();
                        let token = token.map_or("", VerifiedToken::as_str);
                        crate::sender::check(&config.sender, &request, &user, token).map(|()| user)
                    });
                    let next = match checked {
                        Ok(user) => {
                            crate::metrics::accepted_miss();
                            request.extensions_mut().insert(user);
                            State::Inner {
                                future: service.call(request),
                            }
                        }
                        Err(e) => State::Rejected {
                            response: Some(reject(config, request.headers(), &e, Lookup::Miss)),
                        },
                    };
                    this.state.set(next);
                }
            }
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
