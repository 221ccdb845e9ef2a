//! OIDC discovery document parsing and checking. The first byte picks the configured issuer.
#![no_main]

use jwks_auth::fuzzing::check_discovery;
use libfuzzer_sys::fuzz_target;

const ISSUERS: [&str; 3] = [
    "https://idp.example.test",
    "https://idp.example.test/",
    "https://kc.example.test/realms/main",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let issuer = ISSUERS[usize::from(pick) % ISSUERS.len()];
    if let Ok(uri) = check_discovery(body, issuer) {
        // Accepted only when the document names exactly our issuer... (Members we do not read
        // are skipped by serde_json without UTF-8 validation: read the rest lossily.)
        let text = String::from_utf8_lossy(body);
        let doc: serde_json::Value = serde_json::from_str(&text).expect("accepted => JSON");
        assert_eq!(
            doc["issuer"].as_str(),
            Some(issuer),
            "issuer must match exactly"
        );
        // ...and its keys come over https, or plain http only from a loopback host.
        // (Parsed as the crate does, with the WHATWG URL parser: `http::Uri` is stricter
        // about host characters.)
        let url = url::Url::parse(&uri).expect("a URL");
        match url.scheme() {
            "https" => {}
            "http" => {
                let loopback = match url.host() {
                    Some(url::Host::Domain(d)) => d == "localhost",
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                assert!(loopback, "http jwks_uri for a non-loopback host: {uri}");
            }
            other => panic!("unexpected scheme {other:?} in {uri}"),
        }
    }
});
