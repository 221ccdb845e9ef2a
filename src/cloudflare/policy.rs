//! The preset's policies: token type, service tokens, and the closed allow-lists (emails,
//! email domains, service token Client IDs), checked and normalised at build time and turned
//! into [`Require`]s: verifier-wide (the builder's settings) or per route ([`AccessPolicy`]).

use super::claims::CloudflareClaims;
use crate::authz::Require;
use crate::error::{AuthReason, ConfigError};
use crate::user::User;

/// Cloudflare Access policies as a [`Require`], for one route (or several) behind a single
/// [`CloudflareAccess`](super::CloudflareAccess) layer: the same settings, rules and refusals
/// as the builder's (which apply to every route).
///
/// Refusals are 403 `insufficient_scope` with the builder's descriptions (`email not allowed`,
/// `service token not allowed`, `not an Access application token`, `service tokens are not
/// accepted`).
///
/// ```
/// use axum::{Router, routing::get};
/// use jwks_auth::cloudflare::{AccessPolicy, CloudflareAccess};
///
/// # fn app(access: CloudflareAccess) -> Result<Router, jwks_auth::ConfigError> {
/// let staff = AccessPolicy::new()
///     .allow_email_domains(["example.com"])
///     .allow_service_tokens(["3c5d9e7f0a1b.access"])
///     .build()?;
/// let app = Router::new()
///     .route("/", get(|| async { "anyone Access let in" }))
///     .route("/staff", get(|| async { "staff" }).route_layer(staff))
///     .layer(access.layer());
/// # Ok(app) }
/// ```
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct AccessPolicy {
    options: PolicyOptions,
}

impl AccessPolicy {
    /// No rule yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The rules as set (the Cloudflare builder checks them into the preset's policies).
    pub(crate) fn options(&self) -> &PolicyOptions {
        &self.options
    }

    /// Only application tokens (`type` is `app`), as
    /// [`CloudflareAccessBuilder::require_app_token`](super::CloudflareAccessBuilder::require_app_token).
    pub fn require_app_token(mut self) -> Self {
        self.options.require_app_token = true;
        self
    }

    /// People only, as
    /// [`CloudflareAccessBuilder::refuse_service_tokens`](super::CloudflareAccessBuilder::refuse_service_tokens).
    pub fn refuse_service_tokens(mut self) -> Self {
        self.options.refuse_service_tokens = true;
        self
    }

    /// Allow these emails (ASCII case ignored). Allow-lists are closed and combine as
    /// [`CloudflareAccessBuilder::allow_emails`](super::CloudflareAccessBuilder::allow_emails)
    /// describes.
    pub fn allow_emails<I, S>(mut self, emails: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options
            .emails
            .extend(emails.into_iter().map(Into::into));
        self
    }

    /// Allow every email of these domains, exactly, as
    /// [`CloudflareAccessBuilder::allow_email_domains`](super::CloudflareAccessBuilder::allow_email_domains).
    pub fn allow_email_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options
            .email_domains
            .extend(domains.into_iter().map(Into::into));
        self
    }

    /// Allow the service tokens with these Client IDs (`common_name`), as
    /// [`CloudflareAccessBuilder::allow_service_tokens`](super::CloudflareAccessBuilder::allow_service_tokens).
    pub fn allow_service_tokens<I, S>(mut self, client_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options
            .service_tokens
            .extend(client_ids.into_iter().map(Into::into));
        self
    }

    /// Checks the rules and returns them as one requirement (all must hold).
    ///
    /// # Errors
    /// A [`ConfigError`] for an entry that is not an email, domain or Client ID, contradictory
    /// settings, or no rule at all (a route needing nothing more needs no requirement).
    pub fn build(&self) -> Result<Require, ConfigError> {
        let requirements = Policies::new(&self.options)?.requirements();
        if requirements.is_empty() {
            return Err(ConfigError::new(
                "AccessPolicy has no rule: set allow_emails, allow_email_domains,                  allow_service_tokens, require_app_token or refuse_service_tokens",
            ));
        }
        Ok(Require::all_of(requirements))
    }
}

