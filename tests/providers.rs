//! Real providers' token shapes against the presets (Cognito, Entra ID, Google, Keycloak) and
//! the generic builder (Auth0, Okta, `issuers([..])`, `authorized_party(..)`): the mock mints
//! each provider's exact tokens and serves its key set and discovery documents on its paths.
//! Every refusal checks status, `WWW-Authenticate`, body and the mock's fetch counts.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{Reply, send_token};
use http::StatusCode;
use jwks_auth::providers::{
    Cognito, CognitoBuilder, CognitoClaims, EntraId, EntraIdBuilder, Google, GoogleBuilder,
    Keycloak, KeycloakBuilder, KeycloakClaims,
};
use jwks_auth::testing::{MockIdp, entra_v1_issuer, entra_v2_issuer};
use jwks_auth::{AuthReason, JwksAuthLayer, JwksVerifier, JwksVerifierBuilder, User};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const POOL: &str = "eu-west-1_AbCdEf123";
const CLIENT: &str = "5ka7mock0client0id00000000";
const OTHER_CLIENT: &str = "7zz9other0client0id0000000";
const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TID: &str = "0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0";
const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
const GOOGLE_CLIENT: &str = "1234567890-abc.apps.googleusercontent.com";

/// No retries, short timeouts: a failure shows at once. The unknown-kid cooldown stays on,
/// so that fetch counts only move when the tests say so.
fn fast(b: JwksVerifierBuilder) -> JwksVerifierBuilder {
    b.http_retries(0)
        .http_timeout(Duration::from_secs(2))
        .failure_backoff(Duration::ZERO)
}

/// `/me` answers `sub`, then the claims a handler of that provider reads.
fn app(layer: JwksAuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move {
                format!(
                    "{} groups={:?} realm_roles={:?}",
                    user.sub().unwrap_or("-"),
                    user.cognito_groups(),
                    user.realm_roles(),
                )
            }),
        )
        .layer(layer)
}

