//! Certificate-bound access tokens (RFC 8705) over real mutual TLS: an axum app served by
//! hyper on a rustls server that asks for client certificates; each connection's verified
//! leaf certificate goes into its requests as a `ClientCertificate`, which the layer compares
//! with the token's `cnf.x5t#S256`.
//!
//! ```text
//! cargo run --example mtls
//! ```
//!
//! The certificates next to this file are for the example only (a CA, `localhost`, and one
//! client), made with OpenSSL; never use their keys anywhere else.

use std::error::Error;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use jwks_auth::sender::ClientCertificate;
use jwks_auth::testing::MockIdp;
use jwks_auth::{JwksAuthLayer, JwksVerifier, User};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

const CA: &str = include_str!("ca.pem");
const SERVER_CERT: &str = include_str!("server.pem");
const SERVER_KEY: &str = include_str!("server.key");
const CLIENT_CERT: &str = include_str!("client.pem");
const CLIENT_KEY: &str = include_str!("client.key");

/// A rustls server configuration that asks every client for a certificate issued by `CA`
/// (optional here, so that the example can show a client without one being refused by the
/// layer rather than by the handshake).
fn tls_config() -> Result<ServerConfig, Box<dyn Error>> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(CA.as_bytes())?)?;
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .allow_unauthenticated()
        .build()?;
    let chain = vec![CertificateDer::from_pem_slice(SERVER_CERT.as_bytes())?];
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes())?;
    let mut config = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts TLS connections and serves `app` on each, with the connection's client
/// certificate (if any) in every request's extensions.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor, app: Router) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return; // a failed handshake: nothing to serve
            };
            // The leaf of the chain rustls verified against the CA.
            let certificate = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| ClientCertificate::new(leaf.to_vec()));
            let service = tower::ServiceBuilder::new()
                .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
                    if let Some(certificate) = &certificate {
                        request.extensions_mut().insert(certificate.clone());
                    }
                    request
                })
                .service(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let idp = MockIdp::start().await;
    let verifier = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .build()?;
    let app = Router::new()
        .route(
            "/orders",
            get(|user: User| async move { format!("orders of {}", user.sub().unwrap_or("?")) }),
        )
        .layer(JwksAuthLayer::new(verifier));

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://localhost:{}/orders", listener.local_addr()?.port());
    tokio::spawn(serve(
        listener,
        TlsAcceptor::from(Arc::new(tls_config()?)),
        app,
    ));

    // The authorization server binds the token to the client's certificate.
    let client_der = CertificateDer::from_pem_slice(CLIENT_CERT.as_bytes())?;
    let token = idp
        .token()
        .subject("billing-service")
        .certificate_bound(&client_der)
        .sign();

    let ca = reqwest::Certificate::from_pem(CA.as_bytes())?;
    let identity = reqwest::Identity::from_pem(format!("{CLIENT_CERT}{CLIENT_KEY}").as_bytes())?;
    let with_certificate = reqwest::Client::builder()
        .tls_certs_only([ca.clone()])
        .identity(identity)
        .resolve("localhost", ([127, 0, 0, 1], 0).into())
        .build()?;
    let without = reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve("localhost", ([127, 0, 0, 1], 0).into())
        .build()?;

    for (what, client) in [
        ("with the client certificate", &with_certificate),
        ("the token without the certificate", &without),
    ] {
        let response = client.get(&url).bearer_auth(&token).send().await?;
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(|v| format!("\n{:<40}www-authenticate: {v}", ""))
            .unwrap_or_default();
        let body = response.text().await?;
        println!("{what:<37} -> {status}  {body}{challenge}");
    }
    Ok(())
}
