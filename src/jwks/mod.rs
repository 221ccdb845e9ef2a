//! Key sets: parsing and selection, sources, the cache and its refresh, HTTP fetching.

pub(crate) mod cache;
pub(crate) mod http;
pub(crate) mod keyset;
pub(crate) mod source;

pub use cache::CacheStatus;
pub use keyset::{KeySet, KeySetError, MAX_KEYS, MIN_RSA_BITS};
pub use source::{BoxFuture, FetchError, Fetched, KeySource, Validators};
