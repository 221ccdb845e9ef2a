//! Tokens in each provider's exact shape (claims, header `typ`, issuer strings), as the
//! project's provider notes document them. The endpoints are in `providers.rs`.

use serde_json::json;

use super::providers::{
    GOOGLE_ISSUER, MOCK_CALLER_APP, cognito_issuer, entra_v1_issuer, entra_v2_issuer,
};
use super::token::now;
use super::{MockIdp, TokenBuilder};
use crate::Algorithm;

impl MockIdp {
    /// A builder starting from no claims but `iat` and `exp` (one hour), for provider shapes.
    fn bare_token(&self) -> TokenBuilder {
        let mut builder = self.token();
        for name in ["iss", "sub", "aud", "email", "name", "nbf"] {
            builder = builder.remove_claim(name);
        }
        builder
    }

    /// A Cognito user pool access token, as AWS documents it: header without `typ`, no
    /// `aud`, `client_id`, `token_use: access`, `scope` string, `cognito:groups`, `username`,
    /// `version: 2`, no `nbf`.
    pub fn cognito_access_token(&self, region: &str, pool: &str, client_id: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .no_typ()
            .claim("sub", json!("aaaaaaaa-bbbb-cccc-dddd-example"))
            .claim("cognito:groups", json!(["admin"]))
            .claim("iss", json!(cognito_issuer(region, pool)))
            .claim("version", json!(2))
            .claim("client_id", json!(client_id))
            .claim("origin_jti", json!("aaaaaaaa-bbbb-cccc-dddd-origin"))
            .claim("event_id", json!("cccccccc-dddd-eeee-ffff-event"))
            .claim("token_use", json!("access"))
            .claim(
                "scope",
                json!("aws.cognito.signin.user.admin phone openid profile email"),
            )
            .claim("auth_time", json!(now))
            .claim("jti", json!("aaaaaaaa-bbbb-cccc-dddd-jti"))
            .claim("username", json!("alice"))
    }

    /// A Cognito user pool ID token: `aud` = the app client, `token_use: id`,
    /// `cognito:username`, `email_verified` boolean, `cognito:groups`; header without `typ`.
    pub fn cognito_id_token(&self, region: &str, pool: &str, client_id: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .no_typ()
            .claim("sub", json!("aaaaaaaa-bbbb-cccc-dddd-example"))
            .claim("cognito:groups", json!(["admin"]))
            .claim("email_verified", json!(true))
            .claim("iss", json!(cognito_issuer(region, pool)))
            .claim("cognito:username", json!("alice"))
            .claim("origin_jti", json!("aaaaaaaa-bbbb-cccc-dddd-origin"))
            .claim("aud", json!(client_id))
            .claim("event_id", json!("cccccccc-dddd-eeee-ffff-event"))
            .claim("token_use", json!("id"))
            .claim("auth_time", json!(now))
            .claim("jti", json!("aaaaaaaa-bbbb-cccc-dddd-jti"))
            .claim("email", json!("alice@example.test"))
    }

    /// An Entra ID v2 access token for the API `api_client_id` in tenant `tid`: header
    /// `typ: JWT`, `iss` `https://login.microsoftonline.com/{tid}/v2.0`, `aud` the API's
    /// client id, `azp` the caller ([`MOCK_CALLER_APP`]), `scp` string, `tid`, `oid`, `uti`,
    /// `ver: 2.0`, integer `nbf`.
    pub fn entra_token(&self, tid: &str, api_client_id: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .claim("aud", json!(api_client_id))
            .claim("iss", json!(entra_v2_issuer(tid)))
            .claim("nbf", json!(now))
            .claim("aio", json!("AWQAm/8TAAAA-mock"))
            .claim("azp", json!(MOCK_CALLER_APP))
            .claim("azpacr", json!("0"))
            .claim("name", json!("Alice Example"))
            .claim("oid", json!("00000000-0000-0000-66f3-3332eca7ea81"))
            .claim("preferred_username", json!("alice@contoso.example"))
            .claim("rh", json!("0.AAAA-mock."))
            .claim("roles", json!(["Orders.Read"]))
            .claim("scp", json!("access_as_user"))
            .claim("sub", json!("pairwise-subject-for-this-app"))
            .claim("tid", json!(tid))
            .claim("uti", json!("mock-uti"))
            .claim("ver", json!("2.0"))
    }

