//! The per-route middleware, in tower-http's order: [`Require`] is the layer,
//! [`Authorize`] the service, [`ResponseFuture`] its future (unboxed).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::Require;
use crate::error::AuthError;
use crate::layer::Anonymous;
use crate::response::refusal_for_request;
use crate::user::User;

/// The 500 body when a route has a requirement but no authentication layer in front of it.
pub(crate) const LAYER_MISSING: &str = "no authenticated user in the request extensions: a \
    `Require` needs `JwksAuthLayer` to run first (add it with `.layer(JwksAuthLayer::new(..))` \
    on the router or an outer service, around the `.route_layer(Require::..)`)";

impl<S> Layer<S> for Require {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            requirement: self.clone(),
        }
    }
}

/// The middleware built by a [`Require`] used as a layer: checks the [`User`] that
/// [`JwksAuthLayer`](crate::JwksAuthLayer) put in the request extensions, then calls the inner
/// service or answers the refusal.
///
/// | request | response |
/// |---|---|
/// | user meets the requirement | the inner service's |
/// | user does not | 403, from the authentication layer's [`RejectionHandler`](crate::RejectionHandler) (see [`Require`]) |
/// | anonymous ([`optional`](crate::JwksAuthLayer::optional) layer, no token) | 401 `WWW-Authenticate: Bearer`, same handler |
/// | no authentication layer in front | 500 whose body names the fix (a setup mistake) |
///
/// The [`AuthError`] is in the refusal's extensions, as for the authentication layer's own.
/// Like that layer, it needs a response body that implements `From<Bytes>`.
#[derive(Clone)]
pub struct Authorize<S> {
    inner: S,
    requirement: Require,
}

impl<S> Authorize<S> {
    /// The requirement checked.
    pub fn requirement(&self) -> &Require {
        &self.requirement
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Authorize<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        match refusal(&self.requirement, req.headers(), req.extensions()) {
            None => ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(req),
                },
            },
            Some(response) => ResponseFuture {
                state: State::Refused {
                    response: Some(response.map(ResBody::from)),
                },
            },
        }
    }
}

/// `None` when the request may go on; else the response refusing it, in the layer's format
/// (its rejection handler, and a gRPC status for a gRPC request).
fn refusal(
    requirement: &Require,
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
) -> Option<Response<Bytes>> {
    let error = match extensions.get::<User>() {
        Some(user) => requirement.authorize(user).err()?,
        None if extensions.get::<Anonymous>().is_some() => AuthError::missing(),
        None => return Some(layer_missing()),
    };
    tracing::debug!(
        reason = error.reason().code(),
        "jwks-auth: requirement refused"
    );
    crate::metrics::refused(&error, crate::metrics::Lookup::NoToken);
    Some(refusal_for_request(headers, extensions, &error))
}

fn layer_missing() -> Response<Bytes> {
    tracing::error!("{LAYER_MISSING}");
    let body = serde_json::json!({ "detail": LAYER_MISSING }).to_string();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl<S: fmt::Debug> fmt::Debug for Authorize<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorize")
            .field("inner", &self.inner)
            .field("requirement", &self.requirement)
            .finish()
    }
}

pin_project! {
    /// Response future of [`Authorize`].
    pub struct ResponseFuture<F, ResBody> {
        #[pin]
        state: State<F, ResBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, ResBody> {
        Inner {
            #[pin]
            future: F,
        },
        Refused {
            response: Option<Response<ResBody>>,
        },
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F, ResBody>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}

impl<F, ResBody> fmt::Debug for ResponseFuture<F, ResBody> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::convert::Infallible;

    fn call(require: &Require, extensions: http::Extensions) -> Response<Bytes> {
        let mut svc = require.layer(Ok200);
        let mut req = Request::new(());
        *req.extensions_mut() = extensions;
        let fut = svc.call(req);
        futures_util::FutureExt::now_or_never(fut)
            .expect("ready")
            .expect("infallible")
    }

    #[derive(Clone)]
    struct Ok200;
    impl Service<Request<()>> for Ok200 {
        type Response = Response<Bytes>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<Bytes>, Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<()>) -> Self::Future {
            std::future::ready(Ok(Response::new(Bytes::from_static(b"ok"))))
        }
    }

    #[test]
    fn user_anonymous_and_missing_layer() {
        let require = Require::scope("a");
        let mut ext = http::Extensions::new();
        ext.insert(User::from_claims(json!({"scope": "a"})));
        assert_eq!(call(&require, ext).status(), 200);

        let mut ext = http::Extensions::new();
        ext.insert(User::from_claims(json!({"scope": "b"})));
        let refused = call(&require, ext);
        assert_eq!(refused.status(), 403);
        assert_eq!(
            refused.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer scope="a", error="insufficient_scope", error_description="insufficient scope""#
        );
        assert!(refused.extensions().get::<AuthError>().is_some());

        let mut ext = http::Extensions::new();
        ext.insert(Anonymous);
        let anonymous = call(&require, ext);
        assert_eq!(anonymous.status(), 401);
        assert_eq!(anonymous.headers()[header::WWW_AUTHENTICATE], "Bearer");

        let missing = call(&require, http::Extensions::new());
        assert_eq!(missing.status(), 500);
        assert!(String::from_utf8_lossy(missing.body()).contains("JwksAuthLayer"));
    }
}
