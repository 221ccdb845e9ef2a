//! Key ids: `base.version` ([`KeyId`]) and what a kid names ([`KeyRef`]).

use std::fmt;
use std::str::FromStr;

use super::IssuerError;
use crate::jwks::kid::VersionedKid;

/// Longest base kid accepted.
pub const MAX_BASE_KID_LEN: usize = crate::jwks::kid::MAX_BASE_LEN;

/// A key version's id, `base.version` (e.g. `signing.3`).
///
/// The base is 1-64 characters of `A-Z a-z 0-9 _ -` (no dot, so the split is unambiguous and
/// the base is a safe file name); the version is a decimal number from 1, without leading
/// zeros. `signing.03` or `signing.x` are invalid ids, never another spelling of a version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    base: String,
    version: u32,
}

impl KeyId {
    /// The id of `version` of `base`.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKeyId`] for a bad base or version 0.
    pub fn new(base: &str, version: u32) -> Result<Self, IssuerError> {
        check_base(base)?;
        if version == 0 {
            return Err(IssuerError::InvalidKeyId {
                kid: format!("{base}.0"),
            });
        }
        Ok(Self {
            base: base.to_owned(),
            version,
        })
    }

    /// The base kid.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The version number.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.version
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.base, self.version)
    }
}

impl FromStr for KeyId {
    type Err = IssuerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match KeyRef::parse(s)? {
            KeyRef::Exact(id) => Ok(id),
            KeyRef::Newest(_) => Err(IssuerError::InvalidKeyId { kid: s.into() }),
        }
    }
}

/// What a kid names: one exact version, or (a bare base) the base's newest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// `base.version`: exactly that version, or nothing.
    Exact(KeyId),
    /// `base` alone: the newest version of the base.
    Newest(String),
}

impl KeyRef {
    /// Parses a kid. Anything but `base` or `base.version` in canonical form is invalid.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKeyId`].
    pub fn parse(kid: &str) -> Result<Self, IssuerError> {
        // The one `base.N` grammar, shared with the verifier's `versioned_kids` lookup.
        match crate::jwks::kid::parse(kid) {
            Some(VersionedKid::Bare(base)) => Ok(Self::Newest(base.to_owned())),
            Some(VersionedKid::Versioned { base, version }) => KeyId::new(base, version)
                .map(Self::Exact)
                .map_err(|_| IssuerError::InvalidKeyId { kid: kid.into() }),
            None => Err(IssuerError::InvalidKeyId { kid: kid.into() }),
        }
    }
}

pub(crate) fn check_base(base: &str) -> Result<(), IssuerError> {
    if crate::jwks::kid::is_base(base) {
        Ok(())
    } else {
        Err(IssuerError::InvalidKeyId { kid: base.into() })
    }
}
