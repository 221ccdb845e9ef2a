//! [`Require`]: one authorization requirement (scopes, roles, claims, combinations), checked
//! against a verified [`User`].

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::roles::{ClaimPath, RoleSource};
use crate::error::{AuthError, AuthReason};
use crate::user::User;

type CheckFn = Arc<dyn Fn(&User) -> Result<(), AuthReason> + Send + Sync>;

/// What a verified token must grant to reach a route: scopes, roles, claim values, your own
/// predicate, and [`any_of`](Self::any_of) / [`all_of`](Self::all_of) combinations. Cheap to
/// clone (one `Arc`).
///
/// Written once, a requirement is usable three ways: per route as a tower layer
/// (`.route_layer(Require::scope("orders:write"))`, see [`Authorize`](super::Authorize)), as
/// an axum extractor ([`Authorized`](super::Authorized)), and verifier-wide
/// ([`JwksVerifierBuilder::require`](crate::JwksVerifierBuilder::require)). It only reads the
/// [`User`] the authentication layer already verified: no token is parsed, no key fetched.
///
/// Refusals (403, [`AuthErrorKind::Forbidden`](crate::AuthErrorKind::Forbidden)):
///
/// | failed requirement | [`AuthReason`] | challenge |
/// |---|---|---|
/// | scope | [`InsufficientScope`](AuthReason::InsufficientScope) | `Bearer scope="<required scopes>", error="insufficient_scope", ...` |
/// | role | [`MissingRole`](AuthReason::MissingRole) | `Bearer error="insufficient_scope", error_description="missing required role"` |
/// | groups overage ([`entra_groups`](super::entra_groups)) | [`GroupsOverage`](AuthReason::GroupsOverage) | generic description |
/// | claim | [`ClaimNotAllowed`](AuthReason::ClaimNotAllowed) | generic description |
/// | predicate | [`RequirementNotMet`](AuthReason::RequirementNotMet) | generic description |
/// | [`check`](Self::check) | [`Policy`](AuthReason::Policy) with your text | your text |
///
/// Descriptions never name the user's roles or claim values.
///
/// ```
/// use jwks_auth::{AuthReason, Require, User};
/// use jwks_auth::authz::keycloak_realm;
/// let admin_or_writer = Require::any_of([
///     Require::role(keycloak_realm(), "admin"),
///     Require::all_of([Require::scope("orders:write"), Require::claim("/tenant", "acme")]),
/// ]);
/// let writer = User::from_claims(serde_json::json!({"scope": "orders:write", "tenant": "acme"}));
/// assert!(admin_or_writer.authorize(&writer).is_ok());
/// let reader = User::from_claims(serde_json::json!({"scope": "orders:read", "tenant": "acme"}));
/// let refused = admin_or_writer.authorize(&reader).unwrap_err();
/// assert_eq!(refused.reason(), AuthReason::InsufficientScope);
/// assert_eq!(refused.required_scope(), Some("orders:write"));
/// ```
#[derive(Clone)]
#[must_use]
pub struct Require {
    node: Arc<Node>,
}

enum Node {
    Authenticated,
    Scope(Arc<str>),
    Role {
        source: RoleSource,
        role: Box<str>,
    },
    Claim {
        path: ClaimPath,
        value: Value,
    },
    Check {
        label: &'static str,
        check: CheckFn,
    },
    All {
        children: Box<[Require]>,
        /// Every scope the combination needs, for the challenge.
        scope: Option<Arc<str>>,
    },
    Any {
        children: Box<[Require]>,
    },
}

/// Why a requirement failed, before it becomes an [`AuthError`].
enum Fail {
    /// Scopes would be enough: these (space-separated) are required.
    Scope(Arc<str>),
    Other(AuthReason),
}

impl Require {
    fn new(node: Node) -> Self {
        Self {
            node: Arc::new(node),
        }
    }

    /// Every authenticated user (no further condition). Useful in [`any_of`](Self::any_of)
    /// and as an explicit "authenticated only" route requirement.
    pub fn authenticated() -> Self {
        Self::new(Node::Authenticated)
    }

