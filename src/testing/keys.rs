//! Process-wide pool of generated signing keys.
//!
//! Generating a 2048-bit RSA key takes a noticeable fraction of a second, and
//! test suites start many mock identity providers in one process. Keys are
//! therefore generated once per `(algorithm, slot)` and shared: mock N's
//! `rs256-1` and mock M's `rs256-1` use the same key material. Slot `0` is
//! never published by any mock; [`foreign_token`](super::foreign_token) signs
//! with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::algorithms::Algorithm;
use serde_json::Value;

use crate::issuer::raw_signer::RawSigner;
use crate::issuer::{KeyKind, KeyMaterial as IssuerKey};

/// The pool slot that no mock ever publishes.
pub(crate) const FOREIGN_SLOT: u32 = 0;

/// A key of the issuer side's key material, with its signing form prepared once.
///
/// The mock generates and publishes keys exactly as `jwks_auth::issuer` does: one
/// implementation of key generation and JWK export, not two.
pub(crate) struct KeyMaterial {
    /// The key's signing form (jsonwebtoken's, or aws-lc-rs's for ES512).
    pub(crate) signer: RawSigner,
    key: IssuerKey,
}

impl KeyMaterial {
    /// The public JWK for this key, published as `alg` under `kid` (with `use: sig`).
    ///
    /// # Panics
    ///
    /// If `alg` does not fit the key (the pool only pairs keys with their algorithm).
    pub(crate) fn jwk(&self, alg: Algorithm, kid: &str) -> Value {
        self.key
            .to_public_jwk(kid, alg)
            .expect("pooled keys are generated for their algorithm")
    }

    /// The RSA public key as a SubjectPublicKeyInfo DER (providers' `x5c` stand-in).
    pub(crate) fn rsa_public_der(&self) -> Option<Vec<u8>> {
        self.key.rsa_spki_der()
    }

    /// The RSA public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) document.
    pub(crate) fn rsa_public_pem(&self) -> Option<String> {
        self.key
            .rsa_spki_der()
            .map(|der| crate::encoding::pem("PUBLIC KEY", &der))
    }
}

/// The lowercase prefix used in kids (`rs256-1`), or `None` for algorithms the
/// mock does not publish keys for (HMAC).
pub(crate) fn alg_slug(alg: Algorithm) -> Option<&'static str> {
    Some(match alg {
        Algorithm::RS256 => "rs256",
        Algorithm::RS384 => "rs384",
        Algorithm::RS512 => "rs512",
        Algorithm::PS256 => "ps256",
        Algorithm::PS384 => "ps384",
        Algorithm::PS512 => "ps512",
        Algorithm::ES256 => "es256",
        Algorithm::ES384 => "es384",
        Algorithm::ES512 => "es512",
        Algorithm::EdDSA => "eddsa",
        _ => return None,
    })
}

type Cell = Arc<OnceLock<Arc<KeyMaterial>>>;

fn pool() -> &'static Mutex<HashMap<(Algorithm, u32), Cell>> {
    static POOL: OnceLock<Mutex<HashMap<(Algorithm, u32), Cell>>> = OnceLock::new();
    POOL.get_or_init(Mutex::default)
}

fn cell(alg: Algorithm, slot: u32) -> Cell {
    let mut map = pool().lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(map.entry((alg, slot)).or_default())
}

/// The pooled key for `(alg, slot)`, generating it on first use.
///
/// # Panics
///
/// If `alg` is not an asymmetric algorithm the mock supports (see [`alg_slug`]).
pub(crate) fn pooled(alg: Algorithm, slot: u32) -> Arc<KeyMaterial> {
    // The map lock is only held to find the cell; generation happens outside
    // it, so different keys can be generated concurrently.
    let cell = cell(alg, slot);
    Arc::clone(cell.get_or_init(|| Arc::new(generate(alg))))
}

/// Fetches several pooled keys, generating the missing ones in parallel.
pub(crate) fn pooled_many(wanted: &[(Algorithm, u32)]) -> Vec<Arc<KeyMaterial>> {
    let cells: Vec<Cell> = wanted.iter().map(|&(alg, slot)| cell(alg, slot)).collect();
    let missing = cells.iter().filter(|c| c.get().is_none()).count();
    if missing > 1 {
        std::thread::scope(|scope| {
            for (cell, &(alg, _)) in cells.iter().zip(wanted) {
                if cell.get().is_none() {
                    scope.spawn(move || cell.get_or_init(|| Arc::new(generate(alg))));
                }
            }
        });
    }
    cells
        .iter()
        .zip(wanted)
        .map(|(cell, &(alg, _))| Arc::clone(cell.get_or_init(|| Arc::new(generate(alg)))))
        .collect()
}

fn generate(alg: Algorithm) -> KeyMaterial {
    let kind = KeyKind::for_algorithm(alg)
        .filter(|kind| !kind.is_symmetric())
        .unwrap_or_else(|| panic!("the mock identity provider has no key pairs for {alg:?}"));
    let key = IssuerKey::generate(kind).expect("key generation with aws-lc-rs");
    KeyMaterial {
        signer: key.signer().expect("a generated key has a signing form"),
        key,
    }
}

#[cfg(test)]
pub(crate) use crate::encoding::b64url;
