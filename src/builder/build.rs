//! [`JwksVerifierBuilder::build`]: the configuration checked as a whole, then assembled into a
//! verifier (key source, key cache, policy, token cache).

use std::sync::Arc;
use std::time::Duration;

use crate::algorithms::Algorithm;

use super::{JwksVerifierBuilder, SourceConfig};
use crate::algorithms::Algorithms;
use crate::authz::Require;
use crate::error::ConfigError;
use crate::fetch::{HttpFetcher, check_url, default_client, no_redirect_client};
use crate::jwks::KeySet;
use crate::jwks::cache::{CacheConfig, KeyCache};
use crate::jwks::keyset::{KeyPolicy, VerifyKey};
use crate::jwks::source::{JwksUrl, KeySource, StaticJwks};
use crate::oidc::{OidcDiscovery, discovery_url};
use crate::policy::Policy;
use crate::rules::{ClaimRule, IssuerRule};
use crate::token_cache::TokenCache;
use crate::verifier::JwksVerifier;
use crate::verify::IssuerVerifier;

/// Shortest HMAC secret accepted (RFC 7518 section 3.2: at least the hash size).
const MIN_HMAC_SECRET: usize = 32;

impl JwksVerifierBuilder {
    /// Checks the configuration and builds the verifier. No network access happens here: the
    /// key set is fetched on first use (or call [`JwksVerifier::refresh`] to warm it).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting to fix.
    pub fn build(mut self) -> Result<JwksVerifier, ConfigError> {
        crate::crypto::install_provider();
        if !self.authorized_parties.is_empty() {
            let azp = std::mem::take(&mut self.authorized_parties);
            let rule = ClaimRule::one_of("azp", azp, crate::AuthReason::AuthorizedPartyMismatch);
            self.claim_rules.insert(0, rule.naming_client());
        }
        self.check()?;
        if self.any_issuer {
            tracing::warn!("jwks-auth: issuer check disabled (any_issuer)");
        }
        if self.any_audience {
            tracing::warn!("jwks-auth: audience check disabled (any_audience)");
        }
        if self.allow_missing_kid {
            tracing::warn!("jwks-auth: tokens without kid accepted (allow_missing_kid)");
        }
        if self.versioned_kids {
            tracing::info!(
                "jwks-auth: a bare kid `base` names the newest `base.N` (versioned_kids)"
            );
        }
        let introspection = self.introspection.take();
        let oidc_issuer = match &self.source {
            Some(SourceConfig::Oidc(issuer)) => Some(issuer.clone()),
            _ => None,
        };
        // Introspection alone: an empty key set, and every token goes to the endpoint.
        let introspection_only = introspection.is_some() && self.source.is_none();
        if introspection_only {
            // Never fetched from: every token is introspected.
            let empty = StaticJwks(r#"{"keys":[]}"#.into());
            self.source = Some(SourceConfig::Custom(Arc::new(empty)));
        }
        let source = self.take_key_source()?;
        let token_cache = (self.token_cache_capacity > 0)
            .then(|| TokenCache::new(self.token_cache_capacity, self.clock.clone(), self.leeway));
        let asymmetric = self.algorithms.intersect(Algorithms::ASYMMETRIC);
        let hmac_algorithms = match self.algorithms.intersect(Algorithms::HMAC) {
            none if none.is_empty() => Algorithm::HS256.into(),
            some => some,
        };
        let hmac_keys = self
            .hmac_secrets
            .into_iter()
            .map(|(kid, secret)| VerifyKey::hmac(kid, &secret, hmac_algorithms))
            .collect();
        let policy = Policy {
            issuer: self.issuer,
            audiences: self.audiences,
            claim_rules: self.claim_rules,
            leeway: self.leeway,
            required_claims: self.required_claims,
            max_token_len: self.max_token_bytes,
            allow_missing_kid: self.allow_missing_kid,
            access_token_profile: self.access_token_profile,
            requirement: (!self.requirements.is_empty())
                .then(|| Require::all_of(self.requirements)),
        };
        let keys = Arc::new(KeyCache::new(
            source,
            KeyPolicy {
                algorithms: asymmetric,
                versioned_kids: self.versioned_kids,
            },
            CacheConfig {
                max_wait: self.http_timeout,
                require_kid: !self.allow_missing_kid,
                ..self.cache
            },
            self.clock.clone(),
        ));
        let introspector = match introspection {
            Some(config) => Some(crate::introspection::assemble(
                config,
                (!introspection_only).then(|| Arc::clone(&keys)),
                oidc_issuer,
                policy.clone(),
                HttpFetcher {
                    client: match &self.http_client {
                        Some(client) => client.clone(),
                        None => default_client().map_err(|e| {
                            ConfigError::new(format!("cannot build the HTTP client: {e}"))
                        })?,
                    },
                    timeout: self.http_timeout,
                    max_body: crate::introspection::MAX_ANSWER_BYTES,
                    retries: self.http_retries,
                },
                // Your client as it is; ours follows no redirect with a token in the body.
                match &self.http_client {
                    Some(_) => None,
                    None => Some(no_redirect_client().map_err(|e| {
                        ConfigError::new(format!("cannot build the HTTP client: {e}"))
                    })?),
                },
                self.allow_http,
                self.clock.clone(),
            )?),
            None => None,
        };
        let issuer_verifier = IssuerVerifier {
            keys,
            hmac_keys,
            policy,
            clock: self.clock,
            token_cache,
        };
        Ok(JwksVerifier::from_issuer(issuer_verifier, introspector))
    }

    /// The configured key source, its URL checked and its HTTP client built.
    fn take_key_source(&mut self) -> Result<Arc<dyn KeySource>, ConfigError> {
        let http = || -> Result<HttpFetcher, ConfigError> {
            Ok(HttpFetcher {
                client: match &self.http_client {
                    Some(client) => client.clone(),
                    None => default_client().map_err(|e| {
                        ConfigError::new(format!("cannot build the HTTP client: {e}"))
                    })?,
                },
                timeout: self.http_timeout,
                max_body: self.max_jwks_bytes,
                retries: self.http_retries,
            })
        };
        Ok(match self.source.take() {
            Some(SourceConfig::Oidc(issuer)) => {
                let url = check_url(&discovery_url(&issuer), self.allow_http, "oidc_issuer")?;
                Arc::new(OidcDiscovery::new(
                    issuer,
                    url,
                    self.allow_http,
                    self.discovery_ttl,
                    http()?,
                    self.clock.clone(),
                ))
            }
            Some(SourceConfig::Url(url)) => {
                let url = check_url(&url, self.allow_http, "jwks_url")?;
                Arc::new(JwksUrl::new(url, http()?, self.clock.clone()))
            }
            Some(SourceConfig::Static(doc)) => {
                KeySet::from_jwks(&doc, self.algorithms)
                    .map_err(|e| ConfigError::new(format!("static_jwks: {e}")))?;
                Arc::new(StaticJwks(doc))
            }
            Some(SourceConfig::Custom(source)) => source,
            None => {
                return Err(ConfigError::new(
                    "no key source: call .jwks_url(..), .static_jwks(..) or .key_source(..) \
                     (or .introspection(..) for opaque tokens only)",
                ));
            }
        })
    }

    fn check(&self) -> Result<(), ConfigError> {
        match &self.issuer {
            None if !self.any_issuer => {
                return Err(ConfigError::new(
                    "no issuer: call .issuer(\"https://your-idp\") (or, knowingly, .any_issuer())",
                ));
            }
            Some(rule) => rule.validate()?,
            None => {}
        }
        if let (Some(rule @ IssuerRule::Exact(list)), Some(SourceConfig::Oidc(discovered))) =
            (&self.issuer, &self.source)
            && list.len() > 1
            && !rule.lists(discovered)
        {
            return Err(ConfigError::new(format!(
                "issuers: add the discovery issuer `{discovered}` to the list (discovery \
                 requires it, so its tokens would be refused otherwise)"
            )));
        }
        for rule in &self.claim_rules {
            rule.validate()?;
        }
        let names_client = self.claim_rules.iter().any(|r| r.names_client);
        if self.audiences.is_empty() && !names_client && !self.any_audience {
            return Err(ConfigError::new(
                "no audience: call .audience(\"your-api\") or .authorized_party(\"your-client\") \
                 (or, knowingly, .any_audience())",
            ));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new("an audience is empty"));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::new("algorithms: the set is empty"));
        }
        if !self.algorithms.intersect(Algorithms::HMAC).is_empty() && self.hmac_secrets.is_empty() {
            return Err(ConfigError::new(
                "algorithms: HS256/384/512 never verify against a key set (key confusion); \
                 they need a local secret given with .hmac_secret(..)",
            ));
        }
        if let Some((kid, _)) = self
            .hmac_secrets
            .iter()
            .find(|(_, secret)| secret.len() < MIN_HMAC_SECRET)
        {
            return Err(ConfigError::new(format!(
                "hmac_secret {kid:?}: a secret must be at least {MIN_HMAC_SECRET} bytes"
            )));
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(ConfigError::new("leeway: at most 5 minutes"));
        }
        if self.cache.ttl.is_zero() || self.cache.min_ttl > self.cache.max_ttl {
            return Err(ConfigError::new(
                "cache_ttl must be positive and ttl_bounds min <= max",
            ));
        }
        if self.http_timeout.is_zero() {
            return Err(ConfigError::new("http_timeout must be positive"));
        }
        if self.max_token_bytes < 64 || self.max_jwks_bytes < 64 {
            return Err(ConfigError::new(
                "max_token_bytes and max_jwks_bytes must be at least 64",
            ));
        }
        Ok(())
    }
}
