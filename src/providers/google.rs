//! [`Google`]: Google ID tokens ("Sign in with Google") for your OAuth clients.

use std::fmt;

use crate::Algorithm;

use super::{non_empty, parse_base_url, preset_handle};
use crate::builder::JwksVerifierBuilder;
use crate::error::{AuthReason, ConfigError};
use crate::rules::ClaimRule;
use crate::verifier::JwksVerifier;

const KEYS_HOST: &str = "https://www.googleapis.com";
const KEYS_PATH: &str = "/oauth2/v3/certs";
/// Google writes its issuer both ways; both are Google.
const ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// Google ID tokens for your OAuth client(s).
///
/// Keys from `https://www.googleapis.com/oauth2/v3/certs` (RS256); `iss` exactly
/// `https://accounts.google.com` or `accounts.google.com` (Google uses both); `aud` one of
/// your client ids (401 `invalid_token` otherwise). With
/// [`hosted_domains`](GoogleBuilder::hosted_domains), the user must belong to one of these
/// Google Workspace domains (`hd`), else 403 `insufficient_scope`: check `hd`, never the email
/// suffix. Google access tokens are opaque: verify ID tokens only.
///
/// ```
/// use jwks_auth::providers::Google;
/// let google = Google::builder("1234567890-abc.apps.googleusercontent.com")
///     .hosted_domains(["example.com"])
///     .build()?;
/// assert_eq!(google.issuers(), ["https://accounts.google.com", "accounts.google.com"]);
/// # Ok::<(), jwks_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Google {
    verifier: JwksVerifier,
    jwks_url: String,
    issuers: Vec<String>,
}

preset_handle!(Google);

impl Google {
    /// ID tokens issued to the OAuth client `client_id` (Google Cloud console > APIs & Services >
    /// Credentials).
    ///
    /// # Errors
    /// A [`ConfigError`] when the client id is empty.
    pub fn new(client_id: impl Into<String>) -> Result<Self, ConfigError> {
        Self::builder(client_id).build()
    }

    /// A builder, for options (more clients, hosted domains, HTTP settings).
    pub fn builder(client_id: impl Into<String>) -> GoogleBuilder {
        GoogleBuilder {
            clients: vec![client_id.into()],
            hosted_domains: None,
            base_url: None,
            verifier: JwksVerifier::builder(),
        }
    }
}

/// Builds a [`Google`]; `build()` reports the first problem as a [`ConfigError`].
#[must_use]
pub struct GoogleBuilder {
    clients: Vec<String>,
    hosted_domains: Option<Vec<String>>,
    base_url: Option<String>,
    verifier: JwksVerifierBuilder,
}

impl GoogleBuilder {
    /// Another accepted client id (a web and an Android client of one app, say).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.clients.push(client_id.into());
        self
    }

    /// Accept only users of these Google Workspace domains (the token's `hd`, compared
    /// exactly after lowercasing the configured values); a token without `hd` (a consumer
    /// account) or of another domain gets 403. Call again to add more.
    pub fn hosted_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hosted_domains
            .get_or_insert_with(Vec::new)
            .extend(domains.into_iter().map(Into::into));
        self
    }

    /// Fetch keys from this base URL instead of `https://www.googleapis.com` (a mock in tests:
    /// [`MockIdp::google_url`](crate::testing::MockIdp::google_url)). The issuers do not change.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Configures the wrapped [`JwksVerifierBuilder`] (HTTP client, timeout, retries, clock,
    /// cache, leeway, claims checks). The preset's key URL, issuers, audiences, algorithm and
    /// `hd` check are applied after it.
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
    pub fn build(self) -> Result<Google, ConfigError> {
        let clients = non_empty(
            &self.clients,
            "client_id",
            "the OAuth client id, from APIs & Services > Credentials",
        )?;
        let base = match &self.base_url {
            Some(url) => parse_base_url(url)?,
            None => KEYS_HOST.to_owned(),
        };
        let jwks_url = format!("{base}{KEYS_PATH}");
        let mut verifier = clients
            .into_iter()
            .fold(self.verifier, JwksVerifierBuilder::audience)
            .jwks_url(jwks_url.clone())
            .issuers(ISSUERS)
            .algorithms(Algorithm::RS256);
        if let Some(domains) = &self.hosted_domains {
            let domains = non_empty(domains, "hosted_domains", "e.g. `example.com`")?;
            if let Some(bad) = domains.iter().find(|d| d.contains(['@', '/', ' '])) {
                return Err(ConfigError::new(format!(
                    "hosted_domains: `{bad}` is not a domain name such as `example.com`"
                )));
            }
            let domains = domains.iter().map(|d| d.to_ascii_lowercase());
            verifier = verifier.claim_rule(ClaimRule::one_of(
                "hd",
                domains,
                AuthReason::HostedDomainNotAllowed,
            ));
        }
        Ok(Google {
            verifier: verifier.build()?,
            jwks_url,
            issuers: ISSUERS.map(str::to_owned).to_vec(),
        })
    }
}

impl fmt::Debug for Google {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Google")
            .field("jwks_url", &self.jwks_url)
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for GoogleBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleBuilder")
            .field("clients", &self.clients)
            .field("hosted_domains", &self.hosted_domains)
            .field("base_url", &self.base_url)
            .field("verifier", &self.verifier)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_say_what_to_fix() {
        assert!(
            Google::new("")
                .unwrap_err()
                .to_string()
                .contains("Credentials")
        );
        let none: [&str; 0] = [];
        assert!(Google::builder("c").hosted_domains(none).build().is_err());
        let email = Google::builder("c")
            .hosted_domains(["@example.com"])
            .build()
            .unwrap_err();
        assert!(email.to_string().contains("not a domain name"), "{email}");
        let ok = Google::new("c").unwrap();
        assert_eq!(ok.jwks_url(), "https://www.googleapis.com/oauth2/v3/certs");
    }
}
