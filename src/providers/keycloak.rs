//! [`Keycloak`]: a Keycloak realm's access tokens. The client is in `azp`; `aud` is `account`
//! unless an Audience mapper adds your API.

use std::fmt;

use super::{parse_base_url, preset_handle};
use crate::builder::JwksVerifierBuilder;
use crate::error::{AuthReason, ConfigError};
use crate::rules::ClaimRule;
use crate::user::User;
use crate::verifier::JwksVerifier;

/// A Keycloak realm's access tokens.
///
/// `iss` exactly `{base_url}/realms/{realm}` (the realm's frontend URL: the one in tokens,
/// which follows the hostname Keycloak is configured with); keys from
/// `{iss}/protocol/openid-connect/certs` (the realm's encryption key there is skipped); the
/// body `typ` must be `Bearer` (an ID token, `typ: ID`, is refused). The client check is `azp`
/// ([`authorized_party`](KeycloakBuilder::authorized_party), what [`new`](Self::new) sets),
/// `aud` ([`audience`](KeycloakBuilder::audience), once an Audience mapper adds your API), or
/// both. Refusals are 401 `invalid_token`. The realm's signature algorithm decides the
/// algorithm (RS256 by default; every asymmetric one is accepted, pinned per key).
///
/// For Keycloak before version 17, give the base URL with `/auth`.
///
/// ```
/// use jwks_auth::providers::Keycloak;
/// let kc = Keycloak::new("https://sso.example.com", "acme", "orders-web")?;
/// assert_eq!(kc.issuers(), ["https://sso.example.com/realms/acme"]);
/// # Ok::<(), jwks_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Keycloak {
    verifier: JwksVerifier,
    jwks_url: String,
    issuers: Vec<String>,
}

preset_handle!(Keycloak);

impl Keycloak {
    /// Access tokens of `realm` on the server at `base_url` (`https://sso.example.com`),
    /// requested by the client `client_id` (their `azp`).
    ///
    /// # Errors
    /// A [`ConfigError`] when the base URL or realm is malformed.
    pub fn new(
        base_url: impl Into<String>,
        realm: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        Self::builder(base_url, realm)
            .authorized_party(client_id)
            .build()
    }

    /// A builder: give the client check with
    /// [`authorized_party`](KeycloakBuilder::authorized_party) and/or
    /// [`audience`](KeycloakBuilder::audience).
    pub fn builder(base_url: impl Into<String>, realm: impl Into<String>) -> KeycloakBuilder {
        KeycloakBuilder {
            base_url: base_url.into(),
            realm: realm.into(),
            parties: Vec::new(),
            audiences: Vec::new(),
            verifier: JwksVerifier::builder(),
        }
    }
}

/// Builds a [`Keycloak`]; `build()` reports the first problem as a [`ConfigError`].
#[must_use]
pub struct KeycloakBuilder {
    base_url: String,
    realm: String,
    parties: Vec<String>,
    audiences: Vec<String>,
    verifier: JwksVerifierBuilder,
}

impl KeycloakBuilder {
    /// An accepted client: the token's `azp` must be one of them. Call again for more.
    pub fn authorized_party(mut self, client_id: impl Into<String>) -> Self {
        self.parties.push(client_id.into());
        self
    }

    /// An accepted `aud` (your API, once the realm has an Audience mapper adding it). Call
    /// again for more.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Configures the wrapped [`JwksVerifierBuilder`] (HTTP client, timeout, retries, clock,
    /// cache, leeway, scopes, claims checks). The preset's key URL, issuer and client checks
    /// are applied after it.
    pub fn verifier(
        mut self,
        configure: impl FnOnce(JwksVerifierBuilder) -> JwksVerifierBuilder,
    ) -> Self {
        self.verifier = configure(self.verifier);
        self
    }

    /// Checks the configuration and builds the preset. No network access happens here.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting to fix.
    pub fn build(self) -> Result<Keycloak, ConfigError> {
        let base = parse_base_url(&self.base_url)?;
        let realm = self.realm.trim();
        if realm.is_empty()
            || realm.contains(['/', '?', '#', '%'])
            || realm.chars().any(char::is_whitespace)
        {
            return Err(ConfigError::new(format!(
                "realm: `{}` is not a realm name (the name in /realms/<name>, e.g. `acme`)",
                self.realm
            )));
        }
        if base.ends_with("/realms") || base.contains("/realms/") {
            return Err(ConfigError::new(format!(
                "base_url: `{base}` already holds /realms/; give the server's base URL (e.g. \
                 `https://sso.example.com`) and the realm separately"
            )));
        }
        if self.parties.is_empty() && self.audiences.is_empty() {
            return Err(ConfigError::new(
                "no client check: call .authorized_party(\"your-client\") (the client in `azp`) \
                 or .audience(\"your-api\") (with an Audience mapper), or both",
            ));
        }
        let issuer = format!("{base}/realms/{realm}");
        let jwks_url = format!("{issuer}/protocol/openid-connect/certs");
        let verifier = self
            .parties
            .into_iter()
            .fold(self.verifier, JwksVerifierBuilder::authorized_party);
        let verifier = self
            .audiences
            .into_iter()
            .fold(verifier, JwksVerifierBuilder::audience)
            .jwks_url(jwks_url.clone())
            .issuer(issuer.clone())
            .claim_rule(ClaimRule::one_of(
                "typ",
                ["Bearer"],
                AuthReason::TokenUseMismatch,
            ));
        Ok(Keycloak {
            verifier: verifier.build()?,
            jwks_url,
            issuers: vec![issuer],
        })
    }
}

/// Keycloak's role claims on a verified [`User`].
pub trait KeycloakClaims {
    /// `realm_access.roles` (empty when absent).
    fn realm_roles(&self) -> Vec<&str>;
    /// `resource_access.{client}.roles` (empty when absent).
    fn client_roles(&self, client: &str) -> Vec<&str>;
}

fn strings(value: Option<&serde_json::Value>) -> Vec<&str> {
    value
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default()
}

impl KeycloakClaims for User {
    fn realm_roles(&self) -> Vec<&str> {
        strings(self.claim("realm_access").and_then(|r| r.get("roles")))
    }

    fn client_roles(&self, client: &str) -> Vec<&str> {
        strings(
            self.claim("resource_access")
                .and_then(|r| r.get(client))
                .and_then(|c| c.get("roles")),
        )
    }
}

impl fmt::Debug for Keycloak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keycloak")
            .field("jwks_url", &self.jwks_url)
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for KeycloakBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeycloakBuilder")
            .field("base_url", &self.base_url)
            .field("realm", &self.realm)
            .field("parties", &self.parties)
            .field("audiences", &self.audiences)
            .field("verifier", &self.verifier)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_say_what_to_fix() {
        let none = Keycloak::builder("https://sso.example.com", "acme")
            .build()
            .unwrap_err();
        assert!(none.to_string().contains(".authorized_party("), "{none}");
        let whole =
            Keycloak::new("https://sso.example.com/realms/acme", "acme", "web").unwrap_err();
        assert!(
            whole.to_string().contains("already holds /realms/"),
            "{whole}"
        );
        assert!(Keycloak::new("https://sso.example.com", "a/b", "web").is_err());
        assert!(Keycloak::new("http://sso.example.com", "acme", "web").is_err());
        let old = Keycloak::new("https://sso.example.com/auth/", "acme", "web").unwrap();
        assert_eq!(
            old.jwks_url(),
            "https://sso.example.com/auth/realms/acme/protocol/openid-connect/certs"
        );
    }
}
