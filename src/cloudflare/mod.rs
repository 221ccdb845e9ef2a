//! Cloudflare Access: verify the tokens Access puts in front of your application, and fetch
//! the identity behind them.
//!
//! Three lines protect an application; the [`Identity`] extractor fetches the full identity
//! only for the handlers that ask for it:
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use jwks_auth::User;
//! use jwks_auth::cloudflare::{CloudflareAccess, Identity};
//!
//! # fn app() -> Result<Router, jwks_auth::ConfigError> {
//! // Team name (or `acme.cloudflareaccess.com`), and the application's AUD tag.
//! let access = CloudflareAccess::new(
//!     "acme",
//!     "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
//! )?;
//! let app = Router::new()
//!     .route("/", get(|user: User| async move { format!("hello {:?}", user.email()) }))
//!     .route("/me", get(|id: Identity| async move { Json(id) }))
//!     .layer(access.layer());
//! # Ok(app) }
//! ```
//!
//! What the preset does:
//!
//! | | |
//! |---|---|
//! | keys | `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs` (its `keys`; `public_cert(s)` ignored), RS256 only; an unknown kid triggers a refresh |
//! | `iss` | exactly `https://<team>.cloudflareaccess.com` |
//! | `aud` | must hold the AUD tag (Cloudflare sends an array) |
//! | token | header `Cf-Access-Jwt-Assertion` first, then the `CF_Authorization` cookie |
//! | no token | 401 `{"detail":"Invalid CFA Token"}`, `WWW-Authenticate: Bearer` |
//! | bad token | 401 `{"detail":"CFA token verification failed"}`, `WWW-Authenticate: Bearer error="invalid_token", ...` |
//! | policy refusal | 403 `Bearer error="insufficient_scope"` |
//! | certs unobtainable | 503 with `Retry-After` |
//!
//! Service tokens (machine clients: `common_name` = Client ID, empty `sub`, no email) are
//! accepted and marked ([`User::is_service_token`], [`User::common_name`]); refuse them with
//! [`CloudflareAccessBuilder::refuse_service_tokens`].
//!
//! # Testing
//!
//! With the `testing` feature, [`MockIdp`](crate::testing::MockIdp) serves Cloudflare's certs
//! format and a get-identity endpoint; point the builder at it with
//! [`base_url`](CloudflareAccessBuilder::base_url) and [`issuer`](CloudflareAccessBuilder::issuer):
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use jwks_auth::cloudflare::{CloudflareAccess, Identity};
//! use jwks_auth::testing::MockIdp;
//! use tower::ServiceExt;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let idp = MockIdp::start().await;
//! let access = CloudflareAccess::builder("acme", idp.cf_aud())
//!     .base_url(idp.url())
//!     .issuer(idp.issuer())
//!     .build()?;
//! let app = Router::new()
//!     .route("/me", get(|id: Identity| async move { id.email.unwrap_or_default() }))
//!     .layer(access.layer());
//!
//! let token = idp.cf_token().claim("email", "alice@example.test".into()).sign();
//! let ok = app.clone().oneshot(
//!     Request::get("/me").header("cf-access-jwt-assertion", &token).body(Body::empty())?,
//! ).await?;
//! assert_eq!(ok.status(), StatusCode::OK);
//!
//! let refused = app.oneshot(Request::get("/me").body(Body::empty())?).await?;
//! assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(refused.headers()["www-authenticate"], "Bearer");
//! # Ok(()) }
//! ```

#[cfg(feature = "axum")]
mod extract;
mod identity;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::builder::{JwksVerifierBuilder, check_url};
use crate::clock::{Clock, SharedClock};
use crate::error::{AuthError, ConfigError};
use crate::jwks::http::{HttpFetcher, default_client};
use crate::layer::JwksAuthLayer;
use crate::response::DefaultRejection;
use crate::token::TokenSource;
use crate::user::User;
use crate::verifier::JwksVerifier;

pub use identity::{
    DevicePostureCheck, DeviceSession, Extras, Geo, Identity, IdentityError, IdentityErrorKind,
    IdentityProvider, MtlsAuth,
};

