//! Where providers put roles, groups and scopes: [`RoleSource`] and the borrowed views
//! [`Roles`] and [`Scopes`] over a verified [`User`]'s claims.
//!
//! Every view borrows from the claims the verifier already parsed into JSON once: reading
//! roles or scopes never parses the token again and, except for a [`RoleSource::from_fn`]
//! closure, allocates nothing.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{AuthError, AuthReason};
use crate::user::User;

/// A claim location: an RFC 6901 JSON pointer (`/realm_access/roles`), or, without a leading
/// `/`, one top-level claim name taken literally (`cognito:groups`,
/// `https://example.com/roles`: names that hold `:` and `/` need no escaping then).
///
/// The pointer is split once, when the requirement is built; `~1` and `~0` are unescaped as in
/// [`serde_json::Value::pointer`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClaimPath {
    tokens: Box<[Box<str>]>,
    text: Box<str>,
}

impl ClaimPath {
    pub(crate) fn parse(path: &str) -> Self {
        let tokens = match path.strip_prefix('/') {
            Some(pointer) => pointer
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~").into_boxed_str())
                .collect(),
            None => vec![Box::from(path)].into_boxed_slice(),
        };
        Self {
            tokens,
            text: Box::from(path),
        }
    }

    /// A path from unescaped segments (a Keycloak client id may hold `/` or `~`).
    pub(crate) fn segments(segments: &[&str]) -> Self {
        let text = segments
            .iter()
            .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
            .collect::<String>();
        Self {
            tokens: segments.iter().map(|s| Box::from(*s)).collect(),
            text: text.into_boxed_str(),
        }
    }

    /// The value at this path; `None` when any step is missing.
    pub(crate) fn resolve<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.tokens.split_first()?;
        let mut value = claims.get(&**first)?;
        for token in rest {
            value = match value {
                Value::Object(map) => map.get(&**token)?,
                Value::Array(list) => list.get(array_index(token)?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

/// RFC 6901 section 4: decimal digits without leading zeros.
fn array_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

type RolesFn = Arc<dyn Fn(&User) -> Vec<String> + Send + Sync>;

/// Where a token carries roles, groups or permissions. Cheap to clone.
///
/// Presets for where providers put them (see `docs/PROVIDERS.md`), a claim path for
/// everything else, and a closure as the escape hatch:
///
/// | source | claim |
/// |---|---|
/// | [`keycloak_realm`](super::keycloak_realm) | `realm_access.roles` |
/// | [`keycloak_client`](super::keycloak_client)`("api")` | `resource_access.api.roles` (a client role is never a realm role) |
/// | [`entra_roles`](super::entra_roles) | `roles` (app roles; also app-only tokens) |
/// | [`entra_groups`](super::entra_groups) | `groups`; the groups overage is refused with [`AuthReason::GroupsOverage`] |
/// | [`cognito_groups`](super::cognito_groups) | `cognito:groups` |
/// | [`auth0_permissions`](super::auth0_permissions) | `permissions` |
/// | [`okta_groups`](super::okta_groups) | `groups` (the usual name of Okta's custom claim) |
/// | [`RoleSource::claim`] | any claim path: a string (one role) or an array of strings |
/// | [`RoleSource::from_fn`] | your closure |
///
/// A missing claim, or one of another shape, means "no roles" (the requirement is refused,
/// never an error); non-string array entries are ignored.
///
/// ```
/// use jwks_auth::User;
/// use jwks_auth::authz::{RoleSource, keycloak_client, keycloak_realm};
/// let user = User::from_claims(serde_json::json!({
///     "realm_access": {"roles": ["admin"]},
///     "resource_access": {"orders": {"roles": ["clerk"]}},
///     "https://example.com/roles": ["auditor"],
/// }));
/// assert!(user.roles(&keycloak_realm())?.contains("admin"));
/// assert!(!user.roles(&keycloak_realm())?.contains("clerk"));
/// assert!(user.roles(&keycloak_client("orders"))?.contains("clerk"));
/// assert!(user.roles(&RoleSource::claim("https://example.com/roles"))?.contains("auditor"));
/// # Ok::<(), jwks_auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct RoleSource {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Path(Arc<ClaimPath>),
    /// `groups`, with Entra's overage marker refused rather than read as "no groups".
    EntraGroups,
    Fn(RolesFn),
}

impl RoleSource {
    /// Roles at a claim path: a JSON pointer (`/realm_access/roles`) or, without a leading
    /// `/`, one top-level claim name taken literally (`https://example.com/roles`). The value
    /// is one role (a string) or an array of strings.
    #[must_use]
    pub fn claim(path: &str) -> Self {
        Self::path(ClaimPath::parse(path))
    }

    /// Roles computed by your closure (e.g. Zitadel's role objects, or roles joined from
    /// several claims). It runs on every check that uses this source.
    #[must_use]
    pub fn from_fn(f: impl Fn(&User) -> Vec<String> + Send + Sync + 'static) -> Self {
        Self {
            kind: Kind::Fn(Arc::new(f)),
        }
    }

    pub(crate) fn path(path: ClaimPath) -> Self {
        Self {
            kind: Kind::Path(Arc::new(path)),
        }
    }

    pub(crate) fn entra_groups() -> Self {
        Self {
            kind: Kind::EntraGroups,
        }
    }

    /// The user's roles from this source.
    pub(crate) fn roles<'a>(&self, user: &'a User) -> Result<Roles<'a>, AuthError> {
        let claims = user.claims();
        match &self.kind {
            Kind::Path(path) => Ok(Roles::of(path.resolve(claims))),
            Kind::EntraGroups => match claims.get("groups") {
                Some(groups) => Ok(Roles::of(Some(groups))),
                None if groups_overage(claims) => Err(AuthError::new(AuthReason::GroupsOverage)),
                None => Ok(Roles::of(None)),
            },
            Kind::Fn(f) => Ok(Roles(Repr::Owned(f(user)))),
        }
    }
}

/// Entra drops `groups` past 200 groups (6 in the implicit flow) and says so with
/// `_claim_names: {"groups": ...}` (plus `_claim_sources`) or `hasgroups: true` (also read
/// when written as the string `"true"`: an unknown membership must never read as "none").
fn groups_overage(claims: &Map<String, Value>) -> bool {
    let named = claims
        .get("_claim_names")
        .and_then(Value::as_object)
        .is_some_and(|names| names.contains_key("groups"));
    let flagged = match claims.get("hasgroups") {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(flag)) => flag.eq_ignore_ascii_case("true"),
        _ => false,
    };
    named || flagged
}

