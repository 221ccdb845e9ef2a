//! The `DPoP` challenge (RFC 9449 section 7.1), the `DPoP-Nonce` header (section 8) and the
//! `resource_metadata` parameter (RFC 9728 section 5.1), added to the refusals of a layer
//! configured for them.
//!
//! The rejection handler builds the `Bearer` challenge as for any layer (its realm, its
//! hidden or shown description); this reshapes it afterwards, so custom handlers that write
//! the crate's `Bearer` challenge get the DPoP form too, and those that write none are left
//! alone (apart from `DPoP-Nonce`, which a client needs to retry).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, header};

use super::dpop::{Dpop, DpopMode};
use super::{SenderConfig, dpop_scheme};
use crate::error::{AuthError, AuthErrorKind, AuthReason};

/// The response header carrying a server nonce.
static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Adds the sender-constraint parts of a refusal of a request with `request` headers.
pub(crate) fn decorate(
    sender: &SenderConfig,
    request: &HeaderMap,
    error: &AuthError,
    response: &mut Response<Bytes>,
) {
    let challenged = matches!(
        error.kind(),
        AuthErrorKind::MissingToken | AuthErrorKind::InvalidToken
    );
    let headers = response.headers_mut();
    if let Some(dpop) = &sender.dpop {
        if error.reason() == AuthReason::DpopNonceRequired
            && let Some(nonce) = dpop.nonce().and_then(|n| HeaderValue::try_from(n).ok())
        {
            headers.insert(DPOP_NONCE.clone(), nonce);
        }
        // A 403 (insufficient scope) answers in the scheme the token came with.
        let forbidden_dpop = error.kind() == AuthErrorKind::Forbidden && dpop_scheme(request);
        if challenged || forbidden_dpop {
            dpop_challenges(dpop, request, error, headers);
        }
    }
    if challenged && let Some(url) = &sender.resource_metadata {
        add_resource_metadata(url, headers);
    }
}

/// The `error` of the DPoP challenge for a DPoP refusal; `None` for other refusals.
fn dpop_error(reason: AuthReason) -> Option<&'static str> {
    use AuthReason as R;
    Some(match reason {
        R::DpopProofMissing
        | R::SeveralDpopProofs
        | R::MalformedDpopProof
        | R::DpopProofType
        | R::DpopAlgorithmNotAllowed
        | R::DpopProofKey
        | R::DpopProofSignature
        | R::DpopMethodMismatch
        | R::DpopUrlMismatch
        | R::DpopProofTime
        | R::DpopProofReplayed
        | R::DpopAccessTokenHash
        | R::DpopKeyMismatch => "invalid_dpop_proof",
        R::DpopNonceRequired => "use_dpop_nonce",
        R::DpopBoundTokenAsBearer | R::DpopTokenNotBound | R::DpopRequired => "invalid_token",
        _ => return None,
    })
}

type Params = Vec<(String, String)>;

/// Replaces the `Bearer` challenge with the challenges of the layer's DPoP mode:
///
/// - a DPoP refusal, any refusal in [`DpopMode::Required`], or a 403 to a DPoP request: one
///   `DPoP` challenge with the Bearer challenge's parameters (the DPoP error code for a DPoP
///   refusal) and `algs`;
/// - other refusals in [`DpopMode::Allowed`]: a `Bearer` and a `DPoP` challenge, the error on
///   the one of the scheme the request used.
fn dpop_challenges(dpop: &Dpop, request: &HeaderMap, error: &AuthError, headers: &mut HeaderMap) {
    let Some((original, params)) = headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .find_map(|value| Some((value.clone(), bearer_params(value.to_str().ok()?)?)))
    else {
        return;
    };
    let code = dpop_error(error.reason());
    let forbidden = error.kind() == AuthErrorKind::Forbidden;
    let realm_only: Params = params
        .iter()
        .filter(|(n, _)| n == "realm")
        .cloned()
        .collect();
    let with_algs = |mut params: Params| {
        params.push(("algs".to_owned(), dpop.algs().to_owned()));
        render("DPoP", &params)
    };
    let challenges = match (dpop.mode(), code) {
        (_, Some(code)) => vec![with_algs(with_error(params, code))],
        (DpopMode::Required, None) => vec![with_algs(params)],
        // A 403 to a DPoP request: its token was good, only the DPoP form applies.
        (DpopMode::Allowed, None) if forbidden => vec![with_algs(params)],
        (DpopMode::Allowed, None) if dpop_scheme(request) => {
            vec![render("Bearer", &realm_only), with_algs(params)]
        }
        (DpopMode::Allowed, None) => vec![original, with_algs(realm_only)],
    };
    headers.remove(header::WWW_AUTHENTICATE);
    for challenge in challenges {
        headers.append(header::WWW_AUTHENTICATE, challenge);
    }
}

