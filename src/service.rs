//! [`JwksAuth`]: the middleware service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_service::Service;

use crate::error::AuthError;
use crate::future::ResponseFuture;
use crate::layer::{Anonymous, DevBypass, LayerConfig};
use crate::token;
use crate::verify::Attempt;

/// The middleware built by [`JwksAuthLayer`](crate::JwksAuthLayer).
///
/// Its error type is the inner service's: refusals are responses, never errors. The rejection
/// body is built from [`Bytes`], so the response body type must implement `From<Bytes>`
/// (axum's `Body` and `http_body_util::Full<Bytes>` do).
#[derive(Clone)]
pub struct JwksAuth<S> {
    inner: S,
    config: Arc<LayerConfig>,
}

impl<S> JwksAuth<S> {
    pub(crate) fn new(inner: S, config: Arc<LayerConfig>) -> Self {
        Self { inner, config }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for JwksAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes>,
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
        let token = match token::extract(req.headers(), &config.sources) {
            Ok(Some(token)) => token,
            Ok(None) if config.optional => {
                req.extensions_mut().insert(Anonymous);
                return ResponseFuture::inner(self.inner.call(req));
            }
            Ok(None) => return ResponseFuture::rejected(reject(config, &AuthError::missing())),
            Err(e) => return ResponseFuture::rejected(reject(config, &e)),
        };
        match config.verifier.verify_now(token) {
            Attempt::Done(Ok(user)) => {
                req.extensions_mut().insert(user);
                ResponseFuture::inner(self.inner.call(req))
            }
            Attempt::Done(Err(e)) => ResponseFuture::rejected(reject(config, &e)),
            Attempt::NeedsKeys(pending) => {
                // Only this path is boxed: it waits for a key set refresh.
                let token = token.to_owned();
                let verifier = config.verifier.clone();
                let auth = Box::pin(async move { verifier.verify_pending(&token, pending).await });
                // Take the service that was driven to readiness; leave a clone in its place.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::verifying(auth, req, inner, Arc::clone(config))
            }
        }
    }
}

/// The rejection response, with the error in its extensions for outer layers.
pub(crate) fn reject<ResBody: From<Bytes>>(
    config: &LayerConfig,
    error: &AuthError,
) -> Response<ResBody> {
    let mut response = config.rejection.0.rejection(error).map(ResBody::from);
    response.extensions_mut().insert(error.clone());
    response
}

impl<S: fmt::Debug> fmt::Debug for JwksAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksAuth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
