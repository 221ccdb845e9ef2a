//! A tonic gRPC service protected by jwks-auth, against the embedded mock identity provider.
//!
//! ```text
//! cargo run --example grpc
//! ```
//!
//! It serves `hello.Greeter/SayHello` on 127.0.0.1 behind
//! `JwksAuthLayer::new(verifier).grpc_server()`, calls it with a real tonic client with and
//! without a token, prints what it gets, and exits. Refusals reach the client as gRPC
//! statuses (`Code::Unauthenticated`, `Code::PermissionDenied`, `Code::Unavailable`), and the
//! handler reads the caller with `request.extensions().get::<User>()`.
//!
//! No `protoc`: the two messages are written by hand with `#[derive(prost::Message)]`, and
//! the service and client are the few lines `tonic-build` would generate. tests/grpc.rs reuses
//! this file.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use jwks_auth::testing::MockIdp;
use jwks_auth::{EmptyBody, JwksAuthLayer, JwksVerifier, User};
use tokio::net::TcpListener;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

/// The messages of `hello.proto`, as `prost-build` would write them:
///
/// ```proto
/// syntax = "proto3";
/// package hello;
/// service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }
/// message HelloRequest { string name = 1; }
/// message HelloReply { string message = 1; }
/// ```
pub mod proto {
    /// The request of `SayHello`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HelloRequest {
        /// Who to greet.
        #[prost(string, tag = "1")]
        pub name: String,
    }

    /// The reply of `SayHello`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HelloReply {
        /// The greeting.
        #[prost(string, tag = "1")]
        pub message: String,
    }
}

use proto::{HelloReply, HelloRequest};

/// The gRPC path of the one method.
pub const SAY_HELLO: &str = "/hello.Greeter/SayHello";

/// The handler: the layer has verified the token, and the caller is in the extensions.
async fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    // Always there behind the layer (a refused request never reaches the handler); a missing
    // `User` means the layer is not installed, a server mistake.
    let user = request
        .extensions()
        .get::<User>()
        .cloned()
        .ok_or_else(|| Status::internal("JwksAuthLayer is not installed"))?;
    let message = format!(
        "hello {}, you are {}",
        request.get_ref().name,
        user.sub().unwrap_or("nobody")
    );
    Ok(Response::new(HelloReply { message }))
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The `hello.Greeter` service, routed by path as `tonic-build`'s generated server does.
#[derive(Clone, Debug, Default)]
pub struct GreeterServer;

impl tonic::server::NamedService for GreeterServer {
    const NAME: &'static str = "hello.Greeter";
}

impl tower::Service<http::Request<tonic::body::Body>> for GreeterServer {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        if request.uri().path() != SAY_HELLO {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        Box::pin(async move {
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
            Ok(grpc.unary(SayHello, request).await)
        })
    }
}

/// `SayHello` as a tonic unary service.
struct SayHello;

impl tonic::server::UnaryService<HelloRequest> for SayHello {
    type Response = HelloReply;
    type Future = BoxFuture<Result<Response<HelloReply>, Status>>;

    fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
        Box::pin(say_hello(request))
    }
}

/// Serves the greeter behind `layer` on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    layer: JwksAuthLayer<EmptyBody>,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .layer(layer)
        .add_service(GreeterServer)
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
        .await
}

/// Starts the greeter behind `layer` on an ephemeral port of 127.0.0.1, in the background.
pub async fn spawn(layer: JwksAuthLayer<EmptyBody>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, layer));
    Ok(addr)
}

/// Calls `SayHello` at `addr` with a real tonic client, with `Authorization: Bearer <token>`
/// metadata when a token is given.
pub async fn call(addr: SocketAddr, token: Option<&str>, name: &str) -> Result<String, Status> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .map_err(|e| Status::internal(e.to_string()))?
        .connect()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut request = Request::new(HelloRequest {
        name: name.to_owned(),
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::invalid_argument("token is not a valid metadata value"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::from_static(SAY_HELLO);
    let codec = ProstCodec::<HelloRequest, HelloReply>::default();
    let reply = client.unary(request, path, codec).await?;
    Ok(reply.into_inner().message)
}

#[allow(dead_code)] // tests/grpc.rs includes this file and has its own entry point.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()?;
    let addr = spawn(JwksAuthLayer::new(verifier).grpc_server()).await?;
    println!("greeter on {addr}");

    let token = idp.token().subject("alice").sign();
    println!(
        "with a token:    {:?}",
        call(addr, Some(&token), "grpc").await
    );
    let refused = call(addr, None, "grpc").await.expect_err("refused");
    println!(
        "without a token: {:?} {:?}, www-authenticate: {:?}",
        refused.code(),
        refused.message(),
        refused.metadata().get("www-authenticate")
    );
    let refused = call(addr, Some("not.a.token"), "grpc")
        .await
        .expect_err("refused");
    println!(
        "bad token:       {:?} {:?}",
        refused.code(),
        refused.message()
    );
    Ok(())
}
