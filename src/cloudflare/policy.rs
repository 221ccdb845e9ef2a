//! The preset's policies: token type, service tokens, and the closed allow-lists (emails,
//! email domains, service token Client IDs), checked and normalised at build time and run as
//! claims checks on every verified token.

use super::claims::CloudflareClaims;
use crate::error::ConfigError;
use crate::user::User;

/// The policy settings as given to the builder.
#[derive(Debug, Default)]
pub(crate) struct PolicyOptions {
    pub(crate) require_app_token: bool,
    pub(crate) refuse_service_tokens: bool,
    pub(crate) emails: Vec<String>,
    pub(crate) email_domains: Vec<String>,
    pub(crate) service_tokens: Vec<String>,
}

pub(crate) type Check = Box<dyn Fn(&User) -> Result<(), &'static str> + Send + Sync>;

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

    pub(crate) fn checks(self) -> Vec<Check> {
        let mut checks: Vec<Check> = Vec::new();
        if self.require_app_token {
            checks.push(Box::new(|user| {
                if user.token_type() == Some("app") {
                    Ok(())
                } else {
                    Err("not an Access application token")
                }
            }));
        }
        if self.refuse_service_tokens {
            checks.push(Box::new(|user| {
                if user.is_service_token() {
                    Err("service tokens are not accepted")
                } else {
                    Ok(())
                }
            }));
        }
        if let Some(allow) = self.allow {
            checks.push(Box::new(move |user| allow.check(user)));
        }
        checks
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