impl fmt::Debug for RoleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Path(path) => f.debug_tuple("RoleSource").field(path).finish(),
            Kind::EntraGroups => f.write_str("RoleSource(entra groups)"),
            Kind::Fn(_) => f.write_str("RoleSource(<fn>)"),
        }
    }
}

/// A user's roles from one [`RoleSource`], borrowed from the verified claims
/// ([`User::roles`]).
#[derive(Debug, Clone)]
pub struct Roles<'a>(Repr<'a>);

#[derive(Debug, Clone)]
enum Repr<'a> {
    None,
    One(&'a str),
    List(&'a [Value]),
    Owned(Vec<String>),
}

impl<'a> Roles<'a> {
    fn of(value: Option<&'a Value>) -> Self {
        Self(match value {
            Some(Value::String(role)) => Repr::One(role),
            Some(Value::Array(list)) => Repr::List(list),
            _ => Repr::None,
        })
    }

    /// Whether `role` is among them (exact, case-sensitive).
    #[must_use]
    pub fn contains(&self, role: &str) -> bool {
        match &self.0 {
            Repr::None => false,
            Repr::One(one) => *one == role,
            Repr::List(list) => list.iter().any(|v| v.as_str() == Some(role)),
            Repr::Owned(list) => list.iter().any(|r| r == role),
        }
    }

    /// The roles, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let (one, list, owned): (Option<&str>, &[Value], &[String]) = match &self.0 {
            Repr::None => (None, &[], &[]),
            Repr::One(one) => (Some(*one), &[], &[]),
            Repr::List(list) => (None, list, &[]),
            Repr::Owned(owned) => (None, &[], owned),
        };
        one.into_iter()
            .chain(list.iter().filter_map(Value::as_str))
            .chain(owned.iter().map(String::as_str))
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// The scopes a token grants: `scope` (space-separated, RFC 8693 / RFC 9068; Cognito,
/// Keycloak, Auth0) and `scp` (a space-separated string as Entra sends it, or an array as Okta
/// and Hydra send it), together ([`User::scopes`]).
///
/// Split once per verified token, on first use, and kept with the [`User`]: a token answered
/// from the verified-token cache is never split again.
///
/// ```
/// use jwks_auth::User;
/// let entra = User::from_claims(serde_json::json!({"scp": "Orders.Read Orders.Write"}));
/// assert!(entra.scopes().contains("Orders.Write"));
/// let okta = User::from_claims(serde_json::json!({"scp": ["orders:read"]}));
/// assert_eq!(okta.scopes().iter().collect::<Vec<_>>(), ["orders:read"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Scopes<'a> {
    granted: &'a [Box<str>],
}

impl<'a> Scopes<'a> {
    pub(crate) fn new(granted: &'a [Box<str>]) -> Self {
        Self { granted }
    }

