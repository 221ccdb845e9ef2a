//! [`KeyKind`]: the type and size of a key, and the algorithms it fits.

use std::fmt;

use crate::algorithms::Algorithm;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaSigningAlgorithm,
};

/// The type and size of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA, 2048-bit modulus (RS256/384/512, PS256/384/512).
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// RSA, 4096-bit modulus.
    Rsa4096,
    /// ECDSA on P-256 (ES256).
    EcP256,
    /// ECDSA on P-384 (ES384).
    EcP384,
    /// ECDSA on P-521 (ES512). Signed with aws-lc-rs directly (jsonwebtoken has no ES512).
    EcP521,
    /// Ed25519 (EdDSA).
    Ed25519,
    /// A 256-bit HMAC secret (HS256). Symmetric: never published.
    Hmac256,
    /// A 384-bit HMAC secret (HS384).
    Hmac384,
    /// A 512-bit HMAC secret (HS512).
    Hmac512,
}

impl KeyKind {
    /// Every kind, for tests and tables.
    pub const ALL: [Self; 10] = [
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::EcP256,
        Self::EcP384,
        Self::EcP521,
        Self::Ed25519,
        Self::Hmac256,
        Self::Hmac384,
        Self::Hmac512,
    ];

    /// The algorithm a key of this kind signs with unless configured otherwise.
    #[must_use]
    pub fn default_algorithm(self) -> Algorithm {
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => Algorithm::RS256,
            Self::EcP256 => Algorithm::ES256,
            Self::EcP384 => Algorithm::ES384,
            Self::EcP521 => Algorithm::ES512,
            Self::Ed25519 => Algorithm::EdDSA,
            Self::Hmac256 => Algorithm::HS256,
            Self::Hmac384 => Algorithm::HS384,
            Self::Hmac512 => Algorithm::HS512,
        }
    }

    /// Whether a key of this kind can sign with `alg`. RSA keys take any RS/PS algorithm;
    /// every other kind exactly one (an HMAC secret is as long as its hash).
    #[must_use]
    pub fn supports(self, alg: Algorithm) -> bool {
        use Algorithm::{PS256, PS384, PS512, RS256, RS384, RS512};
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => {
                matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
            }
            _ => alg == self.default_algorithm(),
        }
    }

    /// Whether this is an HMAC secret (no public half; never published).
    #[must_use]
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::Hmac256 | Self::Hmac384 | Self::Hmac512)
    }

    /// A kind able to sign with `alg` (RSA: 2048 bits).
    #[must_use]
    pub fn for_algorithm(alg: Algorithm) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.supports(alg))
    }

    /// The name used in key files (`RSA-2048`, `EC-P256`, `EC-P521`, `Ed25519`, `HMAC-256`,
    /// ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "RSA-2048",
            Self::Rsa3072 => "RSA-3072",
            Self::Rsa4096 => "RSA-4096",
            Self::EcP256 => "EC-P256",
            Self::EcP384 => "EC-P384",
            Self::EcP521 => "EC-P521",
            Self::Ed25519 => "Ed25519",
            Self::Hmac256 => "HMAC-256",
            Self::Hmac384 => "HMAC-384",
            Self::Hmac512 => "HMAC-512",
        }
    }

    /// The kind named `name` (see [`KeyKind::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub(super) fn rsa_bits(self) -> Option<usize> {
        match self {
            Self::Rsa2048 => Some(2048),
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    pub(super) fn hmac_len(self) -> Option<usize> {
        match self {
            Self::Hmac256 => Some(32),
            Self::Hmac384 => Some(48),
            Self::Hmac512 => Some(64),
            _ => None,
        }
    }

    pub(super) fn ec(self) -> Option<(&'static EcdsaSigningAlgorithm, &'static str, usize)> {
        match self {
            Self::EcP256 => Some((&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32)),
            Self::EcP384 => Some((&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48)),
            Self::EcP521 => Some((&ECDSA_P521_SHA512_FIXED_SIGNING, "P-521", 66)),
            _ => None,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