/// The body `detail` when a request carries no token (as the Starlette `CfaAuthMiddleware`).
pub const MISSING_TOKEN_DETAIL: &str = "Invalid CFA Token";
/// The body `detail` when a token fails verification (as the Starlette `CfaAuthMiddleware`).
pub const INVALID_TOKEN_DETAIL: &str = "CFA token verification failed";

/// Path of the signing keys on a team domain.
pub const CERTS_PATH: &str = "/cdn-cgi/access/certs";
/// Path of the identity endpoint on a team (or application) domain.
pub const IDENTITY_PATH: &str = "/cdn-cgi/access/get-identity";

const TEAM_DOMAIN_SUFFIX: &str = ".cloudflareaccess.com";
/// Largest identity document accepted.
const MAX_IDENTITY_BYTES: usize = 256 * 1024;

/// A Cloudflare Access application: verifies its tokens, builds its layer, fetches and caches
/// identities.
///
/// Cheap to clone (one `Arc`); build one and share it. See the [module docs](self) for what
/// the preset checks, and [`CloudflareAccessBuilder`] for the options.
#[derive(Clone)]
pub struct CloudflareAccess {
    inner: Arc<Inner>,
}

struct Inner {
    team: String,
    base_url: String,
    issuer: String,
    aud: String,
    verifier: JwksVerifier,
    identity: identity::IdentityClient,
}

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

    /// The layer protecting routes: the preset's token sources and responses (see the
    /// [module docs](self)), with this handle in the request extensions for the [`Identity`]
    /// extractor. It is a plain [`JwksAuthLayer`]: `.optional()`, `.dev_user(..)` or
    /// `.rejection(..)` still apply.
    pub fn layer(&self) -> JwksAuthLayer {
        JwksAuthLayer::new(self.inner.verifier.clone())
            .token_sources(Self::token_sources())
            .rejection(Self::rejection())
            .extension(self.clone())
    }

    /// Where the preset reads tokens: `Cf-Access-Jwt-Assertion`, then the `CF_Authorization`
    /// cookie (Cloudflare recommends the header; the cookie is not always sent).
    #[must_use]
    pub fn token_sources() -> Vec<TokenSource> {
        vec![
            TokenSource::cf_access_header(),
            TokenSource::cf_authorization_cookie(),
        ]
    }

    /// The preset's responses: [`DefaultRejection`] with the Starlette middleware's texts
    /// ([`MISSING_TOKEN_DETAIL`], [`INVALID_TOKEN_DETAIL`]).
    #[must_use]
    pub fn rejection() -> DefaultRejection {
        DefaultRejection::new()
            .missing_detail(MISSING_TOKEN_DETAIL)
            .invalid_detail(INVALID_TOKEN_DETAIL)
    }

    /// Verifies a token (a leading `Bearer ` is stripped) for code not behind the layer (a
    /// WebSocket upgrade, a background job), with the same checks and policies.
    ///
    /// # Errors
    /// An [`AuthError`]: invalid (401), refused by a policy (403), keys unavailable (503).
    pub async fn verify_user(&self, token: &str) -> Result<User, AuthError> {
        self.inner.verifier.verify(strip_bearer(token)).await
    }

    /// Verifies a token and returns its email.
    ///
    /// # Errors
    /// As [`verify_user`](Self::verify_user), and a 403 [`AuthError`] for a token without
    /// email (a service token): use `verify_user` to accept those.
    pub async fn verify_email(&self, token: &str) -> Result<String, AuthError> {
        let user = self.verify_user(token).await?;
        match user.email() {
            Some(email) if !email.is_empty() => Ok(email.to_owned()),
            _ => Err(AuthError::forbidden(
                "no email in the token (service token)",
            )),
        }
    }

    /// The identity behind a token, from `GET <base>/cdn-cgi/access/get-identity` with
    /// `Cookie: CF_Authorization=<token>`.
    ///
    /// The token is verified first (a cheap cache hit when the layer just did), so nothing
    /// unverified is ever sent or cached. Identities are cached per `identity_nonce` (per
    /// token for service tokens) until the token's `exp`, at most
    /// [`identity_cache_ttl`](CloudflareAccessBuilder::identity_cache_ttl); concurrent
    /// requests for one identity share one fetch; failures are not cached.
    ///
    /// # Errors
    /// An [`IdentityError`] whose [`kind`](IdentityError::kind) says what failed: the token
    /// (401/403), the endpoint's refusal (401), a bad answer (502), an unreachable endpoint or
    /// keys (503). Never a panic.
    pub async fn get_identity(&self, token: &str) -> Result<Arc<Identity>, IdentityError> {
        let token = strip_bearer(token);
        let user = self.verify_user(token).await?;
        self.inner.identity.get(&user, token).await
    }

    /// The identity behind a token the layer already verified into `user`: no second
    /// verification.
    #[cfg(feature = "axum")]
    pub(crate) async fn identity_of(
        &self,
        user: &User,
        token: &crate::user::VerifiedToken,
    ) -> Result<Arc<Identity>, IdentityError> {
        self.inner.identity.get(user, token.as_str()).await
    }

    /// The verifier (for `refresh()` at startup, `status()` in health checks).
    #[must_use]
    pub fn verifier(&self) -> &JwksVerifier {
        &self.inner.verifier
    }

    /// The team name, e.g. `acme`.
    #[must_use]
    pub fn team(&self) -> &str {
        &self.inner.team
    }

    /// The base URL keys and identities are fetched from (no trailing slash).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The exact `iss` required.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The application's AUD tag.
    #[must_use]
    pub fn aud(&self) -> &str {
        &self.inner.aud
    }

    /// The URL of the signing keys.
    #[must_use]
    pub fn certs_url(&self) -> String {
        format!("{}{CERTS_PATH}", self.inner.base_url)
    }

    /// The URL of the identity endpoint.
    #[must_use]
    pub fn identity_url(&self) -> &str {
        self.inner.identity.url().as_str()
    }
}