    /// The token grants `scope` (in `scope` or `scp`, see [`Scopes`](super::Scopes)).
    ///
    /// Refused with 403 `insufficient_scope` and `scope="<scope>"` in the challenge (RFC
    /// 6750 section 3.1).
    ///
    /// A scope token has no spaces (RFC 6749 section 3.3), so a space-separated string is read
    /// as the list it spells, as a `scope` claim is: `scope("a b")` is `scopes(["a", "b"])`.
    pub fn scope(scope: impl Into<String>) -> Self {
        let scope = scope.into();
        if scope.contains(char::is_whitespace) {
            return Self::scopes(
                scope
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            );
        }
        Self::new(Node::Scope(Arc::from(scope)))
    }

    /// The token grants every one of `scopes` (the challenge lists them all).
    pub fn scopes<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::all_of(scopes.into_iter().map(Self::scope))
    }

    /// The user holds `role` in `source` (exact, case-sensitive).
    pub fn role(source: RoleSource, role: impl Into<String>) -> Self {
        Self::new(Node::Role {
            source,
            role: role.into().into_boxed_str(),
        })
    }

    /// The claim at `path` equals `value` or, when the claim is an array (and `value` is not),
    /// contains it. `path` is a JSON pointer (`/org/id`) or, without a leading `/`, one
    /// top-level claim name taken literally.
    pub fn claim(path: &str, value: impl Into<Value>) -> Self {
        Self::new(Node::Claim {
            path: ClaimPath::parse(path),
            value: value.into(),
        })
    }

    /// Your predicate: `false` refuses with 403 and the generic
    /// [`RequirementNotMet`](AuthReason::RequirementNotMet).
    pub fn predicate(predicate: impl Fn(&User) -> bool + Send + Sync + 'static) -> Self {
        Self::from_check("predicate", move |user| {
            if predicate(user) {
                Ok(())
            } else {
                Err(AuthReason::RequirementNotMet)
            }
        })
    }

    /// Your check, with its own refusal text: `Err(description)` refuses with 403 and
    /// [`AuthReason::Policy`] (the description goes into the response: keep it generic).
    /// The same shape as [`JwksVerifierBuilder::claims_check`](crate::JwksVerifierBuilder::claims_check).
    pub fn check(
        check: impl Fn(&User) -> Result<(), &'static str> + Send + Sync + 'static,
    ) -> Self {
        Self::from_check("check", move |user| check(user).map_err(AuthReason::Policy))
    }

    pub(crate) fn from_check(
        label: &'static str,
        check: impl Fn(&User) -> Result<(), AuthReason> + Send + Sync + 'static,
    ) -> Self {
        Self::new(Node::Check {
            label,
            check: Arc::new(check),
        })
    }

    /// Every requirement must hold; the first that fails gives the refusal (a scope refusal
    /// lists every scope the combination needs).
    ///
    /// An empty list refuses everyone: it is far more likely a configuration slip than an
    /// intent to let every user through (say that with [`authenticated`](Self::authenticated)).
    pub fn all_of(requirements: impl IntoIterator<Item = Self>) -> Self {
        let children: Box<[Self]> = requirements.into_iter().collect();
        let mut scopes: Vec<&str> = Vec::new();
        for child in &children {
            for scope in child.scope_hint().into_iter().flat_map(|s| s.split(' ')) {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
        let scope = (!scopes.is_empty()).then(|| Arc::from(scopes.join(" ")));
        Self::new(Node::All { children, scope })
    }

    /// At least one requirement must hold. When none does, the refusal is the first
    /// alternative that scopes alone would satisfy (so the challenge names scopes that would be
    /// enough), else a groups overage if one was met (membership could not be read), else the
    /// first alternative's refusal. An empty list refuses everyone.
    pub fn any_of(requirements: impl IntoIterator<Item = Self>) -> Self {
        Self::new(Node::Any {
            children: requirements.into_iter().collect(),
        })
    }

    /// Checks `user`: `Ok` when the requirement holds, else the 403 [`AuthError`] (with the
    /// required scopes in [`AuthError::required_scope`] for a scope refusal).
    ///
    /// # Errors
    /// The refusal, as described on [`Require`].
    pub fn authorize(&self, user: &User) -> Result<(), AuthError> {
        self.eval(user).map_err(|fail| match fail {
            Fail::Scope(scope) => AuthError::insufficient_scope(scope),
            Fail::Other(reason) => AuthError::new(reason),
        })
    }

    /// The scopes that would satisfy this requirement alone, if scopes can.
    fn scope_hint(&self) -> Option<&str> {
        match &*self.node {
            Node::Scope(scope) => Some(scope),
            Node::All { scope, .. } => scope.as_deref(),
            Node::Any { children } => children.iter().find_map(Self::scope_hint),
            _ => None,
        }
    }

    fn eval(&self, user: &User) -> Result<(), Fail> {
        match &*self.node {
            Node::Authenticated => Ok(()),
            Node::Scope(scope) => {
                if user.scopes().contains(scope) {
                    Ok(())
                } else {
                    Err(Fail::Scope(Arc::clone(scope)))
                }
            }
            Node::Role { source, role } => match source.roles(user) {
                Ok(roles) if roles.contains(role) => Ok(()),
                Ok(_) => Err(Fail::Other(AuthReason::MissingRole)),
                Err(e) => Err(Fail::Other(e.reason())),
            },
            Node::Claim { path, value } => {
                let found = path.resolve(user.claims());
                if claim_matches(found, value) {
                    Ok(())
                } else {
                    Err(Fail::Other(AuthReason::ClaimNotAllowed))
                }
            }
            Node::Check { check, .. } => check(user).map_err(Fail::Other),
            Node::All { children, scope } => {
                if children.is_empty() {
                    return Err(Fail::Other(AuthReason::RequirementNotMet));
                }
                for child in children {
                    match child.eval(user) {
                        Ok(()) => {}
                        Err(Fail::Scope(one)) => {
                            return Err(Fail::Scope(scope.clone().unwrap_or(one)));
                        }
                        Err(other) => return Err(other),
                    }
                }
                Ok(())
            }
            Node::Any { children } => {
                let mut refusal: Option<Fail> = None;
                for child in children {
                    let fail = match child.eval(user) {
                        Ok(()) => return Ok(()),
                        Err(fail) => fail,
                    };
                    refusal = Some(match (refusal, fail) {
                        (Some(Fail::Scope(s)), _) => Fail::Scope(s),
                        (_, Fail::Scope(s)) => Fail::Scope(s),
                        (Some(Fail::Other(AuthReason::GroupsOverage)), _) => {
                            Fail::Other(AuthReason::GroupsOverage)
                        }
                        (_, Fail::Other(AuthReason::GroupsOverage)) => {
                            Fail::Other(AuthReason::GroupsOverage)
                        }
                        (Some(first), _) => first,
                        (None, fail) => fail,
                    });
                }
                Err(refusal.unwrap_or(Fail::Other(AuthReason::RequirementNotMet)))
            }
        }
    }
}

/// Equal, or contained in an array claim when the expected value is not itself an array.
fn claim_matches(found: Option<&Value>, expected: &Value) -> bool {
    match found {
        Some(Value::Array(list)) if !expected.is_array() => list.contains(expected),
        Some(found) => found == expected,
        None => false,
    }
}

impl fmt::Debug for Require {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.node {
            Node::Authenticated => f.write_str("Authenticated"),
            Node::Scope(scope) => f.debug_tuple("Scope").field(scope).finish(),
            Node::Role { source, role } => f.debug_tuple("Role").field(source).field(role).finish(),
            Node::Claim { path, value } => f.debug_tuple("Claim").field(path).field(value).finish(),
            Node::Check { label, .. } => write!(f, "{label}(<fn>)"),
            Node::All { children, .. } => f.debug_tuple("AllOf").field(children).finish(),
            Node::Any { children } => f.debug_tuple("AnyOf").field(children).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{entra_groups, keycloak_realm};
    use serde_json::json;

    fn user(claims: Value) -> User {
        User::from_claims(claims)
    }

    fn reason(r: &Require, u: &User) -> Option<(AuthReason, Option<String>)> {
        r.authorize(u)
            .err()
            .map(|e| (e.reason(), e.required_scope().map(str::to_owned)))
    }

    #[test]
    fn a_space_separated_scope_is_the_list_it_spells() {
        let r = Require::scope("a b");
        assert!(r.authorize(&user(json!({"scope": "b a"}))).is_ok());
        assert_eq!(
            reason(&r, &user(json!({"scope": "a"}))),
            Some((AuthReason::InsufficientScope, Some("a b".into())))
        );
    }

    #[test]
    fn all_of_lists_every_required_scope_and_keeps_order() {
        let r = Require::scopes(["a", "b", "a"]);
        let got = reason(&r, &user(json!({"scope": "a"})));
        assert_eq!(
            got,
            Some((AuthReason::InsufficientScope, Some("a b".into())))
        );
        assert!(r.authorize(&user(json!({"scp": ["b", "a"]}))).is_ok());
        // The first failing child decides: a role before a scope.
        let r = Require::all_of([Require::role(keycloak_realm(), "x"), Require::scope("s")]);
        assert_eq!(
            reason(&r, &user(json!({}))),
            Some((AuthReason::MissingRole, None))
        );
    }

    #[test]
    fn any_of_prefers_a_scope_alternative_then_overage() {
        let r = Require::any_of([
            Require::role(keycloak_realm(), "admin"),
            Require::scope("orders:admin"),
        ]);
        assert_eq!(
            reason(&r, &user(json!({}))),
            Some((AuthReason::InsufficientScope, Some("orders:admin".into())))
        );
        let r = Require::any_of([
            Require::claim("/tenant", "acme"),
            Require::role(entra_groups(), "g1"),
        ]);
        let overage = user(json!({"_claim_names": {"groups": "src1"}}));
        assert_eq!(
            reason(&r, &overage),
            Some((AuthReason::GroupsOverage, None))
        );
        assert!(r.authorize(&user(json!({"tenant": "acme"}))).is_ok());
    }

    #[test]
    fn empty_combinations_refuse_and_authenticated_allows() {
        let u = user(json!({"sub": "x"}));
        for r in [Require::all_of([]), Require::any_of([])] {
            assert_eq!(reason(&r, &u), Some((AuthReason::RequirementNotMet, None)));
        }
        assert!(Require::authenticated().authorize(&u).is_ok());
    }

    #[test]
    fn claims_match_values_and_array_members() {
        let u = user(json!({"tenant": "acme", "orgs": ["a", "b"], "n": 3, "o": {"k": [1]}}));
        assert!(Require::claim("tenant", "acme").authorize(&u).is_ok());
        assert!(Require::claim("/orgs", "b").authorize(&u).is_ok());
        assert!(
            Require::claim("/orgs", json!(["a", "b"]))
                .authorize(&u)
                .is_ok()
        );
        assert!(Require::claim("/n", 3).authorize(&u).is_ok());
        assert!(Require::claim("/o/k", 1).authorize(&u).is_ok());
        for refused in [
            Require::claim("/tenant", "ACME"),
            Require::claim("/orgs", "c"),
            Require::claim("/n", "3"),
            Require::claim("/absent", Value::Null),
        ] {
            assert_eq!(
                reason(&refused, &u),
                Some((AuthReason::ClaimNotAllowed, None)),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn predicates_and_checks_and_debug() {
        let u = user(json!({"sub": "x"}));
        let p = Require::predicate(|u| u.sub() == Some("y"));
        assert_eq!(reason(&p, &u), Some((AuthReason::RequirementNotMet, None)));
        let c = Require::check(|_| Err("staff only"));
        assert_eq!(
            reason(&c, &u),
            Some((AuthReason::Policy("staff only"), None))
        );
        let debug = format!("{:?}", Require::any_of([p, c, Require::scope("s")]));
        assert_eq!(
            debug,
            r#"AnyOf([predicate(<fn>), check(<fn>), Scope("s")])"#
        );
    }
}
