//! The versioned key id convention, `base.N`: the one grammar for it in the crate.
//!
//! The issuer names its key versions `base.1`, `base.2`, ... and a verifier built with
//! [`versioned_kids`](crate::JwksVerifierBuilder::versioned_kids) lets a token naming only
//! `base` use the newest published `base.N`. Both sides read kids with [`parse`], so a kid the
//! issuer would never write (`base.02`, `base.0`, `base.2.1`, `a/b.1`) is never taken as a
//! version by the verifier either: it only ever matches exactly.

/// Longest `base` (in bytes).
pub(crate) const MAX_BASE_LEN: usize = 64;

/// A kid read under the `base.N` convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionedKid<'a> {
    /// `base` alone: names the newest version of `base`.
    Bare(&'a str),
    /// `base.N`: names exactly version `N` of `base`.
    Versioned {
        /// The base, without the version.
        base: &'a str,
        /// The version, from 1.
        version: u32,
    },
}

/// Reads a kid as `base` or `base.N`; `None` when it follows neither form.
///
/// `base` is 1 to [`MAX_BASE_LEN`] ASCII letters, digits, `_` or `-` (safe as a file name);
/// `N` is a decimal number from 1 without leading zeros that fits in a `u32`, so each version
/// has exactly one spelling.
pub(crate) fn parse(kid: &str) -> Option<VersionedKid<'_>> {
    match kid.split_once('.') {
        None => is_base(kid).then_some(VersionedKid::Bare(kid)),
        Some((base, version)) => {
            let canonical = !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_digit())
                && !version.starts_with('0');
            if !canonical || !is_base(base) {
                return None;
            }
            let version = version.parse().ok()?;
            Some(VersionedKid::Versioned { base, version })
        }
    }
}

/// Whether `base` is a valid base: 1 to [`MAX_BASE_LEN`] of `[A-Za-z0-9_-]`.
pub(crate) fn is_base(base: &str) -> bool {
    !base.is_empty()
        && base.len() <= MAX_BASE_LEN
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_version() {
        assert_eq!(parse("signing"), Some(VersionedKid::Bare("signing")));
        assert_eq!(
            parse("signing.2"),
            Some(VersionedKid::Versioned {
                base: "signing",
                version: 2
            })
        );
        assert_eq!(
            parse("a-b_C9.4294967295"),
            Some(VersionedKid::Versioned {
                base: "a-b_C9",
                version: u32::MAX
            })
        );
        for not_versioned in [
            "",
            "signing.",
            "signing.0",
            "signing.02",
            "signing.2.1",
            "signing.x",
            "signing.+2",
            "signing.4294967296",
            ".2",
            "a/b.1",
            "../x.1",
            "sig ning",
            &"b".repeat(MAX_BASE_LEN + 1),
        ] {
            assert_eq!(parse(not_versioned), None, "{not_versioned:?}");
        }
        assert!(is_base(&"b".repeat(MAX_BASE_LEN)));
    }
}
