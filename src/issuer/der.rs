//! RSA key forms, through RustCrypto's `pkcs1`/`pkcs8` (no hand-written DER): PKCS#8 ->
//! PKCS#1, and PKCS#1 <-> JWK components.
//!
//! aws-lc-rs serialises generated RSA keys as PKCS#8, jsonwebtoken signs with PKCS#1, and a JWK
//! carries the raw integers. Everything parsed here is validated afterwards by aws-lc-rs.

use pkcs1::der::Encode as _;
use pkcs1::{RsaPrivateKey, UintRef, Version};

/// The `RSAPrivateKey` (PKCS#1) inside a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let info = pkcs8::PrivateKeyInfo::try_from(pkcs8).ok()?;
    Some(info.private_key.to_vec())
}

/// The integers of a two-prime PKCS#1 `RSAPrivateKey`: n, e, d, p, q, dp, dq, qi (unsigned, no
/// leading zeros).
pub(crate) fn pkcs1_components(pkcs1: &[u8]) -> Option<[Vec<u8>; 8]> {
    let key = RsaPrivateKey::try_from(pkcs1).ok()?;
    if key.version() != Version::TwoPrime {
        return None; // multi-prime keys are not supported
    }
    Some(
        [
            key.modulus,
            key.public_exponent,
            key.private_exponent,
            key.prime1,
            key.prime2,
            key.exponent1,
            key.exponent2,
            key.coefficient,
        ]
        .map(|int| int.as_bytes().to_vec()),
    )
}

/// A PKCS#1 `RSAPrivateKey` from its components (n, e, d, p, q, dp, dq, qi); `None` if one
/// cannot be encoded.
pub(crate) fn pkcs1_from_components(c: &[&[u8]; 8]) -> Option<Vec<u8>> {
    fn int(bytes: &[u8]) -> Option<UintRef<'_>> {
        UintRef::new(bytes).ok()
    }
    RsaPrivateKey {
        modulus: int(c[0])?,
        public_exponent: int(c[1])?,
        private_exponent: int(c[2])?,
        prime1: int(c[3])?,
        prime2: int(c[4])?,
        exponent1: int(c[5])?,
        exponent2: int(c[6])?,
        coefficient: int(c[7])?,
        other_prime_infos: None,
    }
    .to_der()
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_round_trip_through_pkcs1() {
        let parts: [&[u8]; 8] = [
            &[0xc3; 200],
            &[1, 0, 1],
            &[0x7f; 130],
            &[0x80; 100],
            &[0x01],
            &[0, 0, 5],
            &[9],
            &[0xff],
        ];
        let der = pkcs1_from_components(&parts).expect("encodes");
        let back = pkcs1_components(&der).expect("parses");
        assert_eq!(back[0], vec![0xc3; 200]);
        assert_eq!(back[5], vec![5]);
        assert_eq!(back[7], vec![0xff]);
    }

    #[test]
    fn truncated_der_is_refused() {
        let der = pkcs1_from_components(&[&[1]; 8]).expect("encodes");
        assert!(pkcs1_components(&der[..der.len() - 1]).is_none());
        assert!(pkcs8_to_pkcs1(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
    }
}
