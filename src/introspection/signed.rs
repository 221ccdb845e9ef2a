//! Signed introspection answers (RFC 9701): the RFC 7662 answer inside a JWT the authorization
//! server signs with the keys it publishes, so that it is verified with the verifier's own
//! key cache. Checked: `typ` `token-introspection+jwt` (section 5), the signature, `iss` (the
//! configured issuer, exactly), `aud` (this client's id), `iat` present, and the
//! `token_introspection` member (an object, the RFC 7662 answer).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::claims::{self, Rounding};
use crate::error::AuthReason;
use crate::fetch::FetchError;
use crate::jwks::cache::{KeyCache, Trigger};
use crate::jwks::keyset::Selection;
use crate::jwt;
use crate::policy::{audience_matches, is_application_media_type};

/// The media type asked for with `Accept`, and the JWT `typ` (without `application/`).
pub(crate) const MEDIA_TYPE: &str = "application/token-introspection+jwt";

/// What verifying a signed answer needs.
#[derive(Debug)]
pub(crate) struct SignedAnswers {
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) allow_missing_kid: bool,
}

impl SignedAnswers {
    /// The RFC 7662 answer inside a signed one. Every failure is the server's (or an
    /// attacker's): an error for the operator, 503 for the client.
    pub(crate) async fn open(&self, body: &[u8]) -> Result<Map<String, Value>, FetchError> {
        let refused = |why: &str| {
            FetchError::permanent(format!(
                "token introspection failed: the signed answer (RFC 9701) is refused: {why}"
            ))
        };
        let text = std::str::from_utf8(body)
            .map_err(|_| refused("not text"))?
            .trim();
        let mut header_buf = Vec::new();
        let compact = jwt::parse(text, body.len(), &mut header_buf)
            .map_err(|e| refused(&format!("not a JWT ({})", e.reason().code())))?;
        let typ_ok = compact
            .typ
            .as_deref()
            .is_some_and(|typ| is_application_media_type(typ, "token-introspection+jwt"));
        if !typ_ok {
            return Err(refused("typ is not token-introspection+jwt"));
        }
        let kid = compact.kid.as_deref();
        let mut snap = (*self.keys.load()).clone();
        let mut refreshed = false;
        let verified = loop {
            let selection = snap
                .as_ref()
                .filter(|snap| self.keys.usable(snap))
                .map(|snap| snap.keys.select(kid, compact.alg, self.allow_missing_kid));
            match selection {
                Some(Selection::Found(keys)) => {
                    break keys.iter().any(|key| {
                        crate::crypto::verify(
                            &key.key,
                            compact.alg,
                            compact.signing_input.as_bytes(),
                            compact.signature,
                        )
                    });
                }
                Some(Selection::Refused(why)) => return Err(refused(why.description())),
                // No usable set, or an unknown kid: one refresh (single-flight, cooldown).
                None | Some(Selection::UnknownKid) if !refreshed => {
                    refreshed = true;
                    let (observed, trigger) = match self.keys.load_full_generation() {
                        None => (0, Trigger::NoKeys),
                        Some((generation, true)) => (generation, Trigger::NoKeys),
                        Some((generation, false)) => (generation, Trigger::UnknownKid),
                    };
                    let fresh = self.keys.refresh(observed, trigger, kid).await;
                    snap = Some(fresh.map_err(|e| {
                        FetchError::transient(format!(
                            "token introspection failed: the issuer's keys, needed to verify \
                             its signed answer, are unavailable ({})",
                            e.reason().code()
                        ))
                    })?);
                }
                None | Some(Selection::UnknownKid) => {
                    return Err(refused(AuthReason::UnknownKeyId.description()));
                }
            }
        };
        if !verified {
            return Err(refused("invalid signature"));
        }
        let mut claims =
            claims::decode(compact.payload).map_err(|_| refused("malformed payload"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(refused("iss is not the configured issuer"));
        }
        if !audience_matches(claims.get("aud"), std::slice::from_ref(&self.client_id)) {
            return Err(refused("aud is not this client's id"));
        }
        match claims::numeric_date(&claims, "iat", Rounding::Down) {
            Ok(Some(_)) => {}
            _ => return Err(refused("no valid iat")),
        }
        match claims.remove("token_introspection") {
            Some(Value::Object(answer)) => Ok(answer),
            _ => Err(refused("no token_introspection object")),
        }
    }
}
