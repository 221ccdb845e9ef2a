//! The layer's gRPC options: kept apart from `layer.rs` (its size) and from `grpc.rs`, which
//! stays a leaf that only knows how a gRPC refusal looks.

use std::marker::PhantomData;

use crate::grpc::GrpcMode;
use crate::layer::JwksAuthLayer;
use crate::response::EmptyBody;

/// The layer's gRPC options.
impl<B> JwksAuthLayer<B> {
    /// When refusals are gRPC statuses (HTTP 200, `grpc-status` 16 / 7 / 14, `grpc-message`)
    /// rather than HTTP errors. Default [`GrpcMode::Auto`]: for requests whose `content-type`
    /// is `application/grpc*`. The mode also reaches per-route refusals behind the layer,
    /// through the request extensions.
    pub fn grpc_mode(mut self, mode: GrpcMode) -> Self {
        let config = self.config_mut();
        config.grpc = mode;
        // Only a non-default mode rides along in the extensions (no per-request insert
        // otherwise); its absence means `Auto` to whoever reads it.
        if mode == GrpcMode::Auto {
            config.extensions.remove::<GrpcMode>();
        } else {
            config.extensions.insert(mode);
        }
        self
    }

    /// For a gRPC server such as tonic's: every refusal is a gRPC status
    /// ([`GrpcMode::Always`]), and refusals have an empty body ([`EmptyBody`]), which fits
    /// response body types that cannot be built from bytes but have an empty `Default`, as
    /// tonic's `tonic::body::Body`.
    ///
    /// ```no_run
    /// # async fn serve(
    /// #     verifier: jwks_auth::JwksVerifier,
    /// #     greeter: tonic::service::Routes,
    /// # ) -> Result<(), tonic::transport::Error> {
    /// use jwks_auth::JwksAuthLayer;
    ///
    /// tonic::transport::Server::builder()
    ///     .layer(JwksAuthLayer::new(verifier).grpc_server())
    ///     .add_routes(greeter)
    ///     .serve("127.0.0.1:50051".parse().expect("address"))
    ///     .await
    /// # }
    /// ```
    ///
    /// In a handler, the caller is `request.extensions().get::<jwks_auth::User>()` (tonic
    /// keeps the HTTP request's extensions in `tonic::Request::extensions`).
    pub fn grpc_server(self) -> JwksAuthLayer<EmptyBody> {
        self.grpc_mode(GrpcMode::Always).rejection_body()
    }

    /// Chooses how refusal bodies are built for the protected service's response body type
    /// (see [`RejectionBody`](crate::RejectionBody)); [`grpc_server`](Self::grpc_server) picks [`EmptyBody`].
    pub fn rejection_body<N>(self) -> JwksAuthLayer<N> {
        JwksAuthLayer {
            config: self.config,
            body: PhantomData,
        }
    }
}
