//! [`CloudflareAccessBuilder`]: the preset's own settings around a wrapped
//! [`JwksVerifierBuilder`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::algorithms::Algorithm;

use super::access::{CloudflareAccess, Inner};
use super::client::IdentityClient;
use super::policy::{AccessPolicy, Policies};
use super::team::{TEAM_DOMAIN_SUFFIX, parse_aud, parse_base_url, parse_team};
use super::{CERTS_PATH, IDENTITY_PATH};
use crate::builder::{JwksVerifierBuilder, check_url};
use crate::error::ConfigError;
use crate::jwks::http::{HttpFetcher, default_client};
use crate::verifier::JwksVerifier;

/// Largest identity document accepted.
const MAX_IDENTITY_BYTES: usize = 256 * 1024;

// The constructors live beside the builder they start, so that the handle's module never
// imports its builder (the arrows run builder -> access only).
impl CloudflareAccess {
    /// The application whose AUD tag is `aud`, in the team `team`: a team name (`acme`), a
    /// team domain (`acme.cloudflareaccess.com`) or its URL
    /// (`https://acme.cloudflareaccess.com`).
    ///
    /// # Errors
    /// A [`ConfigError`] when the team is not a valid team name or domain, or `aud` is not an
    /// AUD tag (64 hexadecimal characters).
    pub fn new(team: impl Into<String>, aud: impl Into<String>) -> Result<Self, ConfigError> {
        Self::builder(team, aud).build()
    }

    /// A builder, for options (policies, custom domain, HTTP settings).
    pub fn builder(team: impl Into<String>, aud: impl Into<String>) -> CloudflareAccessBuilder {
        CloudflareAccessBuilder::new(team.into(), aud.into())
    }
}

/// Builds a [`CloudflareAccess`]; `build()` checks everything and reports the first problem
/// as a [`ConfigError`] saying what to fix.
///
/// | setting | default |
/// |---|---|
/// | [`base_url`](Self::base_url) | `https://<team>.cloudflareaccess.com` |
/// | [`issuer`](Self::issuer) | `https://<team>.cloudflareaccess.com` (even with a `base_url`) |
/// | [`require_app_token`](Self::require_app_token) | off: `app` and `org` tokens pass |
/// | [`refuse_service_tokens`](Self::refuse_service_tokens) | off: service tokens pass |
/// | allow-lists ([`allow_emails`](Self::allow_emails), [`allow_email_domains`](Self::allow_email_domains), [`allow_service_tokens`](Self::allow_service_tokens)) | none: every verified token passes |
/// | [`identity_cache_ttl`](Self::identity_cache_ttl) | 5 min, never past the token's `exp` |
/// | [`identity_cache_capacity`](Self::identity_cache_capacity) | 10,000 |
/// | everything else: HTTP client, timeout (5 s), retries (2), clock, cache TTLs, leeway, ... | [`JwksVerifierBuilder`]'s defaults; change them with [`verifier`](Self::verifier) |
///
/// # One builder inside another
///
/// The preset wraps a [`JwksVerifierBuilder`] instead of repeating its setters: reach it with
/// [`verifier`](Self::verifier). Its HTTP client, timeout and retries serve both the key
/// fetches and the identity fetches (one connection pool), and its clock times both the
/// tokens and the identity cache. The preset's key URL, issuer, audience and algorithm
/// (RS256) are applied last, at `build()`, so they cannot be changed there (an extra
/// `.audience(..)` adds one).
///
/// ```
/// use std::time::Duration;
/// use jwks_auth::cloudflare::CloudflareAccess;
///
/// let access = CloudflareAccess::builder(
///     "acme",
///     "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
/// )
/// .refuse_service_tokens()
/// .verifier(|v| v.http_timeout(Duration::from_secs(2)).leeway(Duration::from_secs(10)))
/// .build()?;
/// # Ok::<(), jwks_auth::ConfigError>(())
/// ```
///
/// Policy refusals are 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
#[must_use]
pub struct CloudflareAccessBuilder {
    team: String,
    aud: String,
    base_url: Option<String>,
    issuer: Option<String>,
    /// The token policies: the same rules `AccessPolicy` gives one route.
    policy: AccessPolicy,
    identity_cache_ttl: Duration,
    identity_cache_capacity: u64,
    verifier: JwksVerifierBuilder,
}

impl CloudflareAccessBuilder {
    pub(crate) fn new(team: String, aud: String) -> Self {
        Self {
            team,
            aud,
            base_url: None,
            issuer: None,
            policy: AccessPolicy::new(),
            identity_cache_ttl: Duration::from_secs(5 * 60),
            identity_cache_capacity: 10_000,
            verifier: JwksVerifier::builder(),
        }
    }

    /// Fetch keys and identities from this base URL instead of the team domain: a custom team
    /// domain, or a mock in tests. `https` only, except for loopback hosts. The issuer stays
    /// `https://<team>.cloudflareaccess.com` unless [`issuer`](Self::issuer) says otherwise.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The exact `iss` required, instead of `https://<team>.cloudflareaccess.com` (for a
    /// mock, whose issuer is `http://127.0.0.1:PORT`).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accept only application tokens (`type` is `app`); the team-wide `org` token, or a token
    /// without `type`, is refused with 403.
    pub fn require_app_token(mut self) -> Self {
        self.policy = self.policy.require_app_token();
        self
    }