    /// Whether `scope` is granted (exact, case-sensitive: RFC 6749 section 3.3).
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.granted.iter().any(|granted| **granted == *scope)
    }

    /// Every granted scope, `scope` first, then `scp`.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.granted.iter().map(|s| &**s)
    }

    /// Whether no scope is granted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.granted.is_empty()
    }
}

/// The granted scopes, split (see [`Scopes`]).
pub(crate) fn parse_scopes(claims: &Map<String, Value>) -> Box<[Box<str>]> {
    let words = |s: &str| {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .map(Box::from)
            .collect::<Vec<_>>()
    };
    let mut granted = claims
        .get("scope")
        .and_then(Value::as_str)
        .map(words)
        .unwrap_or_default();
    match claims.get("scp") {
        Some(Value::String(s)) => granted.extend(words(s)),
        Some(Value::Array(list)) => {
            granted.extend(list.iter().filter_map(Value::as_str).map(Box::from));
        }
        _ => {}
    }
    granted.into_boxed_slice()
}

// `User`'s authorization accessors live with the types they return, so that `user.rs` knows
// nothing of authorization (the arrows run authz -> user only).
impl User {
    /// The scopes the token grants: `scope` (space-separated) and `scp` (a string or an
    /// array), as [`Scopes`]. Split on the first call and kept (the verified-token cache
    /// shares one `User` per token), so checks on later requests neither parse nor allocate.
    #[must_use]
    pub fn scopes(&self) -> Scopes<'_> {
        Scopes::new(
            self.scope_cache()
                .get_or_init(|| parse_scopes(self.claims())),
        )
    }

    /// The user's roles (or groups, or permissions) from `source`, e.g.
    /// [`keycloak_realm`](crate::authz::keycloak_realm) or
    /// [`cognito_groups`](crate::authz::cognito_groups). Borrowed from the verified claims.
    ///
    /// # Errors
    /// [`AuthReason::GroupsOverage`](crate::AuthReason::GroupsOverage) when the source is
    /// [`entra_groups`](crate::authz::entra_groups) and Entra left the groups out of the
    /// token: the membership is unknown, not empty.
    pub fn roles(&self, source: &RoleSource) -> Result<Roles<'_>, AuthError> {
        source.roles(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn paths_are_pointers_or_literal_names() {
        let c = claims(json!({
            "a": {"b/c": {"~d": [10, 11]}},
            "cognito:groups": ["g"],
            "https://example.com/roles": ["r"],
        }));
        assert_eq!(
            ClaimPath::parse("/a/b~1c/~0d/1").resolve(&c),
            Some(&json!(11))
        );
        assert_eq!(ClaimPath::parse("/a/b~1c/~0d/01").resolve(&c), None);
        assert_eq!(ClaimPath::parse("/a/b~1c/~0d/+1").resolve(&c), None);
        assert_eq!(ClaimPath::parse("/a/x").resolve(&c), None);
        assert_eq!(ClaimPath::parse("").resolve(&c), None);
        assert_eq!(
            ClaimPath::parse("cognito:groups").resolve(&c),
            Some(&json!(["g"]))
        );
        assert_eq!(
            ClaimPath::parse("https://example.com/roles").resolve(&c),
            Some(&json!(["r"]))
        );
        let seg = ClaimPath::segments(&["a", "b/c", "~d"]);
        assert_eq!(seg.as_str(), "/a/b~1c/~0d");
        assert_eq!(seg.resolve(&c), Some(&json!([10, 11])));
    }

    #[test]
    fn scopes_split_strings_and_read_arrays() {
        let parsed = parse_scopes(&claims(json!({"scope": " a  b ", "scp": ["c", 7, "d"]})));
        let s = Scopes::new(&parsed);
        assert_eq!(s.iter().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        assert!(s.contains("d") && !s.contains("A") && !s.contains(""));
        let parsed = parse_scopes(&claims(json!({"scp": "x y", "scope": 3})));
        assert_eq!(Scopes::new(&parsed).iter().collect::<Vec<_>>(), ["x", "y"]);
        assert!(parse_scopes(&claims(json!({}))).is_empty());
    }

    #[test]
    fn roles_take_a_string_or_strings_and_nothing_else() {
        let user = User::from_claims(json!({"r": "one", "l": ["a", 1, "b"], "n": 5}));
        let roles = |p| RoleSource::claim(p).roles(&user).expect("no overage");
        assert_eq!(roles("r").iter().collect::<Vec<_>>(), ["one"]);
        assert_eq!(roles("/l").iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(roles("n").is_empty() && roles("absent").is_empty());
        let f = RoleSource::from_fn(|u| vec![u.sub().unwrap_or("x").to_owned()]);
        assert!(f.roles(&user).expect("roles").contains("x"));
    }
}
