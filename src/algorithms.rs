//! [`Algorithms`]: a small set of JWS algorithms, cheap to copy and test.

use std::fmt;

use jsonwebtoken::Algorithm;

/// A set of JWS algorithms.
///
/// The default verification set is every asymmetric algorithm: RS256/384/512, PS256/384/512,
/// ES256/384 and EdDSA. Each key is further pinned to the algorithms its JWK names (or, without
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

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Every asymmetric algorithm, in a fixed order: the default verification set
/// ([`Algorithms::ASYMMETRIC`]) and the list the mock IdP publishes one key for
/// (`testing::ALGORITHMS`). The one place the list is written.
pub(crate) const ASYMMETRIC_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The set of the algorithms in `list`, at compile time.
const fn set_of(list: &[Algorithm]) -> Algorithms {
    let mut bits = 0;
    let mut i = 0;
    while i < list.len() {
        bits |= bit(list[i]);
        i += 1;
    }
    Algorithms(bits)
}

const fn bit(alg: Algorithm) -> u16 {
    1 << match alg {
        Algorithm::HS256 => 0,
        Algorithm::HS384 => 1,
        Algorithm::HS512 => 2,
        Algorithm::RS256 => 3,
        Algorithm::RS384 => 4,
        Algorithm::RS512 => 5,
        Algorithm::PS256 => 6,
        Algorithm::PS384 => 7,
        Algorithm::PS512 => 8,
        Algorithm::ES256 => 9,
        Algorithm::ES384 => 10,
        Algorithm::EdDSA => 11,
        // Algorithms added to jsonwebtoken later are in no set until we support them.
        _ => 15,
    }
}

impl Algorithms {
    /// The RSA algorithms (RS* and PS*).
    pub const RSA: Self = Self(
        bit(Algorithm::RS256)
            | bit(Algorithm::RS384)
            | bit(Algorithm::RS512)
            | bit(Algorithm::PS256)
            | bit(Algorithm::PS384)
            | bit(Algorithm::PS512),
    );
    /// The HMAC algorithms (HS*): only ever usable with an explicitly configured secret.
    pub const HMAC: Self =
        Self(bit(Algorithm::HS256) | bit(Algorithm::HS384) | bit(Algorithm::HS512));
    /// Every asymmetric algorithm: the default.
    pub const ASYMMETRIC: Self = set_of(&ASYMMETRIC_ALGORITHMS);
    /// The empty set.
    pub const NONE: Self = Self(0);

    /// Whether `alg` is in the set.
    #[must_use]
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & bit(alg) != 0
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
        ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl From<Algorithm> for Algorithms {
    fn from(alg: Algorithm) -> Self {
        Self(bit(alg))
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
