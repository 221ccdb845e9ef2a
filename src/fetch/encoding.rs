//! Content codings of fetched documents (RFC 9110 section 8.4): what a fetch asks for, and
//! how the body is decoded.
//!
//! A request that names no acceptable coding lets the server pick any (RFC 9110 section
//! 12.5.3), and CDNs do gzip such answers; so every fetch says what it accepts, and decodes it
//! here rather than relying on the `reqwest::Client` (a caller-supplied client may have its
//! own decompression off; one that has it on has already decoded the body and removed the
//! `Content-Encoding` header). The decoded size is capped like the body: a small gzip body
//! must not inflate into gigabytes.

use std::io::Read;

use bytes::Bytes;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use http::{HeaderMap, header};

/// The `Accept-Encoding` sent with every fetch (identity stays acceptable).
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate";

/// Undoes the body's `Content-Encoding` (codings are listed in the order they were applied,
/// so they are undone in reverse), refusing a decoded body over `max` bytes.
pub(crate) fn decode(headers: &HeaderMap, body: Bytes, max: usize) -> Result<Bytes, String> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value
            .to_str()
            .map_err(|_| "Content-Encoding is not ASCII".to_owned())?;
        codings.extend(
            value
                .split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty() && c != "identity"),
        );
    }
    let mut body = body;
    for coding in codings.iter().rev() {
        body = match coding.as_str() {
            "gzip" | "x-gzip" => inflate(MultiGzDecoder::new(&body[..]), coding, max)?,
            // "deflate" is zlib-wrapped (RFC 9110 section 8.4.1.2); some servers send it raw.
            "deflate" if is_zlib(&body) => inflate(ZlibDecoder::new(&body[..]), coding, max)?,
            "deflate" => inflate(DeflateDecoder::new(&body[..]), coding, max)?,
            other => {
                return Err(format!(
                    "body is encoded with `{other}`, which was not asked for and is not \
                     supported (accepted: {ACCEPT_ENCODING})"
                ));
            }
        };
    }
    Ok(body)
}

/// A zlib stream header (RFC 1950): compression method 8 and a valid check.
fn is_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && u16::from_be_bytes([*cmf, *flg]) % 31 == 0,
        _ => false,
    }
}

fn inflate(reader: impl Read, coding: &str, max: usize) -> Result<Bytes, String> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot decode the {coding} body: {e}"))?;
    if out.len() > max {
        return Err(format!(
            "body larger than {max} bytes once decoded ({coding})"
        ));
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

    use super::*;

    const DOC: &[u8] = br#"{"keys":[]}"#;

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, encoding.parse().unwrap());
        h
    }

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap().into()
    }

    #[test]
    fn gzip_deflate_and_identity_are_decoded() {
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(DOC).unwrap();
        let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(DOC).unwrap();
        let cases = [
            ("gzip", gzip(DOC)),
            ("X-GZIP", gzip(DOC)),
            ("deflate", zlib.finish().unwrap().into()),
            ("deflate", raw.finish().unwrap().into()),
            ("identity", Bytes::from_static(DOC)),
            ("identity, gzip", gzip(DOC)),
            ("gzip, gzip", gzip(&gzip(DOC))),
        ];
        for (encoding, body) in cases {
            let decoded = decode(&headers(encoding), body, 1024).expect(encoding);
            assert_eq!(&decoded[..], DOC, "{encoding}");
        }
        assert_eq!(
            &decode(&HeaderMap::new(), Bytes::from_static(DOC), 1024).unwrap()[..],
            DOC
        );
    }

    #[test]
    fn unsupported_codings_corrupt_bodies_and_bombs_are_refused() {
        let err = decode(&headers("br"), Bytes::from_static(DOC), 1024).unwrap_err();
        assert!(
            err.contains("`br`") && err.contains("gzip, deflate"),
            "{err}"
        );
        let err = decode(&headers("gzip"), Bytes::from_static(DOC), 1024).unwrap_err();
        assert!(err.contains("cannot decode the gzip body"), "{err}");
        // 10 MiB of zeros gzip to about 10 KiB: refused at the 1 MiB cap, not inflated.
        let bomb = gzip(&vec![0; 10 << 20]);
        assert!(bomb.len() < 64 << 10);
        let err = decode(&headers("gzip"), bomb, 1 << 20).unwrap_err();
        assert!(
            err.contains("larger than 1048576 bytes once decoded"),
            "{err}"
        );
    }
}
