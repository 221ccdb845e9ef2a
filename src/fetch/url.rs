//! Which URLs the crate will fetch keys and documents from.

use crate::error::ConfigError;

/// `url` as it may be shown in errors, logs, status JSON and metrics labels: without user
/// name, password, query or fragment, any of which may carry a credential.
pub(crate) fn redacted(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.into()
}

/// Parses a URL and refuses plain http except for loopback hosts (or when allowed).
/// `setting` names the builder setting (or document member) the URL came from, for the error.
pub(crate) fn check_url(
    url: &str,
    allow_http: bool,
    setting: &str,
) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::new(format!("{setting}: `{url}` is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_http || is_loopback(&parsed) => Ok(parsed),
        "http" => Err(ConfigError::new(format!(
            "{setting}: `{}` is plain http; use https (http is only accepted for loopback \
             hosts, or with .allow_http(true))",
            redacted(&parsed)
        ))),
        other => Err(ConfigError::new(format!(
            "{setting}: scheme `{other}` is not supported; use https"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_always_http_only_for_loopback_or_when_allowed() {
        assert!(check_url("https://idp.example/k", false, "s").is_ok());
        for local in [
            "http://127.0.0.1:1/k",
            "http://[::1]/k",
            "http://localhost/k",
        ] {
            assert!(check_url(local, false, "s").is_ok(), "{local}");
        }
        let err = check_url("http://idp.example/k", false, "jwks_url").expect_err("plain http");
        assert!(
            err.to_string()
                .contains("jwks_url: `http://idp.example/k` is plain http"),
            "{err}"
        );
        // Shown redacted, as every URL the crate shows: no credential reaches the error.
        let err = check_url(
            "http://id:hunter2@idp.example/k?key=s3cret",
            false,
            "endpoint",
        )
        .expect_err("plain http");
        let text = err.to_string();
        assert!(
            text.contains("endpoint: `http://idp.example/k` is plain http"),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret") && !text.contains("id:"),
            "{text}"
        );
        assert!(check_url("http://idp.example/k", true, "s").is_ok());
        assert!(check_url("ftp://idp.example/k", true, "s").is_err());
        assert!(check_url("not a url", true, "s").is_err());
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn shown_urls_carry_no_credentials() {
        let url =
            reqwest::Url::parse("https://user:pw@idp.example/jwks.json?token=s#f").expect("url");
        assert_eq!(redacted(&url), "https://idp.example/jwks.json");
    }
}