/// The policy settings as given to the builder.
#[derive(Debug, Default, Clone)]
pub(crate) struct PolicyOptions {
    pub(crate) require_app_token: bool,
    pub(crate) refuse_service_tokens: bool,
    pub(crate) emails: Vec<String>,
    pub(crate) email_domains: Vec<String>,
    pub(crate) service_tokens: Vec<String>,
}

/// The configured policies, checked and normalised.
pub(crate) struct Policies {
    require_app_token: bool,
    refuse_service_tokens: bool,
    pub(crate) allow: Option<AllowList>,
}

pub(crate) struct AllowList {
    emails: Vec<String>,
    domains: Vec<String>,
    service_tokens: Vec<String>,
}

impl Policies {
    pub(crate) fn new(b: &PolicyOptions) -> Result<Self, ConfigError> {
        let emails = b
            .emails
            .iter()
            .map(|e| normalise_email(e))
            .collect::<Result<Vec<_>, _>>()?;
        let domains = b
            .email_domains
            .iter()
            .map(|d| normalise_domain(d))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(bad) = b.service_tokens.iter().find(|c| c.trim().is_empty()) {
            return Err(ConfigError::new(format!(
                "allow_service_tokens: `{bad}` is empty; give service token Client IDs \
                 (e.g. `3c5d9e7f0a1b.access`)"
            )));
        }
        if b.refuse_service_tokens && !b.service_tokens.is_empty() {
            return Err(ConfigError::new(
                "refuse_service_tokens and allow_service_tokens contradict each other; keep one",
            ));
        }
        let any = !emails.is_empty() || !domains.is_empty() || !b.service_tokens.is_empty();
        Ok(Self {
            require_app_token: b.require_app_token,
            refuse_service_tokens: b.refuse_service_tokens,
            allow: any.then(|| AllowList {
                emails,
                domains,
                service_tokens: b
                    .service_tokens
                    .iter()
                    .map(|c| c.trim().to_owned())
                    .collect(),
            }),
        })
    }

    /// The policies as requirements, in the order they are checked.
    pub(crate) fn requirements(self) -> Vec<Require> {
        let mut requirements = Vec::new();
        if self.require_app_token {
            requirements.push(Require::from_check("cloudflare_app_token", |user| {
                if user.token_type() == Some("app") {
                    Ok(())
                } else {
                    Err(AuthReason::Policy("not an Access application token"))
                }
            }));
        }
        if self.refuse_service_tokens {
            requirements.push(Require::from_check("cloudflare_people_only", |user| {
                if user.is_service_token() {
                    Err(AuthReason::Policy("service tokens are not accepted"))
                } else {
                    Ok(())
                }
            }));
        }
        if let Some(allow) = self.allow {
            requirements.push(Require::from_check("cloudflare_allow_list", move |user| {
                allow.check(user).map_err(AuthReason::Policy)
            }));
        }
        requirements
    }
}

impl AllowList {
    pub(crate) fn check(&self, user: &User) -> Result<(), &'static str> {
        if user.is_service_token() {
            let listed = user
                .common_name()
                .is_some_and(|cn| self.service_tokens.iter().any(|c| c == cn));
            return if listed {
                Ok(())
            } else {
                Err("service token not allowed")
            };
        }
        let Some(email) = user.email().map(str::to_ascii_lowercase) else {
            return Err("email not allowed");
        };
        let domain = email.rsplit_once('@').map(|(_, d)| d);
        let listed = self.emails.contains(&email)
            || domain.is_some_and(|d| self.domains.iter().any(|allowed| allowed == d));
        if listed {
            Ok(())
        } else {
            Err("email not allowed")
        }
    }
}

fn normalise_email(email: &str) -> Result<String, ConfigError> {
    let email = email.trim().to_ascii_lowercase();
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(ConfigError::new(format!(
            "allow_emails: `{email}` is not an email address (expected `name@domain`)"
        ))),
    }
}

fn normalise_domain(domain: &str) -> Result<String, ConfigError> {
    let trimmed = domain.trim();
    let bare = trimmed
        .strip_prefix('@')
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    let valid = !bare.is_empty()
        && !bare.starts_with('.')
        && !bare.ends_with('.')
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        Ok(bare)
    } else {
        Err(ConfigError::new(format!(
            "allow_email_domains: `{domain}` is not a domain (expected e.g. `example.com`)"
        )))
    }
}
