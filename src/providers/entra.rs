//! [`EntraId`]: Microsoft Entra ID (Azure AD) access tokens for your API, single tenant (v2
//! issuer, v1 on request, one key set) or multi-tenant (the `{tenantid}` template filled with
//! the token's own `tid`).

use std::fmt;

use crate::Algorithm;

use super::{non_empty, parse_base_url, preset_handle};
use crate::builder::JwksVerifierBuilder;
use crate::error::{AuthReason, ConfigError};
use crate::rules::{ClaimRule, IssuerRule, TENANT_PLACEHOLDER, is_guid};
use crate::verifier::JwksVerifier;

const LOGIN_HOST: &str = "https://login.microsoftonline.com";
/// The tenant-independent endpoint whose key set signs every tenant's tokens.
const COMMON: &str = "common";

fn v2_issuer(tid: &str) -> String {
    format!("{LOGIN_HOST}/{tid}/v2.0")
}

fn v1_issuer(tid: &str) -> String {
    format!("https://sts.windows.net/{tid}/")
}

/// Microsoft Entra ID access tokens for one API (its application (client) id).
///
/// Single tenant ([`new`](Self::new), [`builder`](Self::builder)): `iss` exactly
/// `https://login.microsoftonline.com/{tid}/v2.0`, plus `https://sts.windows.net/{tid}/` with
/// [`accept_v1`](EntraIdBuilder::accept_v1) (the API's `accessTokenAcceptedVersion` decides
/// which one it gets); keys from `https://login.microsoftonline.com/{tid}/discovery/v2.0/keys`
/// (they carry no `alg`: RS256 is what Entra ID signs with).
///
/// Multi-tenant ([`multi_tenant`](Self::multi_tenant)): keys from the `common` endpoint, `tid`
/// must be a GUID and `iss` must equal `https://login.microsoftonline.com/{tid}/v2.0` with that
/// very `tid` (Microsoft's rule); with
/// [`allow_tenants`](EntraIdBuilder::allow_tenants), `tid` must also be listed.
///
/// `aud` must be the API's client id, or another accepted audience such as its App ID URI
/// (v1 tokens carry the one the client asked for). Refusals are 401 `invalid_token`.
///
/// ```
/// use jwks_auth::providers::EntraId;
/// let api = EntraId::builder(
///     "72f988bf-86f1-41af-91ab-2d7cd011db47", // Directory (tenant) ID
///     "6e74172b-be56-4843-9ff4-e66a39bb12e3", // Application (client) ID of the API
/// )
/// .accept_v1()
/// .audience("api://orders")
/// .build()?;
/// assert_eq!(api.issuers().len(), 2);
/// # Ok::<(), jwks_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct EntraId {
    verifier: JwksVerifier,
    jwks_url: String,
    issuers: Vec<String>,
}

preset_handle!(EntraId);

enum Tenancy {
    Single(String),
    Multi,
}

impl EntraId {
    /// v2 access tokens of the tenant `tenant_id` (Directory (tenant) ID, a GUID) for the API
    /// whose Application (client) ID is `client_id`.
    ///
    /// # Errors
    /// A [`ConfigError`] when the tenant id is not a GUID or the client id is empty.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        Self::builder(tenant_id, client_id).build()
    }

    /// A single-tenant builder, for options (v1 tokens, more audiences, HTTP settings).
    pub fn builder(tenant_id: impl Into<String>, client_id: impl Into<String>) -> EntraIdBuilder {
        EntraIdBuilder::new(Tenancy::Single(tenant_id.into()), client_id.into())
    }

    /// A multi-tenant builder: tokens of any tenant (or, with
    /// [`allow_tenants`](EntraIdBuilder::allow_tenants), of the listed ones) for the API whose
    /// Application (client) ID is `client_id`.
    pub fn multi_tenant(client_id: impl Into<String>) -> EntraIdBuilder {
        EntraIdBuilder::new(Tenancy::Multi, client_id.into())
    }
}

