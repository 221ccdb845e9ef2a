//! Authenticate HTTP requests with JWTs verified against JSON Web Key Sets, as a Tower layer
//! for axum, hyper or any `tower::Service`.
//!
//! ```
//! use axum::{Router, routing::get, body::Body};
//! use http::{Request, StatusCode};
//! use jwks_auth::{JwksAuthLayer, JwksVerifier, User, testing::MockIdp};
//! use tower::ServiceExt;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let idp = MockIdp::start().await; // an identity provider on 127.0.0.1, for the example
//! let verifier = JwksVerifier::builder()
//!     .jwks_url(idp.jwks_url())
//!     .issuer(idp.issuer())
//!     .audience("test-api")
//!     .build()?;
//! let app = Router::new()
//!     .route("/me", get(|user: User| async move { user.sub().unwrap_or("").to_owned() }))
//!     .layer(JwksAuthLayer::new(verifier));
//!
//! let token = idp.token().subject("alice").sign();
//! let ok = app.clone().oneshot(
//!     Request::get("/me").header("authorization", format!("Bearer {token}")).body(Body::empty())?,
//! ).await?;
//! assert_eq!(ok.status(), StatusCode::OK);
//!
//! let refused = app.oneshot(Request::get("/me").body(Body::empty())?).await?;
//! assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(refused.headers()["www-authenticate"], "Bearer");
//! # Ok(()) }
//! ```
//!
//! # How a request is handled
//!
//! 1. The token is taken from the first configured [`TokenSource`] that has one
//!    (`Authorization: Bearer`, then `Cf-Access-Jwt-Assertion` by default; the
//!    `CF_Authorization` cookie when configured, as the Cloudflare preset does). A credential
//!    that is present but unusable (two of them, a malformed one) is refused, never treated as
//!    absent. Query strings are never read.
//! 2. A token seen before is answered from the verified-token cache (its `exp`/`nbf` and its
//!    key are re-checked on every hit).
//! 3. Otherwise the compact form is checked strictly (size cap, three segments, header with a
//!    supported `alg`; `none`, `crit` and `b64` refused; `jku`/`x5u`/`jwk`/`x5c` never read),
//!    and the key is looked up by kid in the current key set - an atomic load, no lock, no
//!    parse, no await. The token's alg must be one the key is pinned to.
//! 4. The signature is verified, then the claims: `exp` required, `nbf`, leeway, exact `iss`,
//!    `aud` any-of, required claims.
//! 5. The [`User`] goes into the request extensions and the inner service is called. Refusals
//!    are responses (401, 403, 503) built by a [`RejectionHandler`]; the inner service's error
//!    type is unchanged.
//!
//! An unknown kid triggers one single-flight refresh, then a cooldown during which unknown
//! kids are refused at once. A failed refresh keeps the last good set for up to `max_stale`.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `axum` | yes | extractors: [`User`], [`Claims<T>`](Claims) and their `Option` forms |
//! | `aws-lc-rs` | yes | the aws-lc-rs crypto backend (fast) |
//! | `rust-crypto` | no | the pure-Rust RustCrypto backend; aws-lc-rs wins if both are on |
//! | `issuer` | no | the issuer side (`jwks_auth::issuer`: key stores, rotating signer, JWKS publishing), with either backend (it generates keys with aws-lc-rs); not compiled otherwise |
//! | `testing` | no | [`testing::MockIdp`], an in-process identity provider for your tests (turns on `issuer`) |
//! | `metrics` | no | counters, gauges and histograms through the `metrics` facade (see [`metrics`] for names and labels); without it, recording compiles to nothing |
//!
//! # Identity provider presets
//!
//! [`providers`] holds presets for Cognito, Entra ID (single and multi-tenant), Google and
//! Keycloak: the identifiers you know, the token shapes each provider really sends. On the
//! generic builder, [`JwksVerifierBuilder::issuers`] accepts several exact issuers on one key
//! set and [`JwksVerifierBuilder::authorized_party`] checks `azp`.
//!
//! # Authorization
//!
//! [`authz`]: what a route requires of the verified [`User`], per route with `route_layer`
//! ([`Require::scope`], [`Require::role`] with a provider's [`RoleSource`](authz::RoleSource),
//! [`Require::claim`], `any_of` / `all_of`), as an extractor
//! ([`authz::Authorized`]), or verifier-wide ([`JwksVerifierBuilder::require`]). One
//! authentication layer, one key cache, as many requirements as routes.
//!
//! # Sender-constrained tokens
//!
//! [`sender`]: DPoP-bound tokens (RFC 9449, [`JwksAuthLayer::dpop`]), certificate-bound tokens
//! (RFC 8705, [`ClientCertificate`]) and protected-resource metadata (RFC 9728,
//! [`ProtectedResourceMetadata`]). The layer never accepts a token bound with `cnf` as a bearer
//! token; [`JwksVerifier::verify`] alone does not look at `cnf` (it has no request to check).
//!
//! # Cloudflare Access
//!
//! [`cloudflare::CloudflareAccess`] is the preset for applications behind Cloudflare Access:
//! team certs, exact issuer, AUD tag, header-then-cookie tokens, the Starlette middleware's
//! responses, service tokens, policies, and the identity endpoint with a cached, lazy
//! [`cloudflare::Identity`] extractor.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithms;
pub mod authz;
mod builder;
mod challenge;
mod claims;
mod clock;
pub mod cloudflare;
mod crypto;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod fetch;
#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzzing;
mod grpc;
mod grpc_options;
#[cfg(feature = "axum")]
pub mod health;
// The issuer side: key stores, rotating signer, JWKS publishing (feature `issuer`), and the
// Shared encoding helpers (hex, base64url, ETag, PEM) for the publishing side: the issuer and the mock.
#[cfg(feature = "issuer")]
mod encoding;
pub mod introspection;
#[cfg(feature = "issuer")]
pub mod issuer;
pub mod jwk;
pub mod jwks;
mod jwt;
mod layer;
pub mod metrics;
mod oidc;
mod policy;
pub mod providers;
mod response;
mod rules;
pub mod sender;
mod sender_options;
mod token;
mod token_cache;
mod user;
mod verifier;
mod verify;

#[cfg(feature = "testing")]
pub mod testing;

/// The README's code blocks, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use algorithms::{Algorithm, Algorithms, ParseAlgorithmError};
pub use authz::Require;
pub use builder::JwksVerifierBuilder;
pub use challenge::BearerChallenge;
pub use clock::{Clock, ManualClock, SystemClock};
pub use cloudflare::{CloudflareAccess, Identity, IdentityError};
pub use error::{AuthError, AuthErrorKind, AuthReason, ConfigError};
#[cfg(feature = "axum")]
pub use extract::{AuthRejection, Claims};
pub use grpc::GrpcMode;
pub use jwks::FetchError;
pub use layer::{Anonymous, DevBypass, JwksAuth, JwksAuthLayer, ResponseFuture};
pub use policy::IdTokenChecks;
pub use response::{BodyFromBytes, DefaultRejection, EmptyBody, RejectionBody, RejectionHandler};
pub use sender::{ClientCertificate, Dpop, DpopMode, HtuOrigin, ProtectedResourceMetadata};
pub use token::{
    CF_ACCESS_HEADER, CF_AUTHORIZATION_COOKIE, CustomSource, ExtractToken, MAX_COOKIES,
    TokenSource, WebSocketProtocol,
};
pub use user::{User, VerifiedToken};
pub use verifier::JwksVerifier;
