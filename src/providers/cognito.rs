//! [`Cognito`]: AWS Cognito user pools. Access tokens carry no `aud`: the app client is in
//! `client_id`, and only `token_use` tells an access token from an ID token.

use std::fmt;

use crate::Algorithm;

use super::{non_empty, parse_base_url, preset_handle};
use crate::builder::JwksVerifierBuilder;
use crate::error::{AuthReason, ConfigError};
use crate::rules::ClaimRule;
use crate::user::User;
use crate::verifier::JwksVerifier;

/// An AWS Cognito user pool's tokens, for your app clients.
///
/// Access tokens by default: `token_use` must be `access` and `client_id` one of your app
/// clients (Cognito puts no `aud` in access tokens). With
/// [`id_tokens`](CognitoBuilder::id_tokens), ID tokens instead: `token_use` `id` and `aud` one
/// of your app clients. Either way `iss` must be exactly
/// `https://cognito-idp.{region}.amazonaws.com/{userPoolId}`, the keys come from
/// `{iss}/.well-known/jwks.json`, RS256 only. A token of another app client, another pool or
/// the other kind is refused with 401 `invalid_token`.
///
/// ```
/// use jwks_auth::providers::Cognito;
/// let cognito = Cognito::new("eu-west-1", "eu-west-1_AbCdEf123", ["5ka7mock0client0id00000000"])?;
/// assert_eq!(cognito.issuers(), ["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"]);
/// # Ok::<(), jwks_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Cognito {
    verifier: JwksVerifier,
    jwks_url: String,
    issuers: Vec<String>,
}

preset_handle!(Cognito);

impl Cognito {
    /// Access tokens of the user pool `user_pool_id` (e.g. `eu-west-1_AbCdEf123`) in `region`
    /// (e.g. `eu-west-1`), issued to one of `client_ids` (App integration > App clients).
    ///
    /// # Errors
    /// A [`ConfigError`] when the region, pool id or client ids are malformed, or the pool id
    /// does not start with the region.
    pub fn new<I, S>(
        region: impl Into<String>,
        user_pool_id: impl Into<String>,
        client_ids: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::builder(region, user_pool_id, client_ids).build()
    }

    /// A builder, for options (ID tokens, HTTP settings).
    pub fn builder<I, S>(
        region: impl Into<String>,
        user_pool_id: impl Into<String>,
        client_ids: I,
    ) -> CognitoBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CognitoBuilder {
            region: region.into(),
            pool: user_pool_id.into(),
            clients: client_ids.into_iter().map(Into::into).collect(),
            id_tokens: false,
            base_url: None,
            verifier: JwksVerifier::builder(),
        }
    }
}

/// Builds a [`Cognito`]; `build()` reports the first problem as a [`ConfigError`].
#[must_use]
pub struct CognitoBuilder {
    region: String,
    pool: String,
    clients: Vec<String>,
    id_tokens: bool,
    base_url: Option<String>,
    verifier: JwksVerifierBuilder,
}

impl CognitoBuilder {
    /// Accept ID tokens (`token_use: id`, `aud` one of the app clients) instead of access
    /// tokens. One verifier accepts one kind: an ID token sent where access tokens are expected
    /// (or the reverse) is refused.
    pub fn id_tokens(mut self) -> Self {
        self.id_tokens = true;
        self
    }

    /// Fetch keys from this base URL instead of `https://cognito-idp.{region}.amazonaws.com`
    /// (a mock in tests: [`MockIdp::cognito_url`](crate::testing::MockIdp::cognito_url)). The
    /// issuer does not change.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Configures the wrapped [`JwksVerifierBuilder`] (HTTP client, timeout, retries, clock,
    /// cache, leeway, scopes, claims checks). The preset's key URL, issuer, algorithm and
    /// client checks are applied after it.
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
    pub fn build(self) -> Result<Cognito, ConfigError> {
        let region = parse_region(&self.region)?;
        let pool = parse_pool(&self.pool, &region)?;
        let clients = non_empty(
            &self.clients,
            "client_ids",
            "the app client ids, from App integration > App clients",
        )?;
        if let Some(bad) = clients
            .iter()
            .find(|c| !c.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ConfigError::new(format!(
                "client_ids: `{bad}` is not a Cognito app client id (letters and digits, \
                 e.g. `5ka7mock0client0id00000000`)"
            )));
        }
        let host = format!("https://cognito-idp.{region}.amazonaws.com");
        let issuer = format!("{host}/{pool}");
        let base = match &self.base_url {
            Some(url) => parse_base_url(url)?,
            None => host,
        };
        let jwks_url = format!("{base}/{pool}/.well-known/jwks.json");
        let mut verifier = self
            .verifier
            .jwks_url(jwks_url.clone())
            .issuer(issuer.clone())
            .algorithms(Algorithm::RS256);
        verifier = if self.id_tokens {
            let verifier = clients.iter().fold(verifier, |b, c| b.audience(c.clone()));
            verifier.claim_rule(token_use("id"))
        } else {
            verifier.claim_rule(token_use("access")).claim_rule(
                ClaimRule::one_of("client_id", clients, AuthReason::ClientMismatch).naming_client(),
            )
        };
        Ok(Cognito {
            verifier: verifier.build()?,
            jwks_url,
            issuers: vec![issuer],
        })
    }
}