/// Builds an [`EntraId`]; `build()` reports the first problem as a [`ConfigError`].
#[must_use]
pub struct EntraIdBuilder {
    tenancy: Tenancy,
    /// The tenant allow-list (multi-tenant only; closed when given).
    allowed: Option<Vec<String>>,
    audiences: Vec<String>,
    accept_v1: bool,
    base_url: Option<String>,
    verifier: JwksVerifierBuilder,
}

impl EntraIdBuilder {
    fn new(tenancy: Tenancy, client_id: String) -> Self {
        Self {
            tenancy,
            allowed: None,
            audiences: vec![client_id],
            accept_v1: false,
            base_url: None,
            verifier: JwksVerifier::builder(),
        }
    }

    /// Also accept v1 tokens (`iss` `https://sts.windows.net/{tid}/`, `ver` `1.0`), on the
    /// same key set and key cache. Off by default: a v1 token is then refused with 401
    /// `invalid_token` (issuer mismatch).
    pub fn accept_v1(mut self) -> Self {
        self.accept_v1 = true;
        self
    }

    /// Another accepted `aud`, such as the API's App ID URI (`api://orders`), which v1 tokens
    /// carry when the client asked for it. Call again for more.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Multi-tenant only: accept tokens of these tenants only (Directory (tenant) IDs,
    /// GUIDs); others get 401 `invalid_token`. Call again to add more. Without it, every
    /// tenant is accepted (key your data by `tid`).
    pub fn allow_tenants<I, S>(mut self, tenant_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed
            .get_or_insert_with(Vec::new)
            .extend(tenant_ids.into_iter().map(Into::into));
        self
    }

    /// Fetch keys from this base URL instead of `https://login.microsoftonline.com` (a mock in
    /// tests: [`MockIdp::entra_url`](crate::testing::MockIdp::entra_url)). The issuers do not
    /// change.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Configures the wrapped [`JwksVerifierBuilder`] (HTTP client, timeout, retries, clock,
    /// cache, leeway, scopes, claims checks). The preset's key URL, issuer rule, audiences and
    /// algorithm are applied after it.
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
    pub fn build(self) -> Result<EntraId, ConfigError> {
        let audiences = non_empty(
            &self.audiences,
            "client_id",
            "the API's Application (client) ID, from App registrations > Overview",
        )?;
        let base = match &self.base_url {
            Some(url) => parse_base_url(url)?,
            None => LOGIN_HOST.to_owned(),
        };
        let (keys_tenant, issuers, rule, tenant_rule) = match self.tenancy {
            Tenancy::Single(_) if self.allowed.is_some() => {
                return Err(ConfigError::new(
                    "allow_tenants: only for EntraId::multi_tenant(..); a single-tenant API \
                     accepts its own tenant only",
                ));
            }
            Tenancy::Single(tid) => {
                let tid = parse_tenant(&tid)?;
                let mut issuers = vec![v2_issuer(&tid)];
                if self.accept_v1 {
                    issuers.push(v1_issuer(&tid));
                }
                let rule = IssuerRule::Exact(issuers.clone());
                // The exact `iss` already names the tenant; `tid` must agree (a token whose
                // two tenant claims disagree is refused, as the multi-tenant rule does).
                let tenant_rule =
                    ClaimRule::one_of("tid", [tid.clone()], AuthReason::TenantNotAllowed);
                (tid, issuers, rule, Some(tenant_rule))
            }
            Tenancy::Multi => {
                let mut issuers = vec![v2_issuer(TENANT_PLACEHOLDER)];
                if self.accept_v1 {
                    issuers.push(v1_issuer(TENANT_PLACEHOLDER));
                }
                let allowed = self.allowed.map(|list| {
                    list.iter()
                        .map(|t| t.trim().to_ascii_lowercase())
                        .collect::<Vec<_>>()
                });
                let rule = IssuerRule::tenant_template(&issuers, allowed)?;
                (COMMON.to_owned(), issuers, rule, None)
            }
        };
        let jwks_url = format!("{base}/{keys_tenant}/discovery/v2.0/keys");
        let verifier = audiences
            .into_iter()
            .fold(self.verifier, JwksVerifierBuilder::audience)
            .jwks_url(jwks_url.clone())
            .issuer_rule(rule)
            .algorithms(Algorithm::RS256);
        let verifier = match tenant_rule {
            Some(tenant_rule) => verifier.claim_rule(tenant_rule),
            None => verifier,
        };
        Ok(EntraId {
            verifier: verifier.build()?,
            jwks_url,
            issuers,
        })
    }
}

