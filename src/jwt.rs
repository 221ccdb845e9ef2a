//! The compact JWS form, taken apart strictly before any key is looked up.
//!
//! jsonwebtoken's `decode` is lenient where an auth layer must not be (duplicate JSON members,
//! `crit`, missing claims that are configured), so the token is parsed here and only the
//! signature check is delegated to it.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;

use crate::algorithms::Algorithm;
use crate::error::{AuthError, AuthReason};

/// Longest `kid` accepted, in a token or a JWK. Kids are opaque lookup keys; real ones are short.
pub(crate) const MAX_KID_LEN: usize = 256;

/// A token split into its parts, with the header already checked.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
    /// `base64(header) "." base64(payload)`: what the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

/// Most members a JOSE header may have; real ones have three or four.
const MAX_HEADER_MEMBERS: usize = 16;

/// The JOSE header, read strictly and without allocating for the usual members: it must be a
/// JSON object with unique member names (at most [`MAX_HEADER_MEMBERS`]); `alg`, `kid` and
/// `typ` are borrowed from the decoded bytes; every other value is parsed (so serde_json's
/// nesting limit of 128 applies) and dropped.
struct Header<'a> {
    alg: Option<Member<'a>>,
    kid: Option<Member<'a>>,
    typ: Option<Member<'a>>,
    critical: bool,
}

/// A header member we read: a string, null, or anything else.
enum Member<'a> {
    Str(Cow<'a, str>),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl<'de> Visitor<'de> for MemberVisitor {
            type Value = Member<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header member")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Member::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Member::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Member::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Member::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Member::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Member::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Member::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Value>()?.is_some() {}
                Ok(Member::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Cow<'de, str>, Value>()?.is_some() {}
                Ok(Member::Other)
            }
        }
        deserializer.deserialize_any(MemberVisitor)
    }
}

impl<'de> Deserialize<'de> for Header<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = Header<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JOSE header object with unique member names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut names: [Option<Member<'de>>; MAX_HEADER_MEMBERS] =
                    std::array::from_fn(|_| None);
                let mut count = 0;
                let mut header = Header {
                    alg: None,
                    kid: None,
                    typ: None,
                    critical: false,
                };
                while let Some(Member::Str(name)) = access.next_key::<Member<'de>>()? {
                    let duplicate = names[..count]
                        .iter()
                        .any(|seen| matches!(seen, Some(Member::Str(n)) if *n == name));
                    if duplicate || count == MAX_HEADER_MEMBERS {
                        return Err(de::Error::custom("duplicate or too many header members"));
                    }
                    let value: Member<'de> = access.next_value()?;
                    match &*name {
                        "alg" => header.alg = Some(value),
                        "kid" => header.kid = Some(value),
                        "typ" => header.typ = Some(value),
                        "crit" | "b64" => header.critical = true,
                        _ => {}
                    }
                    names[count] = Some(Member::Str(name));
                    count += 1;
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// Splits a compact JWS into `(signing input, payload, signature)`: exactly three non-empty
/// segments (an empty signature is how `alg: none` tokens look; refused before any lookup).
pub(crate) fn split(token: &str) -> Result<(&str, &str, &str), AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::new(AuthReason::MalformedToken));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(AuthError::new(AuthReason::MalformedToken));
    }
    let signing_input = &token[..header.len() + 1 + payload.len()];
    Ok((signing_input, payload, signature))
}