fn strip_bearer(token: &str) -> &str {
    match token.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim_start(),
        _ => token,
    }
}

impl fmt::Debug for CloudflareAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareAccess")
            .field("team", &self.inner.team)
            .field("base_url", &self.inner.base_url)
            .field("issuer", &self.inner.issuer)
            .field("aud", &self.inner.aud)
            .field("identity", &self.inner.identity)
            .finish_non_exhaustive()
    }
}

type Tune = Box<dyn FnOnce(JwksVerifierBuilder) -> JwksVerifierBuilder + Send>;

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
/// | [`http_timeout`](Self::http_timeout) / [`http_retries`](Self::http_retries) | 5 s / 2 (keys and identities) |
/// | [`identity_cache_ttl`](Self::identity_cache_ttl) | 5 min, never past the token's `exp` |
/// | [`identity_cache_capacity`](Self::identity_cache_capacity) | 10,000 |
/// | everything else | [`JwksVerifierBuilder`]'s defaults; tune with [`verifier_options`](Self::verifier_options) |
///
/// Policy refusals are 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
#[must_use]
pub struct CloudflareAccessBuilder {
    team: String,
    aud: String,
    base_url: Option<String>,
    issuer: Option<String>,
    require_app_token: bool,
    refuse_service_tokens: bool,
    emails: Vec<String>,
    email_domains: Vec<String>,
    service_tokens: Vec<String>,
    http_client: Option<reqwest::Client>,
    http_timeout: Duration,
    http_retries: u32,
    identity_cache_ttl: Duration,
    identity_cache_capacity: u64,
    clock: Option<SharedClock>,
    tunes: Vec<Tune>,
}