    /// Refuse service tokens
    /// ([`CloudflareClaims::is_service_token`](super::CloudflareClaims::is_service_token)) with
    /// 403: people only.
    pub fn refuse_service_tokens(mut self) -> Self {
        self.policy = self.policy.refuse_service_tokens();
        self
    }

    /// Allow these emails (compared ignoring ASCII case). Call again to add more.
    ///
    /// Allow-lists are closed: once any of `allow_emails`, [`allow_email_domains`](Self::allow_email_domains)
    /// or [`allow_service_tokens`](Self::allow_service_tokens) is set, a token passes only if
    /// one of them lists it, and others get 403 (so service tokens, which have no email, are
    /// refused unless listed by `allow_service_tokens`).
    pub fn allow_emails<I, S>(mut self, emails: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy = self.policy.allow_emails(emails);
        self
    }

    /// Allow every email whose domain (after the last `@`) is one of these, exactly: `example.com`
    /// allows `a@example.com` but neither `a@sub.example.com` nor `a@evilexample.com`. Case
    /// is ignored; a leading `@` is accepted. See [`allow_emails`](Self::allow_emails) for how
    /// allow-lists combine.
    pub fn allow_email_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy = self.policy.allow_email_domains(domains);
        self
    }

    /// Allow the service tokens with these Client IDs (`common_name`, e.g.
    /// `3c5d9e7f0a1b.access`). See [`allow_emails`](Self::allow_emails) for how allow-lists
    /// combine.
    pub fn allow_service_tokens<I, S>(mut self, client_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy = self.policy.allow_service_tokens(client_ids);
        self
    }

    /// Longest time an identity is cached (default 5 min); it is never cached past its token's
    /// `exp`. Zero turns the cache off.
    pub fn identity_cache_ttl(mut self, ttl: Duration) -> Self {
        self.identity_cache_ttl = ttl;
        self
    }

    /// Most identities cached (default 10,000).
    pub fn identity_cache_capacity(mut self, capacity: u64) -> Self {
        self.identity_cache_capacity = capacity;
        self
    }

    /// Configures the wrapped [`JwksVerifierBuilder`]: HTTP client, timeout and retries (for
    /// keys and identities alike), clock, cache TTLs, cooldown, leeway, token cache, extra
    /// claims checks. Call it as often as you like; each call sees the previous ones'
    /// settings. The preset's key URL, issuer, audience and algorithm are applied after it
    /// (see [the type's docs](Self#one-builder-inside-another)).
    pub fn verifier(
        mut self,
        configure: impl FnOnce(JwksVerifierBuilder) -> JwksVerifierBuilder,
    ) -> Self {
        self.verifier = configure(self.verifier);
        self
    }

    /// Checks the configuration and builds the application. No network access happens here.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting to fix.
    pub fn build(self) -> Result<CloudflareAccess, ConfigError> {
        let team = parse_team(&self.team)?;
        let aud = parse_aud(&self.aud)?;
        let team_url = format!("https://{team}{TEAM_DOMAIN_SUFFIX}");
        let base_url = match &self.base_url {
            Some(url) => parse_base_url(url)?,
            None => team_url.clone(),
        };
        let issuer = self.issuer.clone().unwrap_or(team_url);
        let policy = Policies::new(self.policy.options())?;
        let identity_url = check_url(&format!("{base_url}{IDENTITY_PATH}"), false, "base_url")?;

        // One HTTP client for keys and identities: build the default here if none was given,
        // and hand it back to the verifier builder.
        let (client, timeout, retries, clock) = self.verifier.fetch_settings();
        let client = match client {
            Some(client) => client.clone(),
            None => default_client()
                .map_err(|e| ConfigError::new(format!("cannot build the HTTP client: {e}")))?,
        };
        let http = HttpFetcher {
            client: client.clone(),
            timeout,
            max_body: MAX_IDENTITY_BYTES,
            retries,
        };
        let clock = clock.clone();

        let mut verifier = self
            .verifier
            .http_client(client)
            .jwks_url(format!("{base_url}{CERTS_PATH}"))
            .issuer(issuer.clone())
            .audience(aud.clone())
            .algorithms(Algorithm::RS256);
        for requirement in policy.requirements() {
            verifier = verifier.require(requirement);
        }
        let verifier = verifier.build()?;
        let identity = IdentityClient::new(
            identity_url,
            http,
            self.identity_cache_capacity,
            self.identity_cache_ttl,
            clock,
        );
        Ok(CloudflareAccess {
            inner: Arc::new(Inner {
                team,
                base_url,
                issuer,
                aud,
                verifier,
                identity,
            }),
        })
    }

    #[cfg(test)]
    pub(crate) fn policy_options(&self) -> &super::policy::PolicyOptions {
        self.policy.options()
    }
}

impl fmt::Debug for CloudflareAccessBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareAccessBuilder")
            .field("team", &self.team)
            .field("aud", &self.aud)
            .field("base_url", &self.base_url)
            .field("issuer", &self.issuer)
            .field("policy", &self.policy)
            .field("identity_cache_ttl", &self.identity_cache_ttl)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}
