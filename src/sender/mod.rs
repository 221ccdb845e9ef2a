//! Sender-constrained tokens: DPoP (RFC 9449), certificate-bound tokens (RFC 8705), and the
//! protected-resource metadata that advertises them (RFC 9728).
//!
//! A stolen bearer token works for whoever holds it. A *sender-constrained* token names, in
//! its `cnf` (confirmation) claim, the key its holder must prove possession of:
//!
//! - `cnf.jkt`: the RFC 7638 thumbprint of a key the client signs a DPoP proof with on every
//!   request (`Authorization: DPoP <token>` plus a `DPoP: <proof>` header). Turn it on per
//!   layer with [`JwksAuthLayer::dpop`](crate::JwksAuthLayer::dpop) and a [`Dpop`] configuration.
//! - `cnf.x5t#S256`: the SHA-256 thumbprint of the client's TLS certificate. The TLS server
//!   puts the certificate into the request extensions as a [`ClientCertificate`]; nothing
//!   needs configuring in the layer.
//!
//! # What is checked, and when
//! The checks run in the layer after the token is verified, on every request, including
//! requests answered from the verified-token cache: a cached token never skips its proof.
//!
//! | the token carries | the request | result |
//! |---|---|---|
//! | no `cnf` | `Bearer` | accepted, unless the layer's DPoP mode is [`DpopMode::Required`] |
//! | no `cnf.jkt` | `DPoP` scheme | refused: `dpop_token_not_bound` |
//! | `cnf.jkt` | `DPoP` scheme and a valid proof by that key | accepted |
//! | `cnf.jkt` | `Bearer`, another token source, or DPoP not enabled on the layer | refused: `dpop_bound_token_as_bearer` |
//! | `cnf.x5t#S256` | a [`ClientCertificate`] with that thumbprint | accepted |
//! | `cnf.x5t#S256` | no certificate, or another one | refused: `client_certificate_missing` / `_mismatch` |
//! | `cnf` with neither (e.g. RFC 7800 `jwk`, `kid`) | any | refused: `unsupported_confirmation` |
//!
//! The refusal of a bound token by a layer without DPoP is deliberate and not configurable:
//! such a layer cannot prove the binding, and accepting the token would make it a bearer
//! token again, which is exactly what its issuer meant to prevent.
//!
//! # Refusals
//! DPoP refusals carry a `DPoP` challenge (RFC 9449 section 7.1) with `algs="..."`:
//! `error="invalid_dpop_proof"` for a bad proof, `error="use_dpop_nonce"` plus a fresh
//! `DPoP-Nonce` header when a server nonce is required, `error="invalid_token"` for a token
//! presented the wrong way. In [`DpopMode::Allowed`] a request without a token gets both a
//! `Bearer` and a `DPoP` challenge. gRPC requests get them as metadata, as every refusal.

mod challenge;
mod dpop;
mod htu;
mod metadata;
mod mtls;
mod nonce;
mod replay;

use http::{HeaderMap, Request, header};

pub use dpop::{Dpop, DpopBuilder, DpopMode};
pub use htu::HtuOrigin;
pub use metadata::{ProtectedResourceMetadata, ProtectedResourceMetadataBuilder};
pub use mtls::ClientCertificate;

pub(crate) use challenge::decorate;

use crate::error::{AuthError, AuthReason};
use crate::token::{self, Found, TokenSource};
use crate::user::User;

/// The sender-constraint settings of one layer.
#[derive(Debug, Clone, Default)]
pub(crate) struct SenderConfig {
    pub(crate) dpop: Option<Dpop>,
    /// RFC 9728 section 5.1: `resource_metadata="<url>"` in 401 challenges.
    pub(crate) resource_metadata: Option<Box<str>>,
}

/// The token of a request: `Authorization: DPoP` first when DPoP is enabled, then the
/// configured sources.
pub(crate) fn extract<'p>(
    parts: &'p http::request::Parts,
    sender: &SenderConfig,
    sources: &[TokenSource],
) -> Result<Option<Found<'p>>, AuthError> {
    if sender.dpop.is_some()
        && let Some(found) = token::authorization(&parts.headers, b"dpop")?
    {
        return Ok(Some(found));
    }
    token::extract(parts, sources)
}

/// Whether the request's credential is `Authorization: DPoP ...`.
fn dpop_scheme(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).is_some_and(|value| {
        let raw = value.as_bytes().trim_ascii_start();
        raw.len() > 4 && raw[..4].eq_ignore_ascii_case(b"dpop") && raw[4] == b' '
    })
}

/// The `cnf` members this crate checks.
struct Confirmation<'u> {
    jkt: Option<&'u str>,
    x5t_s256: Option<&'u str>,
}

fn confirmation(user: &User) -> Result<Confirmation<'_>, AuthError> {
    let malformed = || AuthError::new(AuthReason::MalformedConfirmation);
    let Some(cnf) = user.claim("cnf") else {
        return Ok(Confirmation {
            jkt: None,
            x5t_s256: None,
        });
    };
    let cnf = cnf.as_object().ok_or_else(malformed)?;
    let member = |name| match cnf.get(name) {
        None => Ok(None),
        Some(value) => value.as_str().map(Some).ok_or_else(malformed),
    };
    let confirmation = Confirmation {
        jkt: member("jkt")?,
        x5t_s256: member("x5t#S256")?,
    };
    // A binding this crate cannot prove (RFC 7800's `jwk`, `jwe`, `kid`; SHA-1 `x5t`; a
    // method yet to come) is refused, not ignored: ignoring it would turn a token its issuer
    // meant to constrain into a bearer token. An empty `cnf` binds nothing.
    if confirmation.jkt.is_none() && confirmation.x5t_s256.is_none() && !cnf.is_empty() {
        return Err(AuthError::new(AuthReason::UnsupportedConfirmation));
    }
    Ok(confirmation)
}

/// The sender constraint of a verified token, checked against its request: the proof of
/// possession its `cnf` asks for, and the layer's DPoP mode. `token` is the compact token.
pub(crate) fn check<B>(
    sender: &SenderConfig,
    request: &Request<B>,
    user: &User,
    token: &str,
) -> Result<(), AuthError> {
    let cnf = confirmation(user)?;
    if let Some(thumbprint) = cnf.x5t_s256 {
        mtls::check(request.extensions(), thumbprint)?;
    }
    let Some(dpop) = &sender.dpop else {
        return match cnf.jkt {
            Some(_) => Err(AuthError::new(AuthReason::DpopBoundTokenAsBearer)),
            None => Ok(()),
        };
    };
    if dpop_scheme(request.headers()) {
        let jkt = cnf
            .jkt
            .ok_or(AuthError::new(AuthReason::DpopTokenNotBound))?;
        return dpop.verify_proof(request, token, jkt);
    }
    match (cnf.jkt, dpop.mode()) {
        (Some(_), _) => Err(AuthError::new(AuthReason::DpopBoundTokenAsBearer)),
        (None, DpopMode::Required) => Err(AuthError::new(AuthReason::DpopRequired)),
        (None, DpopMode::Allowed) => Ok(()),
    }
}