    /// An Entra ID v1 access token: `iss` `https://sts.windows.net/{tid}/`, header `x5t`
    /// beside `kid`, `appid` for the caller, `upn`, `unique_name`, `ver: 1.0`; `aud` as given
    /// (the API's client id or its App ID URI).
    pub fn entra_v1_token(&self, tid: &str, audience: &str) -> TokenBuilder {
        let now = now();
        let kid = self.kid(Algorithm::RS256);
        self.bare_token()
            .header("x5t", json!(kid))
            .claim("aud", json!(audience))
            .claim("iss", json!(entra_v1_issuer(tid)))
            .claim("nbf", json!(now))
            .claim("acr", json!("1"))
            .claim("aio", json!("E2ZgYJ-mock"))
            .claim("amr", json!(["pwd"]))
            .claim("appid", json!(MOCK_CALLER_APP))
            .claim("appidacr", json!("0"))
            .claim("family_name", json!("Example"))
            .claim("given_name", json!("Alice"))
            .claim("ipaddr", json!("192.0.2.1"))
            .claim("name", json!("Alice Example"))
            .claim("oid", json!("00000000-0000-0000-66f3-3332eca7ea81"))
            .claim("rh", json!("0.AAAA-mock."))
            .claim("scp", json!("access_as_user"))
            .claim("sub", json!("pairwise-subject-for-this-app"))
            .claim("tid", json!(tid))
            .claim("unique_name", json!("alice@contoso.example"))
            .claim("upn", json!("alice@contoso.example"))
            .claim("uti", json!("mock-uti"))
            .claim("ver", json!("1.0"))
    }

    /// A Google ID token for the OAuth client `client_id`: `iss` `https://accounts.google.com`
    /// (set `accounts.google.com` with `.claim("iss", ..)` for the other spelling), `aud` and
    /// `azp` the client, numeric-string `sub`, `email_verified`, no `hd` (a consumer account:
    /// add `.claim("hd", ..)` for a Workspace user), no `nbf`.
    pub fn google_id_token(&self, client_id: &str) -> TokenBuilder {
        self.bare_token()
            .claim("iss", json!(GOOGLE_ISSUER))
            .claim("azp", json!(client_id))
            .claim("aud", json!(client_id))
            .claim("sub", json!("110169484474386276334"))
            .claim("email", json!("alice@example.test"))
            .claim("email_verified", json!(true))
            .claim("at_hash", json!("X_B3Z3Fi4udZ2mf75RWo3w"))
            .claim("name", json!("Alice Example"))
            .claim("given_name", json!("Alice"))
            .claim("family_name", json!("Example"))
    }

    /// A Keycloak access token of realm `realm` for the client `azp`: header `typ: JWT`,
    /// `iss` `{keycloak_url}/realms/{realm}`, `aud: "account"` (no audience mapper), body
    /// `typ: Bearer`, `realm_access.roles`, `resource_access.account.roles`, `scope` string.
    pub fn keycloak_token(&self, realm: &str, azp: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .claim("auth_time", json!(now))
            .claim("jti", json!("onrtac:mock-jti"))
            .claim(
                "iss",
                json!(format!("{}/realms/{realm}", self.keycloak_url())),
            )
            .claim("aud", json!("account"))
            .claim("sub", json!("f1b2c3d4-0000-4000-8000-keycloakuser"))
            .claim("typ", json!("Bearer"))
            .claim("azp", json!(azp))
            .claim("sid", json!("mock-session"))
            .claim("acr", json!("1"))
            .claim("allowed-origins", json!(["https://app.example.test"]))
            .claim(
                "realm_access",
                json!({ "roles": ["default-roles-acme", "offline_access", "orders-admin"] }),
            )
            .claim(
                "resource_access",
                json!({ "account": { "roles": ["manage-account", "view-profile"] } }),
            )
            .claim("scope", json!("openid email profile"))
            .claim("email_verified", json!(true))
            .claim("name", json!("Alice Example"))
            .claim("preferred_username", json!("alice"))
            .claim("email", json!("alice@example.test"))
    }

    /// An Auth0 access token (the "Auth0" profile, `openid` requested) for the API `api`:
    /// `iss` [`auth0_issuer`](Self::auth0_issuer) with its slash, `aud` the array `[api,
    /// "{iss}userinfo"]`, `azp`, `scope` string, `permissions` array, no `nbf`.
    pub fn auth0_token(&self, api: &str) -> TokenBuilder {
        let issuer = self.auth0_issuer();
        self.bare_token()
            .claim("iss", json!(issuer))
            .claim("sub", json!("auth0|64f0c0ffee"))
            .claim("aud", json!([api, format!("{issuer}userinfo")]))
            .claim("azp", json!("aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"))
            .claim("scope", json!("openid profile email read:orders"))
            .claim("permissions", json!(["read:orders"]))
    }

    /// An Okta access token of the custom authorization server `server` for `audience`
    /// (`api://default` on the default server): `ver: 1`, `jti` `AT.…`, `cid`, `uid`, `scp`
    /// array, `sub` the login, `groups`; no `nbf`, no header `typ`.
    pub fn okta_token(&self, server: &str, audience: &str, cid: &str) -> TokenBuilder {
        let now = now();
        self.bare_token()
            .no_typ()
            .claim("ver", json!(1))
            .claim("jti", json!("AT.mock-jti"))
            .claim("iss", json!(self.okta_issuer(server)))
            .claim("aud", json!(audience))
            .claim("cid", json!(cid))
            .claim("uid", json!("00uabcdefg1234567"))
            .claim("scp", json!(["openid", "orders.read"]))
            .claim("auth_time", json!(now))
            .claim("sub", json!("alice@example.test"))
            .claim("groups", json!(["Everyone", "orders-admins"]))
    }
}