/// Splits and checks `token` up to (not including) the signature.
///
/// `header_buf` receives the decoded header so that the kid can be borrowed from it.
pub(crate) fn parse<'a>(
    token: &'a str,
    max_len: usize,
    header_buf: &'a mut Vec<u8>,
) -> Result<Compact<'a>, AuthError> {
    if token.len() > max_len {
        return Err(AuthError::new(AuthReason::TokenTooLarge));
    }
    let (signing_input, payload, signature) = split(token)?;
    let header = &signing_input[..signing_input.len() - payload.len() - 1];
    URL_SAFE_NO_PAD
        .decode_vec(header, header_buf)
        .map_err(|_| AuthError::new(AuthReason::MalformedHeader))?;
    let jose: Header<'a> = serde_json::from_slice(header_buf)
        .map_err(|_| AuthError::new(AuthReason::MalformedHeader))?;
    // `crit` and `b64` change how a token must be processed: refused whatever their value.
    // `jku`, `x5u`, `jwk` and `x5c` are never read: keys only come from the configured source.
    if jose.critical {
        return Err(AuthError::new(AuthReason::UnsupportedCriticalHeader));
    }
    let alg = match &jose.alg {
        // `none` in any case and a missing alg are unsecured tokens; any other name we do not
        // implement gets its own reason, so that an operator can tell "attack or bug" from
        // "the provider signs with something we lack" (the name is never echoed).
        Some(Member::Str(alg)) if alg.is_empty() || alg.eq_ignore_ascii_case("none") => {
            return Err(AuthError::new(AuthReason::UnsupportedAlgorithm));
        }
        Some(Member::Str(alg)) => alg
            .parse()
            .map_err(|_| AuthError::new(AuthReason::UnknownAlgorithm))?,
        _ => return Err(AuthError::new(AuthReason::UnsupportedAlgorithm)),
    };
    // A null kid or typ is read as absent; any other non-string is refused. An empty kid is a
    // kid like any other (RFC 7517 section 4.5 leaves its value open, and some issuers publish
    // `""`): it matches exactly a JWK whose kid is `""`, and is not "no kid".
    let kid = match jose.kid {
        None | Some(Member::Null) => None,
        Some(Member::Str(kid)) if kid.len() <= MAX_KID_LEN => Some(kid),
        Some(_) => return Err(AuthError::new(AuthReason::InvalidKeyId)),
    };
    let typ = match jose.typ {
        None | Some(Member::Null) => None,
        Some(Member::Str(typ)) => Some(typ),
        Some(Member::Other) => return Err(AuthError::new(AuthReason::MalformedHeader)),
    };
    Ok(Compact {
        alg,
        kid,
        typ,
        signing_input,
        payload,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    #[test]
    fn parses_alg_kid_and_typ() {
        let t = token(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#, "{}");
        let mut buf = Vec::new();
        let c = parse(&t, 16 * 1024, &mut buf).expect("valid");
        assert_eq!(c.alg, Algorithm::RS256);
        assert_eq!(c.kid.as_deref(), Some("k1"));
        assert_eq!(c.typ.as_deref(), Some("JWT"));
        assert_eq!(c.signature, "c2ln");
    }

    #[test]
    fn refuses_none_in_any_case_and_unknown_algs() {
        for alg in ["none", "NoNe", "NONE", ""] {
            let t = token(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#), "{}");
            let mut buf = Vec::new();
            let err = parse(&t, 16 * 1024, &mut buf).expect_err(alg);
            assert_eq!(err.reason(), AuthReason::UnsupportedAlgorithm, "{alg}");
        }
        // Refused still, with a reason (and text) distinct from `none`.
        for alg in ["rs256", "HS1", "ES999", "ES256K", "Ed448", "RSA-OAEP"] {
            let t = token(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#), "{}");
            let mut buf = Vec::new();
            let err = parse(&t, 16 * 1024, &mut buf).expect_err(alg);
            assert_eq!(err.reason(), AuthReason::UnknownAlgorithm, "{alg}");
            assert_ne!(
                err.description(),
                AuthReason::UnsupportedAlgorithm.description()
            );
            assert!(!err.description().contains(alg), "never echoes the header");
        }
    }

    #[test]
    fn parses_es512_and_an_empty_kid() {
        let t = token(r#"{"alg":"ES512","kid":"k"}"#, "{}");
        let mut buf = Vec::new();
        let c = parse(&t, 16 * 1024, &mut buf).expect("valid");
        assert_eq!(c.alg, Algorithm::ES512);
        // Issue 13 point 9: `""` is a kid (it used to be refused as an invalid key id).
        let t = token(r#"{"alg":"RS256","kid":""}"#, "{}");
        let mut buf = Vec::new();
        let c = parse(&t, 16 * 1024, &mut buf).expect("valid");
        assert_eq!(c.kid.as_deref(), Some(""));
    }

    #[test]
    fn refuses_malformed_compact_forms() {
        let good_header = b64(r#"{"alg":"RS256","kid":"k"}"#);
        let cases = [
            "".to_string(),
            "a.b".to_string(),
            format!("{good_header}.e30.c2ln.x"),
            format!("{good_header}.e30.c2ln.x.y"),
            format!("{good_header}.e30."),
            format!("{good_header}..c2ln"),
            format!("{good_header}=.e30.c2ln"),
            format!("{good_header}+.e30.c2ln"),
            format!(" {good_header}.e30.c2ln"),
            format!("{good_header}/.e30.c2ln"),
        ];
        for t in cases {
            let mut buf = Vec::new();
            let err = parse(&t, 16 * 1024, &mut buf).expect_err(&t);
            assert_eq!(err.kind(), crate::AuthErrorKind::InvalidToken, "{t}");
        }
    }

    #[test]
    fn refuses_crit_b64_duplicates_and_bad_kids() {
        let cases = [
            r#"{"alg":"RS256","kid":"k","crit":["exp"]}"#,
            r#"{"alg":"RS256","kid":"k","b64":false}"#,
            r#"{"alg":"RS256","alg":"HS256","kid":"k"}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"{"alg":"RS256","kid":"k","crit":null}"#,
            r#"{"alg":"RS256","kid":"k","b64":null}"#,
            r#"{"alg":"RS256","kid":"k","jku":"a","jku":"b"}"#,
            r#"["RS256","k"]"#,
            r#"{"alg":"RS256","kid":"k","typ":7}"#,
            r#"{"kid":"k"}"#,
        ];
        for h in cases {
            let mut buf = Vec::new();
            assert!(parse(&token(h, "{}"), 16 * 1024, &mut buf).is_err(), "{h}");
        }
        let long = format!(
            r#"{{"alg":"RS256","kid":"{}"}}"#,
            "k".repeat(MAX_KID_LEN + 1)
        );
        let mut buf = Vec::new();
        assert!(parse(&token(&long, "{}"), 64 * 1024, &mut buf).is_err());
    }

    #[test]
    fn refuses_oversized_tokens_before_decoding() {
        let t = "a".repeat(100);
        let mut buf = Vec::new();
        let err = parse(&t, 99, &mut buf).expect_err("too large");
        assert_eq!(err.reason(), AuthReason::TokenTooLarge);
        assert!(buf.is_empty());
    }
}