/// Asserts the refusal `reason` gives: its status, challenge and body.
#[track_caller]
fn assert_refused(reply: &Reply, reason: AuthReason) {
    let text = reason.description();
    let error = match reason.kind().status() {
        StatusCode::FORBIDDEN => "insufficient_scope",
        _ => "invalid_token",
    };
    assert_eq!(reply.status, reason.kind().status(), "body: {}", reply.body);
    assert_eq!(
        reply.challenge(),
        Some(format!(r#"Bearer error="{error}", error_description="{text}""#).as_str())
    );
    assert_eq!(reply.body, json!({ "detail": text }).to_string());
}

#[track_caller]
fn assert_ok(reply: &Reply, starts_with: &str) {
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    assert!(reply.body.starts_with(starts_with), "body: {}", reply.body);
}

fn decode_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(index).expect("three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

async fn get_json(url: &str) -> Value {
    let body = reqwest::get(url)
        .await
        .expect("mock reachable")
        .bytes()
        .await
        .expect("body");
    serde_json::from_slice(&body).expect("JSON")
}

// ---------------------------------------------------------------------------------------
// Cognito

fn cognito(idp: &MockIdp) -> CognitoBuilder {
    Cognito::builder(REGION, POOL, [CLIENT])
        .base_url(idp.cognito_url())
        .verifier(fast)
}

#[tokio::test]
async fn cognito_access_token_of_a_listed_client_passes_with_its_groups() {
    let idp = MockIdp::start().await;
    let preset = cognito(&idp).build().expect("config");
    let app = app(preset.layer());
    let token = idp.cognito_access_token(REGION, POOL, CLIENT).sign();
    // The shape AWS documents: no typ, no aud, client_id and token_use.
    let header = decode_part(&token, 0);
    assert_eq!(header.get("typ"), None);
    let claims = decode_part(&token, 1);
    assert_eq!(claims.get("aud"), None);
    assert_eq!(claims["token_use"], "access");
    assert_eq!(
        claims["iss"],
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    );
    assert_ok(
        &send_token(&app, &token).await,
        r#"aaaaaaaa-bbbb-cccc-dddd-example groups=["admin"]"#,
    );
    assert_eq!(idp.provider_key_fetches(), 1);
    assert_eq!(
        idp.jwks_fetches(),
        0,
        "the pool's own key path, not the mock's"
    );
    let user = preset.verify(&token).await.expect("valid");
    assert_eq!(user.token_use(), Some("access"));
    assert_eq!(user.cognito_username(), Some("alice"));
}

#[tokio::test]
async fn cognito_refuses_another_client_another_pool_and_id_tokens_with_401() {
    let idp = MockIdp::start().await;
    let app = app(cognito(&idp).build().expect("config").layer());
    let warm = idp.cognito_access_token(REGION, POOL, CLIENT).sign();
    assert_ok(&send_token(&app, &warm).await, "aaaa");

    let other_client = idp.cognito_access_token(REGION, POOL, OTHER_CLIENT).sign();
    assert_refused(
        &send_token(&app, &other_client).await,
        AuthReason::ClientMismatch,
    );
    let no_client = idp
        .cognito_access_token(REGION, POOL, CLIENT)
        .remove_claim("client_id")
        .sign();
    assert_refused(
        &send_token(&app, &no_client).await,
        AuthReason::ClientMismatch,
    );
    let other_pool = idp
        .cognito_access_token(REGION, "eu-west-1_Other999", CLIENT)
        .sign();
    assert_refused(
        &send_token(&app, &other_pool).await,
        AuthReason::IssuerMismatch,
    );
    let other_region = idp.cognito_access_token("us-east-1", POOL, CLIENT).sign();
    assert_refused(
        &send_token(&app, &other_region).await,
        AuthReason::IssuerMismatch,
    );
    // An ID token of the right client: signature and issuer pass, token_use does not.
    let id_token = idp.cognito_id_token(REGION, POOL, CLIENT).sign();
    assert_refused(
        &send_token(&app, &id_token).await,
        AuthReason::TokenUseMismatch,
    );
    // An access token with an `aud` of the right client changes nothing: aud is not read.
    let with_aud = idp
        .cognito_access_token(REGION, POOL, OTHER_CLIENT)
        .claim("aud", json!(CLIENT))
        .sign();
    assert_refused(
        &send_token(&app, &with_aud).await,
        AuthReason::ClientMismatch,
    );
    assert_eq!(idp.provider_key_fetches(), 1, "no refusal fetched keys");
}

#[tokio::test]
async fn cognito_id_tokens_on_request() {
    let idp = MockIdp::start().await;
    let preset = cognito(&idp).id_tokens().build().expect("config");
    let app = app(preset.layer());
    let id_token = idp.cognito_id_token(REGION, POOL, CLIENT).sign();
    assert_ok(&send_token(&app, &id_token).await, "aaaa");
    let user = preset.verify(&id_token).await.expect("valid");
    assert_eq!(user.cognito_username(), Some("alice"));
    assert_eq!(user.cognito_groups(), ["admin"]);

    let other_client = idp.cognito_id_token(REGION, POOL, OTHER_CLIENT).sign();
    assert_refused(
        &send_token(&app, &other_client).await,
        AuthReason::AudienceMismatch,
    );
    // An ID token claiming to be an access token, and an access token (which has no aud).
    let relabelled = idp
        .cognito_id_token(REGION, POOL, CLIENT)
        .claim("token_use", json!("access"))
        .sign();
    assert_refused(
        &send_token(&app, &relabelled).await,
        AuthReason::TokenUseMismatch,
    );
    let access = idp.cognito_access_token(REGION, POOL, CLIENT).sign();
    assert_refused(
        &send_token(&app, &access).await,
        AuthReason::AudienceMismatch,
    );
    assert_eq!(idp.provider_key_fetches(), 1);
}

#[tokio::test]
async fn cognito_discovery_document_announces_what_the_preset_derives() {
    let idp = MockIdp::start().await;
    let preset = cognito(&idp).build().expect("config");
    let doc = get_json(&format!(
        "{}/{POOL}/.well-known/openid-configuration",
        idp.cognito_url()
    ))
    .await;
    assert_eq!(doc["issuer"], preset.issuers()[0]);
    assert_eq!(doc["jwks_uri"], preset.jwks_url());
    let keys = get_json(preset.jwks_url()).await;
    assert_eq!(keys["keys"][0]["alg"], "RS256");
    assert_eq!(keys["keys"][0]["use"], "sig");
    assert_eq!(idp.provider_discovery_fetches(), 1);
}

// ---------------------------------------------------------------------------------------
// Entra ID

fn entra(idp: &MockIdp) -> EntraIdBuilder {
    EntraId::builder(TID, API)
        .base_url(idp.entra_url())
        .verifier(fast)
}

#[tokio::test]
async fn entra_v2_passes_and_v1_is_refused_until_accepted() {
    let idp = MockIdp::start().await;
    let app = app(entra(&idp).build().expect("config").layer());
    let v2 = idp.entra_token(TID, API).sign();
    assert_eq!(decode_part(&v2, 0)["typ"], "JWT");
    assert_ok(
        &send_token(&app, &v2).await,
        "pairwise-subject-for-this-app",
    );
    let v1 = idp.entra_v1_token(TID, API).sign();
    assert_eq!(decode_part(&v1, 1)["iss"], entra_v1_issuer(TID));
    assert_refused(&send_token(&app, &v1).await, AuthReason::IssuerMismatch);
    let other_tenant = idp.entra_token(OTHER_TID, API).sign();
    assert_refused(
        &send_token(&app, &other_tenant).await,
        AuthReason::IssuerMismatch,
    );
    let other_api = idp
        .entra_token(TID, "00000003-0000-0000-c000-000000000000")
        .sign();
    assert_refused(
        &send_token(&app, &other_api).await,
        AuthReason::AudienceMismatch,
    );
    // Our tenant's issuer with another tenant's `tid` (a reviewer's case): the two tenant
    // claims disagree, refused as the multi-tenant rule refuses it.
    let mixed = idp
        .entra_token(TID, API)
        .claim("tid", json!(OTHER_TID))
        .sign();
    assert_refused(
        &send_token(&app, &mixed).await,
        AuthReason::TenantNotAllowed,
    );
    assert_eq!(idp.provider_key_fetches(), 1);
}

#[tokio::test]
async fn entra_v1_and_v2_share_one_key_set_when_v1_is_accepted() {
    let idp = MockIdp::start().await;
    let preset = entra(&idp)
        .accept_v1()
        .audience("api://orders")
        .build()
        .expect("config");
    let app = app(preset.layer());
    // The key set Entra serves: no `alg`, a per-key issuer, x5t and x5c.
    let keys = get_json(preset.jwks_url()).await;
    let key = &keys["keys"][0];
    assert_eq!(key.get("alg"), None);
    assert_eq!(key["issuer"], entra_v2_issuer(TID));
    assert!(key["x5c"].is_array() && key["x5t"].is_string());
    let before = idp.provider_key_fetches();

    let v2 = idp.entra_token(TID, API).sign();
    let v1 = idp.entra_v1_token(TID, "api://orders").sign();
    assert!(decode_part(&v1, 0)["x5t"].is_string());
    assert_ok(&send_token(&app, &v2).await, "pairwise");
    assert_ok(&send_token(&app, &v1).await, "pairwise");
    assert_eq!(idp.provider_key_fetches() - before, 1, "one key cache");
    let v1_other_tenant = idp.entra_v1_token(OTHER_TID, API).sign();
    assert_refused(
        &send_token(&app, &v1_other_tenant).await,
        AuthReason::IssuerMismatch,
    );
}

#[tokio::test]
async fn entra_multi_tenant_checks_iss_against_the_tokens_own_tid() {
    let idp = MockIdp::start().await;
    let preset = EntraId::multi_tenant(API)
        .base_url(idp.entra_url())
        .verifier(fast)
        .build()
        .expect("config");
    assert_eq!(
        preset.jwks_url(),
        format!("{}/common/discovery/v2.0/keys", idp.entra_url())
    );
    let app = app(preset.layer());
    for tid in [TID, OTHER_TID] {
        let token = idp.entra_token(tid, API).sign();
        assert_ok(&send_token(&app, &token).await, "pairwise");
    }
    // Tenant A's issuer with tenant B's tid, and the reverse: the substitution must match.
    let mixed = idp
        .entra_token(TID, API)
        .claim("tid", json!(OTHER_TID))
        .sign();
    assert_refused(&send_token(&app, &mixed).await, AuthReason::IssuerMismatch);
    let literal = idp
        .entra_token(TID, API)
        .claim("iss", json!(entra_v2_issuer("{tenantid}")))
        .sign();
    assert_refused(
        &send_token(&app, &literal).await,
        AuthReason::IssuerMismatch,
    );
    for tid in [json!("common"), json!(null)] {
        let token = idp.entra_token(TID, API).claim("tid", tid).sign();
        assert_refused(&send_token(&app, &token).await, AuthReason::InvalidTenantId);
    }
    let no_tid = idp.entra_token(TID, API).remove_claim("tid").sign();
    assert_refused(
        &send_token(&app, &no_tid).await,
        AuthReason::InvalidTenantId,
    );
    // v1 not accepted here either.
    let v1 = idp.entra_v1_token(TID, API).sign();
    assert_refused(&send_token(&app, &v1).await, AuthReason::IssuerMismatch);
    assert_eq!(idp.provider_key_fetches(), 1);
}

#[tokio::test]
async fn entra_multi_tenant_allow_list_is_closed() {
    let idp = MockIdp::start().await;
    let app = app(EntraId::multi_tenant(API)
        .allow_tenants([TID.to_ascii_uppercase()])
        .accept_v1()
        .base_url(idp.entra_url())
        .verifier(fast)
        .build()
        .expect("config")
        .layer());
    assert_ok(
        &send_token(&app, &idp.entra_token(TID, API).sign()).await,
        "pairwise",
    );
    assert_ok(
        &send_token(&app, &idp.entra_v1_token(TID, API).sign()).await,
        "pairwise",
    );
    let other = idp.entra_token(OTHER_TID, API).sign();
    assert_refused(
        &send_token(&app, &other).await,
        AuthReason::TenantNotAllowed,
    );
    assert_eq!(idp.provider_key_fetches(), 1);
}

#[tokio::test]
async fn entra_discovery_documents_announce_the_template_for_common() {
    let idp = MockIdp::start().await;
    let base = idp.entra_url();
    let common = get_json(&format!(
        "{base}/common/v2.0/.well-known/openid-configuration"
    ))
    .await;
    assert_eq!(
        common["issuer"],
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    assert_eq!(
        common["jwks_uri"],
        format!("{base}/common/discovery/v2.0/keys")
    );
    let v1 = get_json(&format!("{base}/common/.well-known/openid-configuration")).await;
    assert_eq!(v1["issuer"], "https://sts.windows.net/{tenantid}/");
    let tenant = get_json(&format!(
        "{base}/{TID}/v2.0/.well-known/openid-configuration"
    ))
    .await;
    assert_eq!(tenant["issuer"], entra_v2_issuer(TID));
    let keys = get_json(&format!("{base}/common/discovery/v2.0/keys")).await;
    assert_eq!(
        keys["keys"][0]["issuer"],
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    assert_eq!(idp.provider_discovery_fetches(), 3);
}

// ---------------------------------------------------------------------------------------
// Google

fn google(idp: &MockIdp) -> GoogleBuilder {
    Google::builder(GOOGLE_CLIENT)
        .base_url(idp.google_url())
        .verifier(fast)
}

#[tokio::test]
async fn google_accepts_both_issuer_spellings_on_one_key_set() {
    let idp = MockIdp::start().await;
    let app = app(google(&idp).build().expect("config").layer());
    for iss in ["https://accounts.google.com", "accounts.google.com"] {
        let token = idp
            .google_id_token(GOOGLE_CLIENT)
            .claim("iss", json!(iss))
            .sign();
        assert_ok(&send_token(&app, &token).await, "110169484474386276334");
    }
    let slash = idp
        .google_id_token(GOOGLE_CLIENT)
        .claim("iss", json!("https://accounts.google.com/"))
        .sign();
    assert_refused(&send_token(&app, &slash).await, AuthReason::IssuerMismatch);
    // Another app's token, even with our client as azp (a strict aud check is the point).
    let other = idp
        .google_id_token("999-other.apps.googleusercontent.com")
        .claim("azp", json!(GOOGLE_CLIENT))
        .sign();
    assert_refused(
        &send_token(&app, &other).await,
        AuthReason::AudienceMismatch,
    );
    assert_eq!(idp.provider_key_fetches(), 1);
}

#[tokio::test]
async fn google_hosted_domain_is_a_403_allow_list() {
    let idp = MockIdp::start().await;
    let app = app(google(&idp)
        .hosted_domains(["Example.com"])
        .build()
        .expect("config")
        .layer());
    let workspace = idp
        .google_id_token(GOOGLE_CLIENT)
        .claim("hd", json!("example.com"))
        .sign();
    assert_ok(&send_token(&app, &workspace).await, "1101");
    let other = idp
        .google_id_token(GOOGLE_CLIENT)
        .claim("hd", json!("evil.example"))
        .sign();
    assert_refused(
        &send_token(&app, &other).await,
        AuthReason::HostedDomainNotAllowed,
    );
    // A consumer account whose email looks right: `hd` decides, not the email.
    let consumer = idp
        .google_id_token(GOOGLE_CLIENT)
        .claim("email", json!("alice@example.com"))
        .sign();
    assert_refused(
        &send_token(&app, &consumer).await,
        AuthReason::HostedDomainNotAllowed,
    );
    assert_eq!(idp.provider_key_fetches(), 1);
}

// ---------------------------------------------------------------------------------------
// Keycloak

fn keycloak(idp: &MockIdp) -> KeycloakBuilder {
    Keycloak::builder(idp.keycloak_url(), "acme").verifier(fast)
}

#[tokio::test]
async fn keycloak_checks_azp_and_the_token_kind() {
    let idp = MockIdp::start().await;
    let preset = keycloak(&idp)
        .authorized_party("orders-web")
        .build()
        .expect("config");
    // The realm's key set: an RSA-OAEP encryption key under the signing key's kid, first.
    let keys = get_json(preset.jwks_url()).await;
    assert_eq!(keys["keys"][0]["use"], "enc");
    assert_eq!(keys["keys"][0]["kid"], keys["keys"][1]["kid"]);
    let before = idp.provider_key_fetches();
    let app = app(preset.layer());

    let token = idp.keycloak_token("acme", "orders-web").sign();
    assert_eq!(decode_part(&token, 1)["aud"], "account");
    assert_ok(
        &send_token(&app, &token).await,
        r#"f1b2c3d4-0000-4000-8000-keycloakuser groups=[] realm_roles=["default-roles-acme", "offline_access", "orders-admin"]"#,
    );
    let user = preset.verify(&token).await.expect("valid");
    assert_eq!(
        user.client_roles("account"),
        ["manage-account", "view-profile"]
    );
    assert!(user.client_roles("orders-web").is_empty());

    let other = idp.keycloak_token("acme", "admin-cli").sign();
    assert_refused(
        &send_token(&app, &other).await,
        AuthReason::AuthorizedPartyMismatch,
    );
    let missing = idp
        .keycloak_token("acme", "orders-web")
        .remove_claim("azp")
        .sign();
    assert_refused(
        &send_token(&app, &missing).await,
        AuthReason::AuthorizedPartyMismatch,
    );
    let id_token = idp
        .keycloak_token("acme", "orders-web")
        .claim("typ", json!("ID"))
        .claim("aud", json!("orders-web"))
        .sign();
    assert_refused(
        &send_token(&app, &id_token).await,
        AuthReason::TokenUseMismatch,
    );
    let other_realm = idp.keycloak_token("master", "orders-web").sign();
    assert_refused(
        &send_token(&app, &other_realm).await,
        AuthReason::IssuerMismatch,
    );
    assert_eq!(idp.provider_key_fetches() - before, 1);
}

#[tokio::test]
async fn keycloak_audience_with_or_without_azp() {
    let idp = MockIdp::start().await;
    let both = app(keycloak(&idp)
        .audience("orders-api")
        .authorized_party("orders-web")
        .build()
        .expect("config")
        .layer());
    let mapped = idp
        .keycloak_token("acme", "orders-web")
        .claim("aud", json!(["orders-api", "account"]))
        .sign();
    assert_ok(&send_token(&both, &mapped).await, "f1b2");
    let unmapped = idp.keycloak_token("acme", "orders-web").sign();
    assert_refused(
        &send_token(&both, &unmapped).await,
        AuthReason::AudienceMismatch,
    );
    let wrong_client = idp
        .keycloak_token("acme", "admin-cli")
        .claim("aud", json!(["orders-api", "account"]))
        .sign();
    assert_refused(
        &send_token(&both, &wrong_client).await,
        AuthReason::AuthorizedPartyMismatch,
    );
    let audience_only = app(keycloak(&idp)
        .audience("orders-api")
        .build()
        .expect("config")
        .layer());
    let any_client = idp
        .keycloak_token("acme", "admin-cli")
        .claim("aud", json!("orders-api"))
        .sign();
    assert_ok(&send_token(&audience_only, &any_client).await, "f1b2");
}

/// `authorized_party` is on every verifier: the generic builder against Keycloak's own
/// discovery document, with `azp` in place of an audience.
#[tokio::test]
async fn authorized_party_stands_in_for_the_audience_on_the_generic_builder() {
    let idp = MockIdp::start().await;
    let issuer = format!("{}/realms/acme", idp.keycloak_url());
    let verifier = fast(JwksVerifier::builder())
        .oidc_issuer(&issuer)
        .authorized_party("orders-web")
        .build()
        .expect("azp is a client check: no audience needed");
    let app = app(JwksAuthLayer::new(verifier));
    let token = idp.keycloak_token("acme", "orders-web").sign();
    assert_ok(&send_token(&app, &token).await, "f1b2");
    let missing = idp
        .keycloak_token("acme", "orders-web")
        .remove_claim("azp")
        .sign();
    assert_refused(
        &send_token(&app, &missing).await,
        AuthReason::AuthorizedPartyMismatch,
    );
    assert_eq!(
        (idp.provider_discovery_fetches(), idp.provider_key_fetches()),
        (1, 1)
    );
}

// ---------------------------------------------------------------------------------------
// Auth0 and Okta: the generic builder, no preset

#[tokio::test]
async fn auth0_with_the_trailing_slash_aud_array_and_permissions() {
    let idp = MockIdp::start().await;
    let api = "https://orders.example.test";
    let issuer = idp.auth0_issuer();
    assert!(issuer.ends_with('/'));
    let verifier = fast(JwksVerifier::builder())
        .oidc_issuer(&issuer)
        .audience(api)
        .claims_check(|user| {
            let granted = user.claim("permissions").and_then(Value::as_array);
            match granted {
                Some(list) if list.iter().any(|p| p == "read:orders") => Ok(()),
                _ => Err("missing permission read:orders"),
            }
        })
        .build()
        .expect("config");
    let app = app(JwksAuthLayer::new(verifier));
    let token = idp.auth0_token(api).sign();
    assert_eq!(
        decode_part(&token, 1)["aud"],
        json!([api, format!("{issuer}userinfo")])
    );
    assert_ok(&send_token(&app, &token).await, "auth0|64f0c0ffee");
    let without = idp.auth0_token(api).claim("permissions", json!([])).sign();
    let reply = send_token(&app, &without).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.challenge(),
        Some(
            r#"Bearer error="insufficient_scope", error_description="missing permission read:orders""#
        )
    );
    let other_api = idp.auth0_token("https://billing.example.test").sign();
    assert_refused(
        &send_token(&app, &other_api).await,
        AuthReason::AudienceMismatch,
    );
    assert_eq!(
        (idp.provider_discovery_fetches(), idp.provider_key_fetches()),
        (1, 1)
    );

    // Configured without the slash: discovery refuses the announced issuer, clients get 503.
    let slashless = fast(JwksVerifier::builder())
        .oidc_issuer(issuer.trim_end_matches('/'))
        .audience(api)
        .build()
        .expect("config");
    assert!(slashless.refresh().await.is_err());
    let refused = send_token(&app_of(slashless), &token).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
}

fn app_of(verifier: JwksVerifier) -> Router {
    app(JwksAuthLayer::new(verifier))
}

#[tokio::test]
async fn okta_custom_authorization_server_with_scp_array_and_cid() {
    let idp = MockIdp::start().await;
    let issuer = idp.okta_issuer("default");
    let verifier = fast(JwksVerifier::builder())
        .oidc_issuer(&issuer)
        .audience("api://default")
        .require_scope("orders.read")
        .build()
        .expect("config");
    let app = app_of(verifier.clone());
    let token = idp
        .okta_token("default", "api://default", "0oa1mockclient")
        .sign();
    assert_eq!(decode_part(&token, 0).get("typ"), None);
    assert_ok(&send_token(&app, &token).await, "alice@example.test");
    let user = verifier.verify(&token).await.expect("valid");
    assert_eq!(user.str_claim("cid"), Some("0oa1mockclient"));

    let no_scope = idp
        .okta_token("default", "api://default", "0oa1mockclient")
        .claim("scp", json!(["openid"]))
        .sign();
    // A scope refusal names the required scope (RFC 6750 section 3.1).
    let reply = send_token(&app, &no_scope).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "body: {}", reply.body);
    assert_eq!(
        reply.challenge(),
        Some(
            r#"Bearer scope="orders.read", error="insufficient_scope", error_description="insufficient scope""#
        )
    );
    assert_eq!(
        reply.body,
        json!({ "detail": AuthReason::InsufficientScope.description() }).to_string()
    );
    // An org authorization server token (issuer without /oauth2/..): not for your API.
    let org = idp
        .okta_token("default", "api://default", "0oa1mockclient")
        .claim("iss", json!(idp.url()))
        .sign();
    assert_refused(&send_token(&app, &org).await, AuthReason::IssuerMismatch);
    let other_server = idp
        .okta_token("aus1other", "api://default", "0oa1mockclient")
        .sign();
    assert_refused(
        &send_token(&app, &other_server).await,
        AuthReason::IssuerMismatch,
    );
    assert_eq!(
        (idp.provider_discovery_fetches(), idp.provider_key_fetches()),
        (1, 1)
    );
}

// ---------------------------------------------------------------------------------------
// issuers([..]) on the generic builder

#[tokio::test]
async fn issuers_share_one_key_set_and_stay_exact() {
    let idp = MockIdp::start().await;
    let verifier = common::builder(&idp)
        .issuers(["https://a.example", "a.example"])
        .build()
        .expect("config");
    let app = app_of(verifier);
    for iss in ["https://a.example", "a.example"] {
        let token = idp.token().claim("iss", json!(iss)).sign();
        assert_ok(&send_token(&app, &token).await, "user-1");
    }
    for iss in ["https://a.example/", "https://A.example", "b.example"] {
        let token = idp.token().claim("iss", json!(iss)).sign();
        assert_refused(&send_token(&app, &token).await, AuthReason::IssuerMismatch);
    }
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn issuers_configuration_mistakes_are_config_errors() {
    let idp = MockIdp::start().await;
    let none: [&str; 0] = [];
    let empty = common::builder(&idp).issuers(none).build().unwrap_err();
    assert!(empty.to_string().contains("issuers"), "{empty}");
    let blank = common::builder(&idp)
        .issuers(["a", ""])
        .build()
        .unwrap_err();
    assert!(blank.to_string().contains("empty"), "{blank}");
    // With discovery, the discovered issuer must be listed (in either order of the calls).
    let issuer = idp.issuer();
    let missing = JwksVerifier::builder()
        .oidc_issuer(&issuer)
        .issuers(["x.example", "y.example"])
        .audience("a")
        .build()
        .unwrap_err();
    assert!(missing.to_string().contains(&issuer), "{missing}");
    assert!(
        JwksVerifier::builder()
            .issuers([issuer.as_str(), "alias.example"])
            .oidc_issuer(&issuer)
            .audience("a")
            .build()
            .is_ok()
    );
    // A verifier accepting several issuers cannot be one route of a multi-issuer verifier.
    let several = common::builder(&idp)
        .issuers(["a.example", "b.example"])
        .build()
        .expect("config");
    let err = JwksVerifier::multi_issuer([several]).unwrap_err();
    assert!(err.to_string().contains("one .issuer("), "{err}");
    // A verifier with neither audience nor authorized party still needs one.
    let err = JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer("x")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains(".authorized_party("), "{err}");
}
