//! Certificate-bound access tokens (RFC 8705 section 3): a token whose `cnf.x5t#S256` names
//! the SHA-256 thumbprint of the client certificate of the TLS connection it arrives on.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::Extensions;
use sha2::{Digest, Sha256};

use crate::error::{AuthError, AuthReason};

/// The client certificate of the request's TLS connection (the leaf, DER-encoded), which the
/// TLS server puts into the request extensions when the client authenticated with one.
///
/// The layer needs it only for certificate-bound tokens (`cnf.x5t#S256`, RFC 8705): such a
/// token is accepted only when this certificate's SHA-256 thumbprint is the token's. The
/// certificate chain must have been verified by the TLS server (rustls' client certificate
/// verifier); the layer compares thumbprints, it does not validate certificates.
///
/// With axum, hyper and rustls (`tokio-rustls`), insert it per connection, from the accepted
/// TLS stream, into every request served on that connection (`examples/mtls/main.rs` runs
/// this against a rustls client verifier, with a client that has the certificate and one that
/// does not):
///
/// ```ignore
/// let tls = acceptor.accept(tcp).await?; // rustls ServerConfig with a client cert verifier
/// let certificate = tls
///     .get_ref()
///     .1
///     .peer_certificates()
///     .and_then(|chain| chain.first())
///     .map(|leaf| ClientCertificate::new(leaf.to_vec()));
/// let service = tower::ServiceBuilder::new()
///     .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
///         if let Some(certificate) = &certificate {
///             request.extensions_mut().insert(certificate.clone());
///         }
///         request
///     })
///     .service(app); // the axum Router with the JwksAuthLayer
/// hyper::server::conn::http1::Builder::new()
///     .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
///     .await?;
/// ```
///
/// Behind a TLS-terminating proxy that forwards the certificate in a header, build it from
/// that header in a layer of your own, and only when the request comes from the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    der: Bytes,
}

impl ClientCertificate {
    /// The certificate from its DER encoding.
    pub fn new(der: impl Into<Bytes>) -> Self {
        Self { der: der.into() }
    }

    /// The DER encoding.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The RFC 8705 thumbprint: base64url (unpadded) of the SHA-256 of the DER encoding, as a
    /// token's `cnf.x5t#S256` carries it.
    #[must_use]
    pub fn thumbprint_sha256(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }
}

/// The request's certificate must be the one `thumbprint` names.
pub(super) fn check(extensions: &Extensions, thumbprint: &str) -> Result<(), AuthError> {
    let certificate = extensions
        .get::<ClientCertificate>()
        .ok_or(AuthError::new(AuthReason::ClientCertificateMissing))?;
    // Thumbprints are public; no constant-time comparison is needed.
    if certificate.thumbprint_sha256() == thumbprint {
        Ok(())
    } else {
        Err(AuthError::new(AuthReason::ClientCertificateMismatch))
    }
}