fn token_use(kind: &str) -> ClaimRule {
    ClaimRule::one_of("token_use", [kind], AuthReason::TokenUseMismatch)
}

/// `eu-west-1`, `us-gov-west-1`: lowercase letters and digits in hyphenated parts.
fn parse_region(input: &str) -> Result<String, ConfigError> {
    let region = input.trim();
    let parts: Vec<&str> = region.split('-').collect();
    let valid = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if valid {
        Ok(region.to_owned())
    } else {
        Err(ConfigError::new(format!(
            "region: `{input}` is not an AWS region such as `eu-west-1` (the pool id starts \
             with it)"
        )))
    }
}

/// `{region}_{id}`: the pool id starts with its region.
fn parse_pool(input: &str, region: &str) -> Result<String, ConfigError> {
    let pool = input.trim();
    match pool.split_once('_') {
        Some((prefix, id))
            if prefix == region
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(pool.to_owned())
        }
        Some((prefix, _)) if prefix != region => Err(ConfigError::new(format!(
            "user_pool_id: `{input}` belongs to region `{prefix}`, not `{region}` (a pool id \
             starts with its region: give that region)"
        ))),
        _ => Err(ConfigError::new(format!(
            "user_pool_id: `{input}` is not a user pool id such as `{region}_AbCdEf123` (User \
             pools > your pool > Pool ID)"
        ))),
    }
}

/// Cognito's claims on a verified [`User`].
pub trait CognitoClaims {
    /// `cognito:groups`: the user's groups (empty when absent).
    fn cognito_groups(&self) -> Vec<&str>;
    /// `token_use`: `access` or `id`.
    fn token_use(&self) -> Option<&str>;
    /// The user name: `username` in access tokens, `cognito:username` in ID tokens.
    fn cognito_username(&self) -> Option<&str>;
}

impl CognitoClaims for User {
    fn cognito_groups(&self) -> Vec<&str> {
        self.claim("cognito:groups")
            .and_then(|v| v.as_array())
            .map(|list| list.iter().filter_map(|g| g.as_str()).collect())
            .unwrap_or_default()
    }

    fn token_use(&self) -> Option<&str> {
        self.str_claim("token_use")
    }

    fn cognito_username(&self) -> Option<&str> {
        self.str_claim("username")
            .or_else(|| self.str_claim("cognito:username"))
    }
}

impl fmt::Debug for Cognito {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cognito")
            .field("jwks_url", &self.jwks_url)
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CognitoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CognitoBuilder")
            .field("region", &self.region)
            .field("pool", &self.pool)
            .field("clients", &self.clients)
            .field("id_tokens", &self.id_tokens)
            .field("base_url", &self.base_url)
            .field("verifier", &self.verifier)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_pool_are_checked_together() {
        assert!(parse_region("eu-west-1").is_ok());
        assert!(parse_region("us-gov-west-1").is_ok());
        for bad in ["", "eu", "EU-WEST-1", "eu-west-", "cognito-idp.eu-west-1"] {
            assert!(parse_region(bad).is_err(), "{bad}");
        }
        assert!(parse_pool("eu-west-1_AbC123", "eu-west-1").is_ok());
        let other = parse_pool("us-east-1_AbC123", "eu-west-1").unwrap_err();
        assert!(
            other.to_string().contains("belongs to region `us-east-1`"),
            "{other}"
        );
        for bad in ["AbC123", "eu-west-1_", "eu-west-1_a/b"] {
            assert!(parse_pool(bad, "eu-west-1").is_err(), "{bad}");
        }
    }

    #[test]
    fn configuration_errors_say_what_to_fix() {
        let none: [&str; 0] = [];
        let err = Cognito::new("eu-west-1", "eu-west-1_AbC", none).unwrap_err();
        assert!(err.to_string().contains("App clients"), "{err}");
        let err = Cognito::new("eu-west-1", "eu-west-1_AbC", ["a b"]).unwrap_err();
        assert!(
            err.to_string().contains("not a Cognito app client id"),
            "{err}"
        );
        let built = Cognito::new("eu-west-1", "eu-west-1_AbC", ["client1"]).unwrap();
        assert_eq!(
            built.jwks_url(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
        );
    }
}
