//! The issuer side: key stores, a rotating token signer, JWKS publishing, failover.
//!
//! Available with the `issuer` feature (off by default; `testing` turns it on), with either
//! verification backend: keys are generated, and random bytes and HKDF computed, with
//! aws-lc-rs. The router ([`JwksPublisher`]) also needs the `axum` feature.
//!
//! ```
//! use jwks_auth::issuer::{KeyKind, KeyRing, MemoryStore, MintOptions, RotatingSigner};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let signer = RotatingSigner::builder()
//!     .key_ring(KeyRing::new(MemoryStore::new()))
//!     .key_id("api-signing")
//!     .key_kind(KeyKind::EcP256) // ES256, fixed: never taken from a request
//!     .issuer("https://auth.example.com")
//!     .audience("orders-api")
//!     .max_tokens_per_key(10_000)
//!     .build()?;
//!
//! let token = signer.mint(&MintOptions::new().subject("alice").scope("orders:read"))?;
//!
//! // Verify locally: the signer is a key source (its current and retained public keys).
//! let verifier = signer.verifier_builder().audience("orders-api").build()?;
//! let user = verifier.verify(&token).await?;
//! assert_eq!(user.sub(), Some("alice"));
//!
//! // Rotation: the old version stays verifiable for the retention window (24 h by default).
//! let old_kid = signer.current_kid();
//! let new_kid = signer.force_rotate()?;
//! assert_eq!(new_kid.version(), old_kid.version() + 1);
//! assert!(signer.accepts_kid(&old_kid.to_string()));
//! # Ok(()) }
//! ```
//!
//! # Pieces
//!
//! - [`KeyRing`]: versioned keys (`kid = base.version`): create, import (PEM or JWK),
//!   rotate, destroy, public JWKs, JWKS export. Secrets leave it only under an explicit
//!   [`ExportPolicy`].
//! - [`KeyStore`]: where a ring keeps its [`KeyRecord`]s (load, save, list; nothing else).
//!   Implementations: [`MemoryStore`], [`FileStore`] (survives restarts), [`MirroredStore`]
//!   (a primary mirrored to a secondary, with read failover and tombstones honoured).
//! - [`KeyMaterial`]: generate ([`KeyKind`]: RSA 2048/3072/4096, EC P-256/P-384, Ed25519,
//!   HMAC), import, export as JWK, [`encoding_key`](KeyMaterial::encoding_key).
//! - [`RotatingSigner`]: mints JWTs, rotates by age and/or count, publishes current and
//!   retained versions ([`RotatingSigner::key_source`]); [`LocalVerifier`] enforces the
//!   retention window at verify time.
//! - [`JwksPublisher`]: `/.well-known/jwks.json` and `/.well-known/openid-configuration`.
//! - [`StoreKeys`], [`FailoverSource`]: key sources over a whole store, and over two sources
//!   (failover, or a merged set where the primary wins on `kid`).
//! - [`random_bytes`], [`hkdf`].
//!
//! # Security decisions
//!
//! - The signing algorithm is fixed by configuration, and each key is pinned to one
//!   algorithm, published as its JWK's `alg`.
//! - Kids are resolved exactly: `base.7` is version 7 or nothing. Only a bare `base` (a kid
//!   naming no version) resolves to the newest version ([`KeyRing::resolve`]). Version
//!   numbers are never reused, even after a destroy.
//! - Retention: a version retires when its successor is created and stays published for
//!   `retention`. The signer refuses a configuration where `token_lifetime +
//!   leeway_allowance >= retention`, and a mint whose lifetime breaks the same rule, so a
//!   token always expires before its key's window closes - even for a verifier that cached
//!   the set. [`LocalVerifier`] additionally refuses a closed version at verify time.
//! - HMAC keys are never published. Secrets never appear in `Debug` output or logs.

mod der;
mod error;
#[cfg(unix)]
mod file_store;
mod kdf;
mod keyring;
mod keys;
mod kid;
mod kind;
mod local;
mod mirror;
#[cfg(feature = "axum")]
mod publish;
mod published;
pub(crate) mod raw_signer;
mod signer;
mod signer_builder;
mod signing;
mod source;
mod store;

pub use error::IssuerError;
#[cfg(unix)]
pub use file_store::FileStore;
pub use kdf::{HkdfHash, hkdf, random_bytes};
pub use keyring::{KeyRing, MemoryStore};
pub use keys::{KeyMaterial, PublicKey};
pub use kid::{KeyId, KeyRef, MAX_BASE_KID_LEN};
pub use kind::KeyKind;
pub use local::LocalVerifier;
pub use mirror::{MirrorMode, MirroredStore};
#[cfg(feature = "axum")]
pub use publish::{DISCOVERY_PATH, JWKS_PATH, JwksPublisher};
pub use published::SignerKeys;
pub use signer::{MintOptions, RotatingSigner};
pub use signer_builder::RotatingSignerBuilder;
pub use signing::SigningKey;
pub use source::{FailoverSource, StoreKeys};
pub use store::{ExportPolicy, KeyInfo, KeyRecord, KeySpec, KeyStore, StoredKey, StoredMaterial};