/// `params` with `error` set to `code` (after `realm` and `scope` when it was absent).
fn with_error(mut params: Params, code: &str) -> Params {
    match params.iter_mut().find(|(n, _)| n == "error") {
        Some((_, value)) => code.clone_into(value),
        None => {
            let at = params
                .iter()
                .position(|(n, _)| n != "realm" && n != "scope")
                .unwrap_or(params.len());
            params.insert(at, ("error".to_owned(), code.to_owned()));
        }
    }
    params
}

/// The parameters of a `Bearer` challenge as [`BearerChallenge`](crate::BearerChallenge)
/// writes them (`Bearer name="value", ...`); `None` for anything else.
fn bearer_params(value: &str) -> Option<Params> {
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut rest = &value[6..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if rest.is_empty() {
            return Some(params);
        }
        let (name, after) = rest.split_once("=\"")?;
        let (param, after) = after.split_once('"')?;
        params.push((name.to_owned(), param.to_owned()));
        rest = after;
    }
}

/// `scheme name="value", ...`, values restricted to RFC 6750's characters.
fn render(scheme: &str, params: &[(String, String)]) -> HeaderValue {
    let mut out = String::from(scheme);
    for (i, (name, value)) in params.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(name);
        out.push_str("=\"");
        out.extend(value.chars().filter(|c| allowed(*c)));
        out.push('"');
    }
    HeaderValue::try_from(out).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
}

/// RFC 6750 section 3: `%x20-21 / %x23-5B / %x5D-7E` (no `"` and no `\`).
fn allowed(c: char) -> bool {
    matches!(c, ' '..='~') && c != '"' && c != '\\'
}

/// Appends `resource_metadata="<url>"` to every challenge.
fn add_resource_metadata(url: &str, headers: &mut HeaderMap) {
    let url: String = url.chars().filter(|c| allowed(*c)).collect();
    let challenges: Vec<HeaderValue> = headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| {
            let text = value.to_str().ok()?;
            let separator = if text.contains('=') { ", " } else { " " };
            HeaderValue::try_from(format!("{text}{separator}resource_metadata=\"{url}\"")).ok()
        })
        .collect();
    if challenges.is_empty() {
        return;
    }
    headers.remove(header::WWW_AUTHENTICATE);
    for challenge in challenges {
        headers.append(header::WWW_AUTHENTICATE, challenge);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parameters_are_read_back() {
        let params = bearer_params(
            r#"Bearer realm="api", error="invalid_token", error_description="token expired""#,
        )
        .expect("ours");
        assert_eq!(params.len(), 3);
        assert_eq!(
            params[2],
            ("error_description".into(), "token expired".into())
        );
        assert_eq!(bearer_params("Bearer"), Some(vec![]));
        assert_eq!(bearer_params("Basic realm=\"x\""), None);
        assert_eq!(bearer_params("Bearerx"), None);
        assert_eq!(bearer_params("Bearer broken"), None);
        let value = render("DPoP", &with_error(params, "invalid_dpop_proof"));
        assert_eq!(
            value,
            r#"DPoP realm="api", error="invalid_dpop_proof", error_description="token expired""#
        );
    }
}
