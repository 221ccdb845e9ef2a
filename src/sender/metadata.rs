//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the JSON document that tells clients
//! which authorization servers issue tokens for this resource and how to present them, served
//! at `/.well-known/oauth-protected-resource`.

use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use super::dpop::{Dpop, DpopMode};
use crate::error::ConfigError;

/// The well-known path suffix (RFC 9728 section 3).
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// A protected resource's metadata (RFC 9728 section 2), built by
/// [`ProtectedResourceMetadata::builder`].
///
/// ```
/// use jwks_auth::sender::{Dpop, HtuOrigin, ProtectedResourceMetadata};
/// # fn main() -> Result<(), jwks_auth::ConfigError> {
/// let dpop = Dpop::allowed(HtuOrigin::fixed("https://api.example.com")).build()?;
/// let metadata = ProtectedResourceMetadata::builder("https://api.example.com")
///     .authorization_server("https://idp.example.com")
///     .scopes_supported(["orders:read", "orders:write"])
///     .dpop(&dpop)
///     .resource_documentation("https://api.example.com/docs")
///     .build()?;
/// assert_eq!(
///     metadata.well_known_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource"
/// );
/// let json = metadata.to_json();
/// assert_eq!(json["authorization_servers"][0], "https://idp.example.com");
/// assert_eq!(json["dpop_bound_access_tokens_required"], false);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_client_certificate_bound_access_tokens: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dpop_signing_alg_values_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_bound_access_tokens_required: Option<bool>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// Builder of [`ProtectedResourceMetadata`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ProtectedResourceMetadataBuilder {
    metadata: ProtectedResourceMetadata,
}

impl ProtectedResourceMetadata {
    /// Metadata for the resource identified by `resource` (an https URL without fragment;
    /// http only for a loopback host). `bearer_methods_supported` starts as `["header"]`,
    /// what the layer's default token sources read.
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadataBuilder {
            metadata: Self {
                resource: resource.into(),
                authorization_servers: Vec::new(),
                scopes_supported: Vec::new(),
                bearer_methods_supported: vec!["header".to_owned()],
                resource_name: None,
                resource_documentation: None,
                tls_client_certificate_bound_access_tokens: None,
                dpop_signing_alg_values_supported: Vec::new(),
                dpop_bound_access_tokens_required: None,
                other: Map::new(),
            },
        }
    }

    /// The document.
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The path the document is served at: `/.well-known/oauth-protected-resource`, followed
    /// by the resource's path when it has one (RFC 9728 section 3.1).
    #[must_use]
    pub fn well_known_path(&self) -> String {
        let path = Url::parse(&self.resource)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{WELL_KNOWN}{path}")
    }

    /// The document's URL: what [`JwksAuthLayer::resource_metadata`] puts in challenges. A
    /// resource's query follows the path (RFC 9728 section 3.1), so that a client that derives
    /// this URL from the resource identifier gets the same one.
    ///
    /// [`JwksAuthLayer::resource_metadata`]: crate::JwksAuthLayer::resource_metadata
    #[must_use]
    pub fn well_known_url(&self) -> String {
        let Ok(url) = Url::parse(&self.resource) else {
            return self.well_known_path();
        };
        let origin = url.origin().ascii_serialization();
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        format!("{origin}{}{query}", self.well_known_path())
    }

    /// A router answering `GET` at [`well_known_path`](Self::well_known_path) with the
    /// document (`application/json`). Merge it into the application outside the
    /// authentication layer: the document is public.
    #[cfg(feature = "axum")]
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        let body = std::sync::Arc::new(self.to_json());
        axum::Router::new().route(
            &self.well_known_path(),
            axum::routing::get(move || {
                let body = std::sync::Arc::clone(&body);
                async move { axum::Json((*body).clone()) }
            }),
        )
    }
}

