//! Cloudflare Access: verify the tokens Access puts in front of your application, and fetch
//! the identity behind them.
//!
//! Three lines protect an application; the [`Identity`] extractor fetches the full identity
//! only for the handlers that ask for it:
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use jwks_auth::User;
//! use jwks_auth::cloudflare::{CloudflareAccess, Identity};
//!
//! # fn app() -> Result<Router, jwks_auth::ConfigError> {
//! // Team name (or `acme.cloudflareaccess.com`), and the application's AUD tag.
//! let access = CloudflareAccess::new(
//!     "acme",
//!     "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
//! )?;
//! let app = Router::new()
//!     .route("/", get(|user: User| async move { format!("hello {:?}", user.email()) }))
//!     .route("/me", get(|id: Identity| async move { Json(id) }))
//!     .layer(access.layer());
//! # Ok(app) }
//! ```
//!
//! What the preset does:
//!
//! | | |
//! |---|---|
//! | keys | `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs` (its `keys`; `public_cert(s)` ignored), RS256 only; an unknown kid triggers a refresh |
//! | `iss` | exactly `https://<team>.cloudflareaccess.com` |
//! | `aud` | must hold the AUD tag (Cloudflare sends an array) |
//! | token | header `Cf-Access-Jwt-Assertion` first, then the `CF_Authorization` cookie |
//! | no token | 401 `{"detail":"Invalid CFA Token"}`, `WWW-Authenticate: Bearer` |
//! | bad token | 401 `{"detail":"CFA token verification failed"}`, `WWW-Authenticate: Bearer error="invalid_token", ...` |
//! | policy refusal | 403 `Bearer error="insufficient_scope"` |
//! | certs unobtainable | 503 with `Retry-After` |
//!
//! Cloudflare's claims (`country`, `identity_nonce`, `type`, `common_name`) are read through
//! the [`CloudflareClaims`] extension trait on [`User`](crate::User). Service tokens (machine
//! clients: `common_name` = Client ID, empty `sub`, no email) are accepted and marked
//! ([`CloudflareClaims::is_service_token`], one definition for tokens and identity documents);
//! refuse them with [`CloudflareAccessBuilder::refuse_service_tokens`].
//!
//! The [`Identity`] extractor sends Cloudflare exactly the token the layer verified (its
//! [`VerifiedToken`](crate::VerifiedToken)), whatever token sources the layer reads.
//!
//! # Layout
//!
//! `team` parses the team, AUD tag and base URL; `policy` holds the allow-lists and token
//! policies; `builder` wraps a [`JwksVerifierBuilder`](crate::JwksVerifierBuilder); `access`
//! is the built handle; `claims` the token claims; `identity` the identity document; `client`
//! its fetch and cache; `error` [`IdentityError`]; `extract` the axum extractor.
//!
//! # Testing
//!
//! With the `testing` feature, [`MockIdp`](crate::testing::MockIdp) serves Cloudflare's certs
//! format and a get-identity endpoint; point the builder at it with
//! [`base_url`](CloudflareAccessBuilder::base_url) and [`issuer`](CloudflareAccessBuilder::issuer):
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use jwks_auth::cloudflare::{CloudflareAccess, Identity};
//! use jwks_auth::testing::MockIdp;
//! use tower::ServiceExt;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let idp = MockIdp::start().await;
//! let access = CloudflareAccess::builder("acme", idp.cf_aud())
//!     .base_url(idp.url())
//!     .issuer(idp.issuer())
//!     .build()?;
//! let app = Router::new()
//!     .route("/me", get(|id: Identity| async move { id.email.unwrap_or_default() }))
//!     .layer(access.layer());
//!
//! let token = idp.cf_token().claim("email", "alice@example.test".into()).sign();
//! let ok = app.clone().oneshot(
//!     Request::get("/me").header("cf-access-jwt-assertion", &token).body(Body::empty())?,
//! ).await?;
//! assert_eq!(ok.status(), StatusCode::OK);
//!
//! let refused = app.oneshot(Request::get("/me").body(Body::empty())?).await?;
//! assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(refused.headers()["www-authenticate"], "Bearer");
//! # Ok(()) }
//! ```

mod access;
mod builder;
mod claims;
mod client;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod identity;
mod policy;
mod team;
#[cfg(test)]
mod tests;

pub use access::CloudflareAccess;
pub use builder::CloudflareAccessBuilder;
pub use claims::CloudflareClaims;
#[cfg(feature = "testing")] // the mock shares the definition
pub(crate) use claims::is_service_token;
pub use error::{IdentityError, IdentityErrorKind};
#[cfg(feature = "axum")]
pub use extract::IdentityRejection;
pub use identity::{
    DevicePostureCheck, DeviceSession, Extras, Geo, Identity, IdentityProvider, MtlsAuth,
};
pub use policy::AccessPolicy;

/// The body `detail` when a request carries no token (as the Starlette `CfaAuthMiddleware`).
pub const MISSING_TOKEN_DETAIL: &str = "Invalid CFA Token";
/// The body `detail` when a token fails verification (as the Starlette `CfaAuthMiddleware`).
pub const INVALID_TOKEN_DETAIL: &str = "CFA token verification failed";

/// Path of the signing keys on a team domain.
pub const CERTS_PATH: &str = "/cdn-cgi/access/certs";
/// Path of the identity endpoint on a team (or application) domain.
pub const IDENTITY_PATH: &str = "/cdn-cgi/access/get-identity";
