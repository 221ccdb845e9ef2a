//! The crypto backends: selecting jsonwebtoken's once per process, and ES512 (P-521 ECDSA),
//! which jsonwebtoken does not implement, verified directly with the same backend family
//! (aws-lc-rs, or RustCrypto's `p521` under `rust-crypto`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;

use crate::algorithms::Algorithm;

/// Installs the crypto provider matching the enabled backend feature (aws-lc-rs preferred).
///
/// jsonwebtoken panics at first use when both backends are compiled in and none was
/// installed, which `--all-features` does; installing explicitly makes that impossible.
/// Installing twice is harmless: the first provider stays.
pub(crate) fn install_provider() {
    #[cfg(feature = "aws-lc-rs")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!("jwks-auth needs a crypto backend: enable the `aws-lc-rs` or `rust-crypto` feature");

/// Length of a P-521 coordinate and of each of `r` and `s` (RFC 7518 section 3.4: 521 bits
/// rounded up to whole bytes).
pub(crate) const P521_LEN: usize = 66;

/// A public key ready to verify signatures: parsed once per key set, never per request.
pub(crate) enum PublicKey {
    /// Every algorithm jsonwebtoken implements (all but ES512).
    Jose(DecodingKey),
    /// A P-521 key for ES512.
    P521(P521Key),
}

/// A P-521 public key, parsed (and checked to be on the curve) by the backend.
#[cfg(feature = "aws-lc-rs")]
pub(crate) struct P521Key(aws_lc_rs::signature::ParsedPublicKey);

/// A P-521 public key, parsed (and checked to be on the curve) by the backend.
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
pub(crate) struct P521Key(p521::ecdsa::VerifyingKey);

impl P521Key {
    /// The key from its SEC1 uncompressed point (`0x04 || x || y`, 133 bytes); `None` when
    /// the backend refuses it (not on the curve, wrong length).
    pub(crate) fn from_uncompressed_point(point: &[u8]) -> Option<Self> {
        if point.len() != 1 + 2 * P521_LEN || point[0] != 4 {
            return None;
        }
        #[cfg(feature = "aws-lc-rs")]
        let key = aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED,
            point,
        )
        .ok()?;
        #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
        let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()?;
        Some(Self(key))
    }

    /// Whether `signature` (raw `r || s`, 132 bytes) signs `message` with SHA-512.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if signature.len() != 2 * P521_LEN {
            // DER-encoded or truncated signatures never reach the backend (RFC 7518 3.4).
            return false;
        }
        #[cfg(feature = "aws-lc-rs")]
        let ok = self.0.verify_sig(message, signature).is_ok();
        #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
        let ok = {
            use p521::ecdsa::signature::Verifier;
            // `from_slice` refuses r or s equal to zero or not below the group order.
            p521::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| self.0.verify(message, &sig).is_ok())
        };
        ok
    }
}

/// Whether `signature_b64` (base64url, unpadded) is `alg`'s signature of `signing_input`
/// under `key`. The caller has pinned `alg` to the key; a mismatch is simply `false`.
pub(crate) fn verify(
    key: &PublicKey,
    alg: Algorithm,
    signing_input: &[u8],
    signature_b64: &str,
) -> bool {
    match (key, alg.to_jsonwebtoken()) {
        (PublicKey::Jose(key), Some(alg)) => {
            jsonwebtoken::crypto::verify(signature_b64, signing_input, key, alg).unwrap_or(false)
        }
        (PublicKey::P521(key), None) => {
            // 132 bytes are 176 base64url characters; anything longer is not a signature.
            let mut raw = [0u8; 2 * P521_LEN];
            if signature_b64.len() != 176 {
                return false;
            }
            match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut raw) {
                Ok(len) if len == raw.len() => key.verify(signing_input, &raw),
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ES512 vector made with OpenSSL (Python `cryptography`), independent of both backends.
    const X: &str =
        "AYHcRH--y2nm77DwJRcckI7vXb4MUJxzai5n-WFFDH-6dVZD_2dZXSVkjF918XJhwIjxWEhvb5_i662a0FunSZOt";
    const Y: &str =
        "ADANg_t26zZwRHc73-bwkmzIp76gXBI2GaIQzznOnLZfAI4AVGMBNDhskwd4YIkaxLK_iqNT0wg5TqlrHIjMgK5N";
    const INPUT: &str = "eyJhbGciOiJFUzUxMiJ9.eyJzdWIiOiJ2ZWN0b3IifQ";
    const SIGNATURE: &str = "AV_PceOEtaOVureitt99AdrZ1c3t6qRbssF5xwTWULp_ciBMsfSZ5YwlNv7DS2_SwjIZZ3vFrE1UsZNPSXhLkN-LAA-l7EG9psJzjOUXqGVYvWBD6kIzCIdtBlYyMDNnWdml4LBP0PDigr1AiakUCtKENEm1A7Zqqps3st3jtaAhaA7P";

    fn key() -> PublicKey {
        let mut point = vec![4];
        point.extend(URL_SAFE_NO_PAD.decode(X).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(Y).unwrap());
        PublicKey::P521(P521Key::from_uncompressed_point(&point).expect("on the curve"))
    }

    #[test]
    fn es512_verifies_an_independent_vector_and_nothing_else() {
        crate::crypto::install_provider();
        let key = key();
        assert!(verify(&key, Algorithm::ES512, INPUT.as_bytes(), SIGNATURE));
        assert!(!verify(
            &key,
            Algorithm::ES512,
            b"eyJhbGciOiJFUzUxMiJ9.e30",
            SIGNATURE
        ));
        assert!(!verify(&key, Algorithm::ES384, INPUT.as_bytes(), SIGNATURE));
        let mut raw = URL_SAFE_NO_PAD.decode(SIGNATURE).unwrap();
        raw[131] ^= 1;
        let flipped = URL_SAFE_NO_PAD.encode(&raw);
        assert!(!verify(&key, Algorithm::ES512, INPUT.as_bytes(), &flipped));
        let zero = URL_SAFE_NO_PAD.encode([0u8; 132]);
        assert!(!verify(&key, Algorithm::ES512, INPUT.as_bytes(), &zero));
        for bad in [
            "",
            "AA",
            &SIGNATURE[..175],
            &format!("{SIGNATURE}A"),
            &format!("{SIGNATURE}=="),
        ] {
            assert!(
                !verify(&key, Algorithm::ES512, INPUT.as_bytes(), bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn p521_points_of_the_wrong_shape_are_refused() {
        assert!(P521Key::from_uncompressed_point(&[]).is_none());
        assert!(
            P521Key::from_uncompressed_point(&[4; 133]).is_none(),
            "not on the curve"
        );
        assert!(
            P521Key::from_uncompressed_point(&[2; 67]).is_none(),
            "compressed"
        );
    }
}
