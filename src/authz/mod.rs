//! Authorization per route, on the [`User`](crate::User) the authentication layer verified:
//! scopes, roles from where each provider puts them, claim values, and combinations.
//!
//! One [`JwksAuthLayer`](crate::JwksAuthLayer) authenticates (one key cache, one set of
//! fetches); each route adds its [`Require`] with `route_layer`. A requirement only reads the
//! request's `User`: nothing is parsed, verified or fetched again.
//!
//! ```
//! use axum::{Router, body::Body, routing::{get, post}};
//! use http::{Request, StatusCode};
//! use jwks_auth::{JwksAuthLayer, JwksVerifier, Require, testing::MockIdp};
//! use jwks_auth::authz::keycloak_realm;
//! use tower::ServiceExt;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let idp = MockIdp::start().await;
//! let verifier = JwksVerifier::builder()
//!     .jwks_url(idp.jwks_url())
//!     .issuer(idp.issuer())
//!     .audience(idp.audience())
//!     .build()?;
//! let app = Router::new()
//!     .route("/orders", post(|| async { "created" }).route_layer(Require::scope("orders:write")))
//!     .route("/admin", get(|| async { "admin" }).route_layer(Require::role(keycloak_realm(), "admin")))
//!     .layer(JwksAuthLayer::new(verifier));
//!
//! let reader = idp.token().claim("scope", "orders:read".into()).sign();
//! let refused = app.oneshot(
//!     Request::post("/orders").header("authorization", format!("Bearer {reader}")).body(Body::empty())?,
//! ).await?;
//! assert_eq!(refused.status(), StatusCode::FORBIDDEN);
//! assert_eq!(
//!     refused.headers()["www-authenticate"],
//!     r#"Bearer scope="orders:write", error="insufficient_scope", error_description="insufficient scope""#,
//! );
//! # Ok(()) }
//! ```
//!
//! - [`Require`]: the requirement, and the tower layer ([`Authorize`] is its service).
//! - [`Authorized<R>`](Authorized): the same as an axum extractor, `R` naming the requirement
//!   ([`requirement!`](crate::requirement)).
//! - [`JwksVerifierBuilder::require`](crate::JwksVerifierBuilder::require): the same,
//!   verifier-wide.
//! - [`RoleSource`] and its presets below; [`User::scopes`](crate::User::scopes) and
//!   [`User::roles`](crate::User::roles) read them directly.
//! - Cloudflare Access allow-lists as requirements:
//!   [`cloudflare::AccessPolicy`](crate::cloudflare::AccessPolicy).
//!
//! # Order of layers
//!
//! axum runs `.layer` outside `.route_layer`: authentication first, then the requirement. A
//! requirement with no authentication in front answers 500 with a body that says so, never
//! 200.

#[cfg(feature = "axum")]
mod extract;
mod require;
mod roles;
mod service;

#[cfg(feature = "axum")]
pub use extract::{Authorized, Requirement};
pub use require::Require;
pub(crate) use roles::ClaimPath;
pub use roles::{RoleSource, Roles, Scopes};
pub use service::{Authorize, ResponseFuture};

/// Keycloak realm roles: `realm_access.roles`.
#[must_use]
pub fn keycloak_realm() -> RoleSource {
    RoleSource::path(ClaimPath::segments(&["realm_access", "roles"]))
}

/// Keycloak client roles of `client`: `resource_access.<client>.roles`. Kept apart from realm
/// roles: a client role named `admin` does not satisfy a realm `admin` requirement.
#[must_use]
pub fn keycloak_client(client: &str) -> RoleSource {
    RoleSource::path(ClaimPath::segments(&["resource_access", client, "roles"]))
}

/// Microsoft Entra ID app roles: `roles` (assigned to users, or granted to an application in
/// app-only tokens).
#[must_use]
pub fn entra_roles() -> RoleSource {
    RoleSource::claim("roles")
}

/// Microsoft Entra ID groups: `groups` (object ids).
///
/// Past 200 groups Entra leaves the list out and marks the token with
/// `_claim_names.groups` / `_claim_sources` (or `hasgroups: true` in the implicit flow). Such
/// a token is refused with [`AuthReason::GroupsOverage`](crate::AuthReason::GroupsOverage),
/// never read as "not a member": the membership has to come from Microsoft Graph (or
/// configure app roles instead, which are never cut).
#[must_use]
pub fn entra_groups() -> RoleSource {
    RoleSource::entra_groups()
}

/// AWS Cognito groups: `cognito:groups`.
#[must_use]
pub fn cognito_groups() -> RoleSource {
    RoleSource::claim("cognito:groups")
}

/// Auth0 RBAC permissions: `permissions` (with "Add Permissions in the Access Token"). For a
/// namespaced role claim use [`RoleSource::claim`]`("https://example.com/roles")`.
#[must_use]
pub fn auth0_permissions() -> RoleSource {
    RoleSource::claim("permissions")
}

/// Okta groups: the custom `groups` claim most authorization servers define (for another
/// name, use [`RoleSource::claim`]).
#[must_use]
pub fn okta_groups() -> RoleSource {
    RoleSource::claim("groups")
}
