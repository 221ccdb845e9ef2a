//! The builder's checks: team, AUD tag, base URL, policies; the allow-lists; Bearer stripping.

use std::time::Duration;

use serde_json::json;

use super::access::strip_bearer;
use super::policy::{AllowList, Policies};
use super::*;
use crate::error::ConfigError;
use crate::user::User;

const AUD: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn message(result: Result<CloudflareAccess, ConfigError>) -> String {
    result.expect_err("should be refused").to_string()
}

#[test]
fn team_name_domain_and_url_give_the_same_preset() {
    for team in [
        "acme",
        "ACME",
        "acme.cloudflareaccess.com",
        "https://acme.cloudflareaccess.com",
        "https://acme.cloudflareaccess.com/",
        " acme\n",
    ] {
        let access = CloudflareAccess::new(team, AUD).expect(team);
        assert_eq!(access.team(), "acme");
        assert_eq!(access.issuer(), "https://acme.cloudflareaccess.com");
        assert_eq!(
            access.certs_url(),
            "https://acme.cloudflareaccess.com/cdn-cgi/access/certs"
        );
        assert_eq!(
            access.identity_url(),
            "https://acme.cloudflareaccess.com/cdn-cgi/access/get-identity"
        );
        assert_eq!(access.aud(), AUD);
    }
}

#[test]
fn bad_team_names_say_what_to_fix() {
    for team in ["", "-acme", "acme-", "ac_me", "acmé", &"a".repeat(64)] {
        assert!(
            message(CloudflareAccess::new(team, AUD)).contains("not a valid team name"),
            "{team:?}"
        );
    }
    for team in ["login.example.com", "https://acme.example.com", "acme/x"] {
        assert!(
            message(CloudflareAccess::new(team, AUD)).contains(".base_url(..)"),
            "{team}"
        );
    }
    assert!(
        message(CloudflareAccess::new(
            "http://acme.cloudflareaccess.com",
            AUD
        ))
        .contains("https")
    );
    assert!(CloudflareAccess::new("a", AUD).is_ok());
    assert!(CloudflareAccess::new("a1-b2", AUD).is_ok());
}

#[test]
fn aud_must_be_an_aud_tag_and_is_normalised() {
    for aud in [
        "",
        "test-api",
        &AUD[1..],
        &format!("{AUD}0"),
        &AUD.replace('f', "g"),
    ] {
        assert!(
            message(CloudflareAccess::new("acme", aud)).contains("AUD"),
            "{aud}"
        );
    }
    // Arguments swapped: the message points at the AUD tag.
    assert!(message(CloudflareAccess::new(AUD, "acme")).contains("team"));
    let access = CloudflareAccess::new("acme", AUD.to_ascii_uppercase()).expect("upper case");
    assert_eq!(access.aud(), AUD);
}

#[test]
fn base_url_keeps_the_team_issuer_unless_overridden() {
    let access = CloudflareAccess::builder("acme", AUD)
        .base_url("https://login.example.com/")
        .build()
        .expect("custom domain");
    assert_eq!(access.issuer(), "https://acme.cloudflareaccess.com");
    assert_eq!(
        access.certs_url(),
        "https://login.example.com/cdn-cgi/access/certs"
    );
    let access = CloudflareAccess::builder("acme", AUD)
        .base_url("http://127.0.0.1:8080")
        .issuer("http://127.0.0.1:8080")
        .build()
        .expect("mock");
    assert_eq!(access.issuer(), "http://127.0.0.1:8080");
    let plain = CloudflareAccess::builder("acme", AUD)
        .base_url("http://login.example.com")
        .build();
    assert!(message(plain).contains("plain http"));
    let query = CloudflareAccess::builder("acme", AUD)
        .base_url("https://x.example.com/?a=1")
        .build();
    assert!(message(query).contains("plain base URL"));
}

#[test]
fn policy_configuration_is_checked() {
    let b = || CloudflareAccess::builder("acme", AUD);
    assert!(message(b().allow_emails(["alice"]).build()).contains("allow_emails"));
    assert!(message(b().allow_emails(["a@b@c"]).build()).contains("allow_emails"));
    assert!(
        message(b().allow_email_domains(["exa mple.com"]).build()).contains("allow_email_domains")
    );
    assert!(message(b().allow_email_domains([""]).build()).contains("allow_email_domains"));
    assert!(message(b().allow_service_tokens([" "]).build()).contains("allow_service_tokens"));
    let contradiction = b()
        .refuse_service_tokens()
        .allow_service_tokens(["x.access"])
        .build();
    assert!(message(contradiction).contains("contradict"));
    assert!(
        message(b().verifier(|v| v.http_timeout(Duration::ZERO)).build()).contains("http_timeout")
    );
    assert!(b().allow_email_domains(["@Example.COM"]).build().is_ok());
}

fn allow(list: &CloudflareAccessBuilder) -> AllowList {
    Policies::new(list.policy_options())
        .expect("valid")
        .allow
        .expect("an allow-list")
}

#[test]
fn allow_lists_are_closed_and_exact() {
    let person = |email: &str| User::from_claims(json!({"sub": "u", "email": email}));
    let service = |cn: &str| User::from_claims(json!({"sub": "", "common_name": cn}));
    let list = allow(
        &CloudflareAccess::builder("acme", AUD)
            .allow_emails(["Alice@Example.test"])
            .allow_email_domains(["@corp.example"]),
    );
    assert_eq!(list.check(&person("alice@example.test")), Ok(()));
    assert_eq!(list.check(&person("ALICE@EXAMPLE.TEST")), Ok(()));
    assert_eq!(list.check(&person("bob@corp.example")), Ok(()));
    for refused in [
        "bob@example.test",
        "bob@sub.corp.example",
        "bob@evilcorp.example",
        "corp.example",
    ] {
        assert_eq!(
            list.check(&person(refused)),
            Err("email not allowed"),
            "{refused}"
        );
    }
    assert_eq!(
        list.check(&User::from_claims(json!({"sub": "u"}))),
        Err("email not allowed")
    );
    assert_eq!(
        list.check(&service("x.access")),
        Err("service token not allowed")
    );

    let list = allow(&CloudflareAccess::builder("acme", AUD).allow_service_tokens(["x.access"]));
    assert_eq!(list.check(&service("x.access")), Ok(()));
    assert_eq!(
        list.check(&service("y.access")),
        Err("service token not allowed")
    );
    assert_eq!(
        list.check(&person("alice@example.test")),
        Err("email not allowed")
    );
}

#[test]
fn bearer_prefix_is_stripped_for_direct_calls() {
    assert_eq!(strip_bearer("Bearer a.b.c"), "a.b.c");
    assert_eq!(strip_bearer("bearer  a.b.c"), "a.b.c");
    assert_eq!(strip_bearer("a.b.c"), "a.b.c");
    assert_eq!(strip_bearer("Basic a.b.c"), "Basic a.b.c");
}

#[test]
fn builder_and_handle_debug_never_panic() {
    let builder = CloudflareAccess::builder("acme", AUD).verifier(|b| b.audience("extra-aud"));
    assert!(format!("{builder:?}").contains("extra-aud"), "{builder:?}");
    let access = builder.build().expect("valid");
    assert!(format!("{access:?}").contains("acme"));
}