impl ProtectedResourceMetadataBuilder {
    /// Adds an authorization server (its issuer identifier) whose tokens this resource takes.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.metadata.authorization_servers.push(issuer.into());
        self
    }

    /// The scopes the resource uses (`scopes_supported`).
    pub fn scopes_supported<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.metadata.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How tokens may be sent: `header`, `body`, `query` (default `["header"]`).
    pub fn bearer_methods_supported<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        methods: I,
    ) -> Self {
        self.metadata.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// A human-readable name (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.metadata.resource_name = Some(name.into());
        self
    }

    /// A URL of developer documentation (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.metadata.resource_documentation = Some(url.into());
        self
    }

    /// `dpop_signing_alg_values_supported` and `dpop_bound_access_tokens_required` from the
    /// layer's DPoP configuration.
    pub fn dpop(mut self, dpop: &Dpop) -> Self {
        self.metadata.dpop_signing_alg_values_supported = dpop
            .algorithms()
            .iter()
            .map(|alg| alg.as_str().to_owned())
            .collect();
        self.metadata.dpop_bound_access_tokens_required = Some(dpop.mode() == DpopMode::Required);
        self
    }

    /// `tls_client_certificate_bound_access_tokens` (RFC 8705): whether the resource
    /// supports certificate-bound tokens (it does whenever the TLS server inserts a
    /// [`ClientCertificate`](super::ClientCertificate)).
    pub fn tls_client_certificate_bound_access_tokens(mut self, supported: bool) -> Self {
        self.metadata.tls_client_certificate_bound_access_tokens = Some(supported);
        self
    }

    /// Any other member (`jwks_uri`, `resource_policy_uri`, an extension, ...). Members this
    /// builder has a method for are written by that method, not here.
    pub fn member(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.other.insert(name.into(), value.into());
        self
    }

    /// The metadata.
    ///
    /// # Errors
    /// A resource or authorization server that is not an https URL (http only for loopback
    /// hosts), or has a fragment; a [`member`](Self::member) that one of the builder's
    /// methods writes.
    pub fn build(self) -> Result<ProtectedResourceMetadata, ConfigError> {
        let m = self.metadata;
        check_url("resource", &m.resource)?;
        for server in &m.authorization_servers {
            check_url("authorization_server", server)?;
        }
        let typed = serde_json::to_value(ProtectedResourceMetadata {
            other: Map::new(),
            ..m.clone()
        })
        .unwrap_or(Value::Null);
        if let Some(name) = m
            .other
            .keys()
            .find(|name| typed.get(name.as_str()).is_some())
        {
            return Err(ConfigError::new(format!(
                "ProtectedResourceMetadata member {name:?}: set it with its builder method"
            )));
        }
        Ok(m)
    }
}

fn check_url(what: &str, text: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| {
        ConfigError::new(format!(
            "ProtectedResourceMetadata {what} {text:?}: {why}; give an https URL such as \
             \"https://api.example.com\""
        ))
    };
    let url = Url::parse(text).map_err(|_| bad("not a URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(bad(
                "the scheme must be https (http only on a loopback host)",
            ));
        }
    }
    if url.fragment().is_some() {
        return Err(bad("no fragment allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_with_a_path_get_it_after_the_well_known_suffix() {
        let m = ProtectedResourceMetadata::builder("https://api.example.com/v1/")
            .build()
            .expect("valid");
        assert_eq!(
            m.well_known_path(),
            "/.well-known/oauth-protected-resource/v1"
        );
        assert_eq!(
            m.well_known_url(),
            "https://api.example.com/.well-known/oauth-protected-resource/v1"
        );
        assert_eq!(m.to_json()["bearer_methods_supported"][0], "header");
        let with_query = ProtectedResourceMetadata::builder("https://api.example.com/v1?t=a")
            .build()
            .expect("valid");
        assert_eq!(
            with_query.well_known_path(),
            "/.well-known/oauth-protected-resource/v1"
        );
        assert_eq!(
            with_query.well_known_url(),
            "https://api.example.com/.well-known/oauth-protected-resource/v1?t=a"
        );
        assert!(
            m.to_json()
                .get("dpop_signing_alg_values_supported")
                .is_none()
        );
    }

    #[test]
    fn bad_urls_and_shadowing_members_are_config_errors() {
        for bad in [
            "api.example.com",
            "http://api.example.com",
            "https://api.example.com#x",
            "ftp://x",
        ] {
            assert!(
                ProtectedResourceMetadata::builder(bad).build().is_err(),
                "{bad}"
            );
        }
        assert!(
            ProtectedResourceMetadata::builder("http://127.0.0.1:8080")
                .build()
                .is_ok()
        );
        assert!(
            ProtectedResourceMetadata::builder("http://localhost")
                .build()
                .is_ok()
        );
        let shadow = ProtectedResourceMetadata::builder("https://a.example")
            .member("resource", "https://b.example")
            .build();
        assert!(shadow.is_err());
        let extra = ProtectedResourceMetadata::builder("https://a.example")
            .member("resource_policy_uri", "https://a.example/policy")
            .build()
            .expect("valid");
        assert_eq!(
            extra.to_json()["resource_policy_uri"],
            "https://a.example/policy"
        );
    }
}
