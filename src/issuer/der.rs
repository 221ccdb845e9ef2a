//! The little DER needed for RSA keys: PKCS#8 -> PKCS#1, and PKCS#1 <-> JWK components.
//!
//! aws-lc-rs serialises generated RSA keys as PKCS#8, jsonwebtoken signs with PKCS#1, and a JWK
//! carries the raw integers. Everything parsed here is validated afterwards by aws-lc-rs.

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;

/// Splits one TLV off `input`: (tag, contents, rest).
fn take(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, after) = rest.split_at(n);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match take(input)? {
        (t, contents, rest) if t == tag => Some((contents, rest)),
        _ => None,
    }
}

/// The `RSAPrivateKey` (PKCS#1) inside a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (info, _) = expect(pkcs8, TAG_SEQUENCE)?;
    let (_version, rest) = expect(info, TAG_INTEGER)?;
    let (_algorithm, rest) = expect(rest, TAG_SEQUENCE)?;
    let (private_key, _) = expect(rest, TAG_OCTET_STRING)?;
    Some(private_key.to_vec())
}

/// The integers of a PKCS#1 `RSAPrivateKey`: n, e, d, p, q, dp, dq, qi (unsigned, no leading
/// zeros).
pub(crate) fn pkcs1_components(pkcs1: &[u8]) -> Option<[Vec<u8>; 8]> {
    let (seq, _) = expect(pkcs1, TAG_SEQUENCE)?;
    let (version, mut rest) = expect(seq, TAG_INTEGER)?;
    if version != [0] {
        return None; // multi-prime keys are not supported
    }
    let mut out: [Vec<u8>; 8] = Default::default();
    for slot in &mut out {
        let (int, after) = expect(rest, TAG_INTEGER)?;
        *slot = unsigned(int).to_vec();
        rest = after;
    }
    Some(out)
}

/// A `SubjectPublicKeyInfo` (rsaEncryption) for an RSA public key: the body of a
/// `-----BEGIN PUBLIC KEY-----` PEM.
pub(crate) fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
    const RSA_ENCRYPTION: [u8; 13] = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut key = integer(n);
    key.extend(integer(e));
    let mut bits = vec![0]; // no unused bits
    bits.extend(tlv(TAG_SEQUENCE, &key));
    let mut body = tlv(TAG_SEQUENCE, &RSA_ENCRYPTION);
    body.extend(tlv(TAG_BIT_STRING, &bits));
    tlv(TAG_SEQUENCE, &body)
}

/// A PKCS#1 `RSAPrivateKey` from its components (n, e, d, p, q, dp, dq, qi).
pub(crate) fn pkcs1_from_components(components: &[&[u8]; 8]) -> Vec<u8> {
    let mut body = tlv(TAG_INTEGER, &[0]);
    for c in components {
        body.extend(integer(c));
    }
    tlv(TAG_SEQUENCE, &body)
}

fn unsigned(int: &[u8]) -> &[u8] {
    let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
    &int[start..]
}

fn integer(value: &[u8]) -> Vec<u8> {
    let value = unsigned(value);
    let mut contents = Vec::with_capacity(value.len() + 1);
    if value.first().is_none_or(|b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(value);
    tlv(TAG_INTEGER, &contents)
}

fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
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
        let der = pkcs1_from_components(&parts);
        let back = pkcs1_components(&der).expect("parses");
        assert_eq!(back[0], vec![0xc3; 200]);
        assert_eq!(back[5], vec![5]);
        assert_eq!(back[7], vec![0xff]);
    }

    #[test]
    fn truncated_der_is_refused() {
        let der = pkcs1_from_components(&[&[1]; 8]);
        assert!(pkcs1_components(&der[..der.len() - 1]).is_none());
        assert!(pkcs8_to_pkcs1(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
    }
}
