//! The extractor form of a requirement: [`Authorized<R>`], with [`Requirement`] naming the
//! requirement as a type.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::Require;
use crate::extract::{AuthRejection, user_or_none};
use crate::user::User;

/// A requirement named by a type, for the [`Authorized`] extractor. Declare one with
/// [`requirement!`](crate::requirement), or implement it with a `static`:
///
/// ```
/// use std::sync::LazyLock;
/// use jwks_auth::Require;
/// use jwks_auth::authz::Requirement;
///
/// struct OrdersWrite;
/// impl Requirement for OrdersWrite {
///     fn requirement() -> &'static Require {
///         static R: LazyLock<Require> = LazyLock::new(|| Require::scope("orders:write"));
///         &R
///     }
/// }
/// ```
pub trait Requirement: Send + Sync + 'static {
    /// The requirement (built once: a `static`).
    fn requirement() -> &'static Require;
}

/// Declares a unit type implementing [`Requirement`](crate::authz::Requirement), for the
/// [`Authorized`](crate::authz::Authorized) extractor. The expression is evaluated once, on
/// first use.
///
/// ```
/// use jwks_auth::{Require, requirement};
/// use jwks_auth::authz::{Authorized, keycloak_realm};
///
/// requirement!(pub Admin = Require::role(keycloak_realm(), "admin"));
///
/// async fn admin_only(user: Authorized<Admin>) -> String {
///     format!("hello admin {:?}", user.sub())
/// }
/// ```
#[macro_export]
macro_rules! requirement {
    ($(#[$meta:meta])* $vis:vis $name:ident = $requirement:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;

        impl $crate::authz::Requirement for $name {
            fn requirement() -> &'static $crate::Require {
                static REQUIREMENT: ::std::sync::LazyLock<$crate::Require> =
                    ::std::sync::LazyLock::new(|| $requirement);
                &REQUIREMENT
            }
        }
    };
}

/// The [`User`], admitted by the requirement `R`: the extractor form of a [`Require`] layer,
/// for one handler. Dereferences to [`User`].
///
/// Refusals are the layer's (403 per [`Require`]; 401 `Bearer` on an anonymous request of an
/// [`optional`](crate::JwksAuthLayer::optional) layer; 500 naming the fix when no
/// authentication layer runs in front), answered by the authentication layer's
/// [`RejectionHandler`](crate::RejectionHandler), as [`AuthRejection`].
///
/// ```
/// use jwks_auth::{Require, requirement};
/// use jwks_auth::authz::Authorized;
///
/// requirement!(OrdersWrite = Require::scope("orders:write"));
///
/// async fn create_order(user: Authorized<OrdersWrite>) -> String {
///     format!("created by {:?}", user.sub())
/// }
/// ```
pub struct Authorized<R> {
    user: User,
    requirement: PhantomData<fn() -> R>,
}

impl<R> Authorized<R> {
    /// The user.
    #[must_use]
    pub fn into_user(self) -> User {
        self.user
    }
}

impl<R> Deref for Authorized<R> {
    type Target = User;

    fn deref(&self) -> &User {
        &self.user
    }
}

impl<R> Clone for Authorized<R> {
    fn clone(&self) -> Self {
        Self {
            user: self.user.clone(),
            requirement: PhantomData,
        }
    }
}

impl<R> fmt::Debug for Authorized<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorized").field(&self.user).finish()
    }
}

impl<S: Send + Sync, R: Requirement> FromRequestParts<S> for Authorized<R> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = user_or_none(parts)?
            .ok_or_else(|| AuthRejection::refused(parts, crate::AuthError::missing(), None))?;
        R::requirement()
            .authorize(&user)
            .map_err(|e| AuthRejection::refused(parts, e, None))?;
        Ok(Self {
            user,
            requirement: PhantomData,
        })
    }
}
