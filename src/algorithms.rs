//! [`Algorithm`]: the JWS algorithms of RFC 7518 (and RFC 8037's EdDSA) this crate verifies,
//! and [`Algorithms`]: a small set of them, cheap to copy and test.
//!
//! The crate has its own algorithm type rather than jsonwebtoken's because jsonwebtoken has no
//! ES512: every algorithm a real provider signs with must have a name here, whichever library
//! verifies it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JWS signature algorithm, named as in RFC 7518 section 3.1 (`EdDSA`: RFC 8037).
///
/// Its [`Display`](fmt::Display), [`FromStr`] and serde forms are the exact JOSE name
/// (`"RS256"`, `"EdDSA"`, ...); names are case-sensitive (RFC 7515 section 4.1.1), so `rs256`
/// and `none` are not algorithms.
///
/// ```
/// use jwks_auth::Algorithm;
/// let alg: Algorithm = "ES512".parse().unwrap();
/// assert_eq!(alg, Algorithm::ES512);
/// assert_eq!(alg.to_string(), "ES512");
/// assert!("es512".parse::<Algorithm>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256 (signature: `r || s`, 64 bytes).
    ES256,
    /// ECDSA on P-384 with SHA-384 (signature: `r || s`, 96 bytes).
    ES384,
    /// ECDSA on P-521 with SHA-512 (signature: `r || s`, 132 bytes; RFC 7518 section 3.4).
    ES512,
    /// EdDSA with Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every algorithm, in a fixed order (HMAC, RSA, RSA-PSS, ECDSA, EdDSA).
    pub const ALL: [Self; 13] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::EdDSA,
    ];

    /// The JOSE name (`"RS256"`, `"EdDSA"`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The same algorithm in jsonwebtoken's type, which verifies (and, on the issuer side,
    /// signs) everything but ES512; `None` for ES512, which [`crate::crypto`] handles.
    pub(crate) const fn to_jsonwebtoken(self) -> Option<jsonwebtoken::Algorithm> {
        use jsonwebtoken::Algorithm as J;
        Some(match self {
            Self::HS256 => J::HS256,
            Self::HS384 => J::HS384,
            Self::HS512 => J::HS512,
            Self::RS256 => J::RS256,
            Self::RS384 => J::RS384,
            Self::RS512 => J::RS512,
            Self::PS256 => J::PS256,
            Self::PS384 => J::PS384,
            Self::PS512 => J::PS512,
            Self::ES256 => J::ES256,
            Self::ES384 => J::ES384,
            Self::EdDSA => J::EdDSA,
            Self::ES512 => return None,
        })
    }

    /// Bit of this algorithm in an [`Algorithms`] set.
    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not the exact JOSE name of an [`Algorithm`] (its text is not kept: it
/// usually comes from an untrusted token header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseAlgorithmError;

impl fmt::Display for ParseAlgorithmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a supported JWS algorithm name")
    }
}

impl std::error::Error for ParseAlgorithmError {}

impl FromStr for Algorithm {
    type Err = ParseAlgorithmError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or(ParseAlgorithmError)
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        name.parse()
            .map_err(|_| serde::de::Error::custom("unsupported JWS algorithm"))
    }
}

/// A set of JWS algorithms.
///
/// The default verification set is every asymmetric algorithm: RS256/384/512, PS256/384/512,
/// ES256/384/512 and EdDSA. Each key is further pinned to the algorithms its JWK names (or, without
/// `alg`, those its key type and curve fit), so a token can never pick an algorithm the key was
/// not meant for.
///
/// ```
/// use jwks_auth::{Algorithm, Algorithms};
/// let set = Algorithms::from_iter([Algorithm::RS256, Algorithm::ES256]);
/// assert!(set.contains(Algorithm::ES256));
/// assert!(!set.contains(Algorithm::HS256));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Algorithms(u16);

/// Every asymmetric algorithm, in a fixed order: the default verification set
/// ([`Algorithms::ASYMMETRIC`]) and the list the mock IdP publishes one key for
/// (`testing::ALGORITHMS`). The one place the list is written.
pub(crate) const ASYMMETRIC_ALGORITHMS: [Algorithm; 10] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
];

/// The set of the algorithms in `list`, at compile time.
const fn set_of(list: &[Algorithm]) -> Algorithms {
    let mut bits = 0;
    let mut i = 0;
    while i < list.len() {
        bits |= list[i].bit();
        i += 1;
    }
    Algorithms(bits)
}

impl Algorithms {
    /// The RSA algorithms (RS* and PS*).
    pub const RSA: Self = Self(
        Algorithm::RS256.bit()
            | Algorithm::RS384.bit()
            | Algorithm::RS512.bit()
            | Algorithm::PS256.bit()
            | Algorithm::PS384.bit()
            | Algorithm::PS512.bit(),
    );
    /// The HMAC algorithms (HS*): only ever usable with an explicitly configured secret.
    pub const HMAC: Self =
        Self(Algorithm::HS256.bit() | Algorithm::HS384.bit() | Algorithm::HS512.bit());
    /// Every asymmetric algorithm: the default.
    pub const ASYMMETRIC: Self = set_of(&ASYMMETRIC_ALGORITHMS);
    /// The empty set.
    pub const NONE: Self = Self(0);

    /// Whether `alg` is in the set.
    #[must_use]
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// The algorithms in both sets.
    #[must_use]
    pub const fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The algorithms in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl From<Algorithm> for Algorithms {
    fn from(alg: Algorithm) -> Self {
        Self(alg.bit())
    }
}

impl FromIterator<Algorithm> for Algorithms {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter()
            .fold(Self::NONE, |set, a| set.union(a.into()))
    }
}

impl fmt::Debug for Algorithms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asymmetric_is_rsa_ec_and_eddsa_and_no_hmac() {
        let expected = Algorithms::RSA
            .union(Algorithm::ES256.into())
            .union(Algorithm::ES384.into())
            .union(Algorithm::ES512.into())
            .union(Algorithm::EdDSA.into());
        assert_eq!(Algorithms::ASYMMETRIC, expected);
        assert!(
            Algorithms::ASYMMETRIC
                .intersect(Algorithms::HMAC)
                .is_empty()
        );
        assert!(Algorithms::ASYMMETRIC.iter().eq(ASYMMETRIC_ALGORITHMS));
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn names_round_trip_exactly_and_case_sensitively() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
            assert_eq!(serde_json::to_value(alg).unwrap(), alg.as_str());
            let back: Algorithm = serde_json::from_value(alg.as_str().into()).unwrap();
            assert_eq!(back, alg);
            assert_eq!(Algorithms::from(alg).iter().collect::<Vec<_>>(), [alg]);
            if let Some(j) = alg.to_jsonwebtoken() {
                assert_eq!(serde_json::to_value(j).unwrap(), alg.as_str());
            }
        }
        for bad in [
            "none", "NoNe", "rs256", "ES999", "ES256K", "Ed25519", "", "HS1",
        ] {
            assert_eq!(bad.parse::<Algorithm>(), Err(ParseAlgorithmError), "{bad}");
        }
        assert_eq!(Algorithm::ES512.to_jsonwebtoken(), None);
    }
}