/// A single tenant's id: a GUID (the issuer holds it; a domain name cannot build it).
fn parse_tenant(input: &str) -> Result<String, ConfigError> {
    let tid = input.trim().to_ascii_lowercase();
    if is_guid(&tid) {
        return Ok(tid);
    }
    if ["common", "organizations", "consumers"].contains(&tid.as_str()) {
        return Err(ConfigError::new(format!(
            "tenant_id: `{input}` is the multi-tenant endpoint; use \
             EntraId::multi_tenant(client_id) (optionally with .allow_tenants([..]))"
        )));
    }
    Err(ConfigError::new(format!(
        "tenant_id: `{input}` is not a tenant id; give the Directory (tenant) ID GUID from \
         Microsoft Entra ID > Overview, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47 (tokens carry \
         it in `iss`, not a domain name)"
    )))
}

impl fmt::Debug for EntraId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraId")
            .field("jwks_url", &self.jwks_url)
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EntraIdBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenancy = match &self.tenancy {
            Tenancy::Single(tid) => format!("single tenant {tid}"),
            Tenancy::Multi => "multi-tenant".to_owned(),
        };
        f.debug_struct("EntraIdBuilder")
            .field("tenancy", &tenancy)
            .field("allowed", &self.allowed)
            .field("audiences", &self.audiences)
            .field("accept_v1", &self.accept_v1)
            .field("base_url", &self.base_url)
            .field("verifier", &self.verifier)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

    #[test]
    fn issuers_and_keys_follow_the_tenancy() {
        let single = EntraId::new(TID, API).unwrap();
        assert_eq!(single.issuers(), [v2_issuer(TID)]);
        assert_eq!(
            single.jwks_url(),
            format!("{LOGIN_HOST}/{TID}/discovery/v2.0/keys")
        );
        let both = EntraId::builder(TID, API).accept_v1().build().unwrap();
        assert_eq!(both.issuers(), [v2_issuer(TID), v1_issuer(TID)]);
        let multi = EntraId::multi_tenant(API).build().unwrap();
        assert_eq!(
            multi.issuers(),
            ["https://login.microsoftonline.com/{tenantid}/v2.0"]
        );
        assert_eq!(
            multi.jwks_url(),
            format!("{LOGIN_HOST}/common/discovery/v2.0/keys")
        );
    }

    #[test]
    fn configuration_errors_say_what_to_fix() {
        let domain = EntraId::new("contoso.onmicrosoft.com", API).unwrap_err();
        assert!(
            domain.to_string().contains("Directory (tenant) ID"),
            "{domain}"
        );
        let common = EntraId::new("common", API).unwrap_err();
        assert!(common.to_string().contains("multi_tenant"), "{common}");
        let allow = EntraId::builder(TID, API)
            .allow_tenants([TID])
            .build()
            .unwrap_err();
        assert!(
            allow.to_string().contains("only for EntraId::multi_tenant"),
            "{allow}"
        );
        let bad_tenant = EntraId::multi_tenant(API)
            .allow_tenants(["contoso.com"])
            .build()
            .unwrap_err();
        assert!(bad_tenant.to_string().contains("GUID"), "{bad_tenant}");
        assert!(EntraId::new(TID, " ").is_err());
    }
}
