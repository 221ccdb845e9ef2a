//! Presets for identity providers whose tokens the generic builder cannot take as they come:
//! the few values you know about your provider, and the checks its token shapes need.
//!
//! | preset | you give | keys | `iss` | client / audience | token kind |
//! |---|---|---|---|---|---|
//! | [`Cognito`] | region, user pool id, app client ids | `https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json` | exactly `https://cognito-idp.{region}.amazonaws.com/{pool}` | access tokens: `client_id` in the list (no `aud`); ID tokens: `aud` in the list | `token_use` is `access` (default) or `id` |
//! | [`EntraId`] | tenant id, API client id | `https://login.microsoftonline.com/{tid}/discovery/v2.0/keys` | `https://login.microsoftonline.com/{tid}/v2.0`, and `https://sts.windows.net/{tid}/` with [`accept_v1`](EntraIdBuilder::accept_v1) | `aud` = client id (or an extra audience such as the App ID URI) | |
//! | [`EntraId::multi_tenant`] | API client id | `https://login.microsoftonline.com/common/discovery/v2.0/keys` | the template `https://login.microsoftonline.com/{tenantid}/v2.0` filled with the token's own `tid` (a GUID); optional closed tenant allow-list | as above | |
//! | [`Google`] | OAuth client id(s) | `https://www.googleapis.com/oauth2/v3/certs` | `https://accounts.google.com` or `accounts.google.com` | `aud` = a client id | ID tokens; optional `hd` allow-list (403) |
//! | [`Keycloak`] | base URL, realm, client | `{base}/realms/{realm}/protocol/openid-connect/certs` | exactly `{base}/realms/{realm}` | `azp` = the client, and/or `aud` = your API | body `typ` is `Bearer` (access tokens) |
//!
//! Every preset reads `Authorization: Bearer` only, refuses a token of another client,
//! tenant, pool or kind with 401 `invalid_token` (typed: [`AuthReason`](crate::AuthReason)
//! `ClientMismatch`, `TenantNotAllowed`, `TokenUseMismatch`, `AuthorizedPartyMismatch`,
//! `IssuerMismatch`, `AudienceMismatch`), and wraps a
//! [`JwksVerifierBuilder`](crate::JwksVerifierBuilder) reached with its builder's
//! `verifier(|b| ..)` for HTTP, clock, cache and policy options (scopes, claims checks). The
//! preset's key URL, issuer rule and client checks are applied after that hook.
//!
//! Auth0 and Okta need no preset: the generic builder takes their tokens as they are (see the
//! README's provider table and `tests/providers.rs`).
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use jwks_auth::User;
//! use jwks_auth::providers::{Cognito, CognitoClaims};
//!
//! # fn app() -> Result<Router, jwks_auth::ConfigError> {
//! let cognito = Cognito::new("eu-west-1", "eu-west-1_AbCdEf123", ["5ka7mock0client0id00000000"])?;
//! let app = Router::new()
//!     .route("/", get(|user: User| async move { format!("groups {:?}", user.cognito_groups()) }))
//!     .layer(cognito.layer());
//! # Ok(app) }
//! ```
//!
//! # Testing
//!
//! With the `testing` feature, [`MockIdp`](crate::testing::MockIdp) serves each provider's
//! key set on its own path and mints tokens in its exact shape; point a preset at it with
//! its builder's `base_url` (the issuers stay the real ones, as the mock's tokens carry them).

mod cognito;
mod entra;
mod google;
mod keycloak;

pub use cognito::{Cognito, CognitoBuilder, CognitoClaims};
pub use entra::{EntraId, EntraIdBuilder};
pub use google::{Google, GoogleBuilder};
pub use keycloak::{Keycloak, KeycloakBuilder, KeycloakClaims};

use crate::error::ConfigError;
use crate::fetch::check_url;

/// A base URL: https (or loopback http), no query or fragment, no trailing slash.
fn parse_base_url(input: &str) -> Result<String, ConfigError> {
    let url = check_url(input.trim(), false, "base_url")?;
    if url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(ConfigError::new(format!(
            "base_url: `{input}` must be a plain base URL such as `https://auth.example.com`"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A non-empty list of non-empty, trimmed values; `what` says where to find them.
fn non_empty(values: &[String], setting: &str, what: &str) -> Result<Vec<String>, ConfigError> {
    let values: Vec<String> = values.iter().map(|v| v.trim().to_owned()).collect();
    if values.is_empty() || values.iter().any(String::is_empty) {
        return Err(ConfigError::new(format!(
            "{setting}: give at least one, none empty ({what})"
        )));
    }
    Ok(values)
}

/// The handle methods every preset shares: its layer, its verifier, direct verification.
macro_rules! preset_handle {
    ($preset:ident) => {
        impl $preset {
            /// The layer protecting routes: `Authorization: Bearer` tokens, the default
            /// responses. It is a plain [`JwksAuthLayer`](crate::JwksAuthLayer):
            /// `.optional()`, `.rejection(..)` still apply.
            pub fn layer(&self) -> crate::JwksAuthLayer {
                crate::JwksAuthLayer::new(self.verifier.clone())
                    .token_sources([crate::TokenSource::AuthorizationBearer])
            }

            /// The verifier (for `refresh()` at startup, `status()` in health checks, or a
            /// [`multi_issuer`](crate::JwksVerifier::multi_issuer) route).
            #[must_use]
            pub fn verifier(&self) -> &crate::JwksVerifier {
                &self.verifier
            }

            /// Verifies a token (without `Bearer `) for code not behind the layer.
            ///
            /// # Errors
            /// An [`AuthError`](crate::AuthError): invalid (401), refused by a policy (403),
            /// keys unavailable (503).
            pub async fn verify(&self, token: &str) -> Result<crate::User, crate::AuthError> {
                self.verifier.verify(token).await
            }

            /// The URL the signing keys are fetched from.
            #[must_use]
            pub fn jwks_url(&self) -> &str {
                &self.jwks_url
            }

            /// The accepted issuers (for a tenant template, the template with `{tenantid}`).
            #[must_use]
            pub fn issuers(&self) -> &[String] {
                &self.issuers
            }
        }
    };
}
use preset_handle;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(
            parse_base_url("https://sso.example.com/").unwrap(),
            "https://sso.example.com"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080/kc").unwrap(),
            "http://127.0.0.1:8080/kc"
        );
        assert!(parse_base_url("http://sso.example.com").is_err());
        assert!(parse_base_url("https://sso.example.com/?x=1").is_err());
        assert!(non_empty(&[], "client_ids", "x").is_err());
        assert!(non_empty(&[" ".into()], "client_ids", "x").is_err());
    }
}