impl CloudflareAccessBuilder {
    fn new(team: String, aud: String) -> Self {
        Self {
            team,
            aud,
            base_url: None,
            issuer: None,
            require_app_token: false,
            refuse_service_tokens: false,
            emails: Vec::new(),
            email_domains: Vec::new(),
            service_tokens: Vec::new(),
            http_client: None,
            http_timeout: Duration::from_secs(5),
            http_retries: 2,
            identity_cache_ttl: Duration::from_secs(5 * 60),
            identity_cache_capacity: 10_000,
            clock: None,
            tunes: Vec::new(),
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
        self.require_app_token = true;
        self
    }

    /// Refuse service tokens ([`User::is_service_token`]) with 403: people only.
    pub fn refuse_service_tokens(mut self) -> Self {
        self.refuse_service_tokens = true;
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
        self.emails.extend(emails.into_iter().map(Into::into));
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
        self.email_domains
            .extend(domains.into_iter().map(Into::into));
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
        self.service_tokens
            .extend(client_ids.into_iter().map(Into::into));
        self
    }

    /// Your own HTTP client (proxies, private CAs), for keys and identities.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Time allowed for one complete fetch of keys or of an identity (default 5 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Retries after a connection error, timeout or 5xx (default 2).
    pub fn http_retries(mut self, retries: u32) -> Self {
        self.http_retries = retries;
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

    /// The clock for `exp`/`nbf` and identity lifetimes (default: system time).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(SharedClock(Arc::new(clock)));
        self
    }

    /// Tunes the underlying [`JwksVerifierBuilder`] (cache TTL, cooldown, leeway, token cache,
    /// ...). The preset's key URL, issuer, audience and algorithm are applied after it, so they
    /// cannot be changed here (an extra `.audience(..)` adds one).
    pub fn verifier_options(
        mut self,
        tune: impl FnOnce(JwksVerifierBuilder) -> JwksVerifierBuilder + Send + 'static,
    ) -> Self {
        self.tunes.push(Box::new(tune));
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
        let policy = Policies::new(&self)?;
        if self.http_timeout.is_zero() {
            return Err(ConfigError::new("http_timeout must be positive"));
        }
        let client = match self.http_client {
            Some(client) => client,
            None => default_client()
                .map_err(|e| ConfigError::new(format!("cannot build the HTTP client: {e}")))?,
        };
        let clock = self.clock.unwrap_or_default();

        let mut builder = JwksVerifier::builder()
            .http_client(client.clone())
            .http_timeout(self.http_timeout)
            .http_retries(self.http_retries)
            .clock(ClockRef(clock.clone()));
        for tune in self.tunes {
            builder = tune(builder);
        }
        let mut builder = builder
            .jwks_url(format!("{base_url}{CERTS_PATH}"))
            .issuer(issuer.clone())
            .audience(aud.clone())
            .algorithms(Algorithm::RS256);
        for check in policy.checks() {
            builder = builder.claims_check(check);
        }
        let verifier = builder.build()?;

        let identity_url = check_url(&format!("{base_url}{IDENTITY_PATH}"), false, "base_url")?;
        let http = HttpFetcher {
            client,
            timeout: self.http_timeout,
            max_body: MAX_IDENTITY_BYTES,
            retries: self.http_retries,
        };
        let identity = identity::IdentityClient::new(
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
}

impl fmt::Debug for CloudflareAccessBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareAccessBuilder")
            .field("team", &self.team)
            .field("aud", &self.aud)
            .field("base_url", &self.base_url)
            .field("issuer", &self.issuer)
            .field("require_app_token", &self.require_app_token)
            .field("refuse_service_tokens", &self.refuse_service_tokens)
            .field("emails", &self.emails)
            .field("email_domains", &self.email_domains)
            .field("service_tokens", &self.service_tokens)
            .field("verifier_options", &self.tunes.len())
            .finish_non_exhaustive()
    }
}

/// Passes the shared clock to the verifier builder (which takes an `impl Clock`).
struct ClockRef(SharedClock);

impl Clock for ClockRef {
    fn now_millis(&self) -> i64 {
        self.0.now_millis()
    }
}

type Check = Box<dyn Fn(&User) -> Result<(), &'static str> + Send + Sync>;

/// The configured policies, checked and normalised.
struct Policies {
    require_app_token: bool,
    refuse_service_tokens: bool,
    allow: Option<AllowList>,
}

struct AllowList {
    emails: Vec<String>,
    domains: Vec<String>,
    service_tokens: Vec<String>,
}

impl Policies {
    fn new(b: &CloudflareAccessBuilder) -> Result<Self, ConfigError> {
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

    fn checks(self) -> Vec<Check> {
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
    fn check(&self, user: &User) -> Result<(), &'static str> {
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

/// A team name, from `acme`, `acme.cloudflareaccess.com` or `https://acme.cloudflareaccess.com`.
fn parse_team(input: &str) -> Result<String, ConfigError> {
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
fn parse_aud(input: &str) -> Result<String, ConfigError> {
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
fn parse_base_url(input: &str) -> Result<String, ConfigError> {
    let url = check_url(input.trim(), false, "base_url")?;
    if url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(ConfigError::new(format!(
            "base_url: `{input}` must be a plain base URL such as `https://auth.example.com`"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
