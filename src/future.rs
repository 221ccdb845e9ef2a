//! [`ResponseFuture`]: the inner service's future, unboxed; only a pending key refresh is boxed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::error::AuthError;
use crate::layer::LayerConfig;
use crate::service::reject;
use crate::user::User;

type AuthFuture = Pin<Box<dyn Future<Output = Result<User, AuthError>> + Send>>;

pin_project! {
    /// Response future of [`JwksAuth`](crate::JwksAuth).
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
    pub(crate) fn inner(future: S::Future) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn verifying(
        auth: AuthFuture,
        request: Request<ReqBody>,
        service: S,
        config: Arc<LayerConfig>,
    ) -> Self {
        Self {
            state: State::Verifying {
                auth,
                pending: Some((request, service)),
                config,
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

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
                } => {
                    let result = ready!(auth.as_mut().poll(cx));
                    let (mut request, mut service) = pending
                        .take()
                        .expect("ResponseFuture polled after completion");
                    let next = match result {
                        Ok(user) => {
                            request.extensions_mut().insert(user);
                            State::Inner {
                                future: service.call(request),
                            }
                        }
                        Err(e) => State::Rejected {
                            response: Some(reject(config, &e)),
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
