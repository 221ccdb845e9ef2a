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

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

/// The pool slot that no mock ever publishes.
pub(crate) const FOREIGN_SLOT: u32 = 0;

/// A private signing key plus the public members needed to publish it.
pub(crate) struct KeyMaterial {
    /// The key in the form `jsonwebtoken::crypto::sign` expects
    /// (PKCS#1 DER for RSA, PKCS#8 DER for EC and Ed25519).
    pub(crate) encoding: EncodingKey,
    public: PublicParts,
}

enum PublicParts {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        spki_der: Vec<u8>,
    },
    Ec {
        crv: &'static str,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Okp {
        x: Vec<u8>,
    },
}

impl KeyMaterial {
    /// The public JWK for this key, published as `alg` under `kid`.
    pub(crate) fn jwk(&self, alg: Algorithm, kid: &str) -> Value {
        let mut jwk = match &self.public {
            PublicParts::Rsa { n, e, .. } => {
                json!({ "kty": "RSA", "n": b64url(n), "e": b64url(e) })
            }
            PublicParts::Ec { crv, x, y } => {
                json!({ "kty": "EC", "crv": crv, "x": b64url(x), "y": b64url(y) })
            }
            PublicParts::Okp { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64url(x) }),
        };
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg);
        jwk["use"] = json!("sig");
        jwk
    }

    /// The RSA public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) document.
    pub(crate) fn rsa_public_pem(&self) -> Option<String> {
        match &self.public {
            PublicParts::Rsa { spki_der, .. } => Some(pem("PUBLIC KEY", spki_der)),
            PublicParts::Ec { .. } | PublicParts::Okp { .. } => None,
        }
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
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => generate_rsa(),
        Algorithm::ES256 => generate_ec(&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256"),
        Algorithm::ES384 => generate_ec(&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384"),
        Algorithm::EdDSA => generate_ed25519(),
        other => panic!("the mock identity provider has no key pairs for {other:?}"),
    }
}

fn generate_rsa() -> KeyMaterial {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 key generation");
    let pkcs8 = pair.as_der().expect("serialize a fresh RSA key as PKCS#8");
    // jsonwebtoken wants PKCS#1 for RSA; its PEM reader unwraps PKCS#8 for us.
    let encoding = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes())
        .expect("jsonwebtoken reads a freshly generated PKCS#8 RSA key");
    let public = pair.public_key();
    KeyMaterial {
        encoding,
        public: PublicParts::Rsa {
            n: public.modulus().big_endian_without_leading_zero().to_vec(),
            e: public.exponent().big_endian_without_leading_zero().to_vec(),
            spki_der: public
                .as_der()
                .expect("serialize a fresh RSA public key")
                .as_ref()
                .to_vec(),
        },
    }
}

fn generate_ec(
    signing: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
    crv: &'static str,
) -> KeyMaterial {
    let pair = EcdsaKeyPair::generate(signing).expect("EC key generation");
    let pkcs8 = pair
        .to_pkcs8v1()
        .expect("serialize a fresh EC key as PKCS#8");
    // Uncompressed SEC1 point: 0x04 || x || y, both coordinates the same length.
    let point = pair.public_key().as_ref();
    let coords = &point[1..];
    let (x, y) = coords.split_at(coords.len() / 2);
    KeyMaterial {
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        public: PublicParts::Ec {
            crv,
            x: x.to_vec(),
            y: y.to_vec(),
        },
    }
}

fn generate_ed25519() -> KeyMaterial {
    let pair = Ed25519KeyPair::generate().expect("Ed25519 key generation");
    // PKCS#8 v1 (no embedded public key): the form jsonwebtoken expects.
    let pkcs8 = pair
        .to_pkcs8v1()
        .expect("serialize a fresh Ed25519 key as PKCS#8");
    KeyMaterial {
        encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
        public: PublicParts::Okp {
            x: pair.public_key().as_ref().to_vec(),
        },
    }
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
