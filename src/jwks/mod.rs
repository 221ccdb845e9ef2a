//! Key sets: parsing and selection, sources, the cache and its refresh.
//!
//! Fetching over HTTP lives in the crate's `fetch` module, shared with OIDC discovery; the
//! public fetch types ([`Fetched`], [`Validators`], [`FetchError`]) are re-exported here for
//! custom [`KeySource`]s.

pub(crate) mod cache;
mod flight;
pub(crate) mod keyset;
pub(crate) mod kid;
mod schedule;
pub(crate) mod source;
mod status;

// Transitional: `cloudflare/` still imports the HTTP fetcher as `crate::jwks::http`; remove
// this alias once it imports `crate::fetch` directly.
pub(crate) use crate::fetch as http;

pub use keyset::{KeySet, KeySetError, MAX_KEYS, MAX_KEYS_PER_KID, MIN_RSA_BITS};
pub use source::{BoxFuture, FetchError, FetchFuture, Fetched, KeySource, Validators};
pub use status::CacheStatus;
