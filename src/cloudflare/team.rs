//! Team, AUD tag and base URL: parsed and normalised, with errors that say what to fix.

use crate::builder::check_url;
use crate::error::ConfigError;

/// Every team domain ends with this.
pub(crate) const TEAM_DOMAIN_SUFFIX: &str = ".cloudflareaccess.com";

/// A team name, from `acme`, `acme.cloudflareaccess.com` or `https://acme.cloudflareaccess.com`.
pub(crate) fn parse_team(input: &str) -> Result<String, ConfigError> {
    let lower = input.trim().to_ascii_lowercase();
    if lower.starts_with("http://") {
        return Err(ConfigError::new(format!(
            "team: `{input}` uses http; Cloudflare team domains are https \
             (give the team name, e.g. `acme`)"
        )));
    }
    let host = lower.strip_prefix("https://").unwrap_or(&lower);
    let host = host.strip_suffix('/').unwrap_or(host);
    let label = match host.strip_suffix(TEAM_DOMAIN_SUFFIX) {
        Some(label) => label,
        None if host.contains(['.', '/', ':', '@']) => {
            return Err(ConfigError::new(format!(
                "team: `{input}` is neither a team name (`acme`) nor a team domain \
                 (`acme.cloudflareaccess.com`); for a custom domain, give the team name here \
                 and the domain to .base_url(..)"
            )));
        }
        None => host,
    };
    let valid = (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if valid {
        Ok(label.to_owned())
    } else {
        Err(ConfigError::new(format!(
            "team: `{input}` is not a valid team name (1 to 63 letters, digits or inner \
             hyphens, as in `<team>.cloudflareaccess.com`; see Zero Trust > Settings > Custom \
             Pages)"
        )))
    }
}

/// The application's AUD tag: 64 hexadecimal characters, normalised to lowercase.
pub(crate) fn parse_aud(input: &str) -> Result<String, ConfigError> {
    let aud = input.trim().to_ascii_lowercase();
    if aud.len() == 64 && aud.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(aud)
    } else {
        Err(ConfigError::new(format!(
            "aud: `{input}` is not an Application Audience (AUD) tag; copy the 64 hexadecimal \
             characters from Access > Applications > your application > Overview"
        )))
    }
}

/// A base URL: https (or loopback http), no query or fragment, no trailing slash.
pub(crate) fn parse_base_url(input: &str) -> Result<String, ConfigError> {
    let url = check_url(input.trim(), false, "base_url")?;
    if url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(ConfigError::new(format!(
            "base_url: `{input}` must be a plain base URL such as `https://auth.example.com`"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
