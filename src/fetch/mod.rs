//! Everything that goes over the network to an identity provider, in one place: URL checks
//! (https unless loopback) and the hardened HTTP GET (timeout over the whole exchange,
//! same-origin redirects only, a body cap, retries with backoff on transient failures,
//! conditional requests, freshness from `Cache-Control`/`Expires`/`Age`, gzip and deflate
//! bodies decoded under the same cap).
//!
//! OIDC discovery (`oidc.rs`), JWKS URLs (`jwks/source.rs`) and the Cloudflare identity
//! endpoint all fetch through here, so arrows only point into this module: it knows nothing
//! of key sets, builders or verifiers.

mod client;
mod document;
mod encoding;
mod freshness;
mod post;
mod url;

pub(crate) use client::{GetFailure, HttpFetcher, default_client, no_redirect_client};
pub use document::{FetchError, Fetched, Validators};
pub(crate) use url::{check_url, redacted};
