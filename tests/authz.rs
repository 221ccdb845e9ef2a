//! Authorization per route (issue 15): one `JwksAuthLayer`, routes with different
//! requirements, every role source in its provider's token shape, combinations, the extractor
//! form, the verifier-wide form, Cloudflare Access policies per route.

mod common;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use bytes::Bytes;
use common::{Reply, builder, send};
use http::{Request, StatusCode};
use jwks_auth::authz::{
    Authorized, RoleSource, auth0_permissions, cognito_groups, entra_groups, entra_roles,
    keycloak_client, keycloak_realm, okta_groups,
};
use jwks_auth::cloudflare::{AccessPolicy, CloudflareAccess};
use jwks_auth::testing::MockIdp;
use jwks_auth::{AuthError, AuthReason, JwksAuthLayer, Require, User, requirement};
use serde_json::{Value, json};
use tower::ServiceExt;

requirement!(OrdersWrite = Require::scope("orders:write"));

const SCOPE_WRITE: &str = r#"Bearer scope="orders:write", error="insufficient_scope", error_description="insufficient scope""#;

/// (method, path, token, status, challenge, body)
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    u16,
    Option<&'a str>,
    String,
);

fn forbidden(description: &str) -> String {
    format!(r#"Bearer error="insufficient_scope", error_description="{description}""#)
}

fn detail(description: &str) -> String {
    json!({ "detail": description }).to_string()
}

async fn call(app: &Router, method: &str, path: &str, token: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(app, request.body(Body::empty()).expect("request")).await
}

fn sub(user: &User) -> String {
    user.sub().unwrap_or("-").to_owned()
}

/// One router, one optional `JwksAuthLayer`, a requirement per route.
fn orders_app(layer: JwksAuthLayer) -> Router {
    let either = Require::any_of([
        Require::role(keycloak_realm(), "admin"),
        Require::all_of([
            Require::scope("orders:write"),
            Require::claim("/tenant", "acme"),
        ]),
    ]);
    Router::new()
        .route(
            "/public",
            get(|user: Option<User>| async move { user.map_or("anonymous".into(), |u| sub(&u)) }),
        )
        .route(
            "/orders",
            get(|user: User| async move { format!("list for {}", sub(&user)) })
                .route_layer(Require::scope("orders:read")),
        )
        .route(
            "/orders",
            post(|user: User| async move { format!("created by {}", sub(&user)) })
                .route_layer(Require::scope("orders:write")),
        )
        .route(
            "/admin",
            get(|| async { "admin" }).route_layer(Require::role(keycloak_realm(), "admin")),
        )
        .route(
            "/tenant",
            get(|| async { "acme" }).route_layer(Require::claim("/tenant", "acme")),
        )
        .route("/either", get(|| async { "either" }).route_layer(either))
        .route(
            "/extract",
            post(
                |user: Authorized<OrdersWrite>| async move { format!("extracted {}", sub(&user)) },
            ),
        )
        .layer(layer.optional())
}

#[tokio::test]
async fn one_layer_many_routes_each_answers_its_own_requirement_with_one_jwks_fetch() {
    let idp = MockIdp::start().await;
    let app = orders_app(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    let reader = idp
        .token()
        .subject("reader")
        .claim("scope", json!("orders:read"))
        .claim("tenant", json!("acme"))
        .sign();
    let writer = idp
        .token()
        .subject("writer")
        .claim("scope", json!("orders:read orders:write"))
        .claim("tenant", json!("acme"))
        .sign();
    let admin = idp
        .token()
        .subject("admin")
        .claim("realm_access", json!({"roles": ["admin"]}))
        .claim("tenant", json!("globex"))
        .sign();
    let forged = format!("{}x", &writer[..writer.len() - 1]);
    let missing_role = forbidden("missing required role");
    let wrong_claim = forbidden("required claim value missing");

    let cases: Vec<Case<'_>> = vec![
        ("GET", "/public", None, 200, None, "anonymous".into()),
        ("GET", "/public", Some(&reader), 200, None, "reader".into()),
        (
            "GET",
            "/orders",
            Some(&reader),
            200,
            None,
            "list for reader".into(),
        ),
        (
            "GET",
            "/orders",
            Some(&admin),
            403,
            Some(
                r#"Bearer scope="orders:read", error="insufficient_scope", error_description="insufficient scope""#,
            ),
            detail("insufficient scope"),
        ),
        (
            "GET",
            "/orders",
            None,
            401,
            Some("Bearer"),
            detail("missing bearer token"),
        ),
        (
            "POST",
            "/orders",
            Some(&writer),
            200,
            None,
            "created by writer".into(),
        ),
        (
            "POST",
            "/orders",
            Some(&reader),
            403,
            Some(SCOPE_WRITE),
            detail("insufficient scope"),
        ),
        (
            "POST",
            "/orders",
            None,
            401,
            Some("Bearer"),
            detail("missing bearer token"),
        ),
        (
            "POST",
            "/orders",
            Some(&forged),
            401,
            Some(r#"Bearer error="invalid_token", error_description="invalid signature""#),
            detail("invalid signature"),
        ),
        ("GET", "/admin", Some(&admin), 200, None, "admin".into()),
        (
            "GET",
            "/admin",
            Some(&writer),
            403,
            Some(&missing_role),
            detail("missing required role"),
        ),
        (
            "GET",
            "/admin",
            None,
            401,
            Some("Bearer"),
            detail("missing bearer token"),
        ),
        ("GET", "/tenant", Some(&reader), 200, None, "acme".into()),
        (
            "GET",
            "/tenant",
            Some(&admin),
            403,
            Some(&wrong_claim),
            detail("required claim value missing"),
        ),
        ("GET", "/either", Some(&admin), 200, None, "either".into()),
        ("GET", "/either", Some(&writer), 200, None, "either".into()),
        // Neither alternative: the scope alternative names what would be enough.
        (
            "GET",
            "/either",
            Some(&reader),
            403,
            Some(SCOPE_WRITE),
            detail("insufficient scope"),
        ),
        (
            "POST",
            "/extract",
            Some(&writer),
            200,
            None,
            "extracted writer".into(),
        ),
        (
            "POST",
            "/extract",
            Some(&reader),
            403,
            Some(SCOPE_WRITE),
            detail("insufficient scope"),
        ),
        (
            "POST",
            "/extract",
            None,
            401,
            Some("Bearer"),
            detail("missing bearer token"),
        ),
    ];
    // Twice: the second round comes from the verified-token cache and must answer the same.
    for round in 0..2 {
        for (method, path, token, status, challenge, body) in &cases {
            let reply = call(&app, method, path, *token).await;
            let case = format!("round {round}: {method} {path} {token:?}");
            assert_eq!(reply.status.as_u16(), *status, "{case}: {}", reply.body);
            assert_eq!(reply.challenge(), *challenge, "{case}");
            assert_eq!(&reply.body, body, "{case}");
        }
    }
    assert_eq!(idp.jwks_fetches(), 1, "one key set for every route");
}

#[tokio::test]
async fn refusals_go_through_the_layers_rejection_handler_with_the_error_attached() {
    let idp = MockIdp::start().await;
    let layer =
        JwksAuthLayer::new(builder(&idp).build().expect("config")).rejection(|e: &AuthError| {
            http::Response::builder()
                .status(e.status())
                .body(Bytes::from(format!(
                    "custom {} {}",
                    e.reason().code(),
                    e.required_scope().unwrap_or("-")
                )))
                .expect("response")
        });
    let app = orders_app(layer);
    let reader = idp.token().claim("scope", json!("orders:read")).sign();
    for (method, path, token, status, body) in [
        (
            "POST",
            "/orders",
            Some(&reader),
            403,
            "custom insufficient_scope orders:write",
        ),
        (
            "POST",
            "/extract",
            Some(&reader),
            403,
            "custom insufficient_scope orders:write",
        ),
        ("GET", "/admin", Some(&reader), 403, "custom missing_role -"),
        ("GET", "/admin", None, 401, "custom missing_token -"),
    ] {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let error = response.extensions().get::<AuthError>().cloned();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(bytes, body.as_bytes(), "{method} {path}");
        assert_eq!(
            error.map(|e| e.reason().code()),
            body.split(' ').nth(1),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_requirement_without_an_authentication_layer_is_a_500_naming_the_fix() {
    let app = Router::new()
        .route(
            "/layer",
            get(|| async { "never" }).route_layer(Require::scope("a")),
        )
        .route(
            "/extract",
            post(|_: Authorized<OrdersWrite>| async { "never" }),
        );
    for (method, path) in [("GET", "/layer"), ("POST", "/extract")] {
        let reply = call(&app, method, path, Some("a.b.c")).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(reply.challenge(), None);
        assert!(
            reply.body.contains("JwksAuthLayer"),
            "{path}: {}",
            reply.body
        );
    }
}

/// Routes per provider role source: `/<name>` requires `role` from that source.
fn provider_app(idp: &MockIdp) -> Router {
    let routes: Vec<(&str, Require)> = vec![
        ("/keycloak/realm", Require::role(keycloak_realm(), "admin")),
        (
            "/keycloak/client",
            Require::role(keycloak_client("orders-api"), "clerk"),
        ),
        (
            "/keycloak/client-admin",
            Require::role(keycloak_client("orders-api"), "admin"),
        ),
        ("/entra/role", Require::role(entra_roles(), "Orders.Admin")),
        (
            "/entra/group",
            Require::role(entra_groups(), "5f1c3a2e-8b7d-4c6e-9a0f-1b2c3d4e5f60"),
        ),
        ("/entra/scope", Require::scope("Orders.Write")),
        ("/cognito", Require::role(cognito_groups(), "admins")),
        ("/cognito/scope", Require::scope("orders/read")),
        ("/auth0", Require::role(auth0_permissions(), "read:orders")),
        (
            "/auth0/ns",
            Require::role(RoleSource::claim("https://example.com/roles"), "editor"),
        ),
        ("/okta", Require::role(okta_groups(), "Admins")),
        ("/okta/scope", Require::scope("orders:read")),
    ];
    let mut app = Router::new();
    for (path, require) in routes {
        app = app.route(path, get(|| async { "ok" }).route_layer(require));
    }
    app.layer(JwksAuthLayer::new(builder(idp).build().expect("config")))
}

async fn status_of(app: &Router, path: &str, token: &str) -> (u16, String) {
    let reply = call(app, "GET", path, Some(token)).await;
    (reply.status.as_u16(), reply.body)
}

#[tokio::test]
async fn keycloak_realm_and_client_roles_are_kept_apart() {
    let idp = MockIdp::start().await;
    let app = provider_app(&idp);
    // Keycloak's access-token shape: realm roles, roles per client, `azp`, `scope` string.
    let token = idp
        .token()
        .claim("typ", json!("Bearer"))
        .claim("azp", json!("orders-web"))
        .claim("scope", json!("openid profile"))
        .claim(
            "realm_access",
            json!({"roles": ["offline_access", "uma_authorization"]}),
        )
        .claim(
            "resource_access",
            json!({
                "orders-api": {"roles": ["clerk"]},
                "account": {"roles": ["admin", "manage-account"]},
            }),
        )
        .sign();
    let role = detail("missing required role");
    assert_eq!(
        status_of(&app, "/keycloak/client", &token).await,
        (200, "ok".into())
    );
    // `admin` of another client is neither a realm role nor an orders-api role.
    assert_eq!(
        status_of(&app, "/keycloak/realm", &token).await,
        (403, role.clone())
    );
    assert_eq!(
        status_of(&app, "/keycloak/client-admin", &token).await,
        (403, role.clone())
    );
    let realm_admin = idp
        .token()
        .claim("realm_access", json!({"roles": ["admin"]}))
        .sign();
    assert_eq!(
        status_of(&app, "/keycloak/realm", &realm_admin).await,
        (200, "ok".into())
    );
    // A realm role is not a client role either.
    assert_eq!(
        status_of(&app, "/keycloak/client-admin", &realm_admin).await,
        (403, role)
    );
}

#[tokio::test]
async fn entra_roles_groups_scp_string_and_the_groups_overage() {
    let idp = MockIdp::start().await;
    let app = provider_app(&idp);
    let entra = |groups: Option<Value>| {
        let t = idp
            .token()
            .claim("ver", json!("2.0"))
            .claim("tid", json!("72f988bf-86f1-41af-91ab-2d7cd011db47"))
            .claim("azp", json!("6e74172b-be56-4843-9ff4-e66a39bb12e3"))
            .claim("scp", json!("Orders.Read Orders.Write"))
            .claim("roles", json!(["Orders.Admin"]));
        match groups {
            Some(groups) => t.claim("groups", groups),
            None => t,
        }
        .sign()
    };
    let member = entra(Some(json!(["5f1c3a2e-8b7d-4c6e-9a0f-1b2c3d4e5f60"])));
    for path in ["/entra/role", "/entra/group", "/entra/scope"] {
        assert_eq!(
            status_of(&app, path, &member).await,
            (200, "ok".into()),
            "{path}"
        );
    }
    let not_member = entra(Some(json!(["00000000-0000-0000-0000-000000000001"])));
    assert_eq!(
        status_of(&app, "/entra/group", &not_member).await,
        (403, detail("missing required role"))
    );
    let no_groups = entra(None);
    assert_eq!(
        status_of(&app, "/entra/group", &no_groups).await,
        (403, detail("missing required role"))
    );

    // Over 200 groups: no `groups`, a pointer to Graph instead. Not "not a member".
    let overage = idp
        .token()
        .claim("ver", json!("2.0"))
        .claim("_claim_names", json!({"groups": "src1"}))
        .claim(
            "_claim_sources",
            json!({"src1": {"endpoint": "https://graph.windows.net/72f988bf/users/oid/getMemberObjects"}}),
        )
        .sign();
    let reply = call(&app, "GET", "/entra/group", Some(&overage)).await;
    reply.assert_refused(
        StatusCode::FORBIDDEN,
        &detail("group membership not in token (groups overage)"),
        Some(&forbidden("group membership not in token (groups overage)")),
    );
    // `hasgroups` as a boolean, or (a reviewer's case) as the string "true".
    for flag in [json!(true), json!("true")] {
        let implicit = idp.token().claim("hasgroups", flag).sign();
        let reply = call(&app, "GET", "/entra/group", Some(&implicit)).await;
        assert_eq!(
            reply.body,
            detail("group membership not in token (groups overage)")
        );
    }
    // The overage concerns groups only: app roles still decide.
    assert_eq!(status_of(&app, "/entra/role", &overage).await.0, 403);

    // The same, as a typed reason on the verified user.
    let verifier = builder(&idp).build().expect("config");
    let user = verifier.verify(&overage).await.expect("valid token");
    assert_eq!(
        user.roles(&entra_groups())
            .map(|r| r.is_empty())
            .unwrap_err()
            .reason(),
        AuthReason::GroupsOverage
    );
    let user = verifier.verify(&member).await.expect("valid token");
    assert!(user.scopes().contains("Orders.Write"));
    assert_eq!(
        user.roles(&entra_roles())
            .expect("roles")
            .iter()
            .collect::<Vec<_>>(),
        ["Orders.Admin"]
    );
}

#[tokio::test]
async fn cognito_auth0_and_okta_shapes() {
    let idp = MockIdp::start().await;
    let app = provider_app(&idp);
    let role = detail("missing required role");

    // Cognito access token: no `aud`, `client_id`, `token_use`, `scope` string, groups array.
    let cognito = idp
        .token()
        .claim("token_use", json!("access"))
        .claim("client_id", json!("4nq3d5kmf7t4ig6ghkj2example"))
        .claim("scope", json!("orders/read aws.cognito.signin.user.admin"))
        .claim("cognito:groups", json!(["admins", "staff"]))
        .sign();
    assert_eq!(
        status_of(&app, "/cognito", &cognito).await,
        (200, "ok".into())
    );
    assert_eq!(
        status_of(&app, "/cognito/scope", &cognito).await,
        (200, "ok".into())
    );
    let staff = idp.token().claim("cognito:groups", json!(["staff"])).sign();
    assert_eq!(
        status_of(&app, "/cognito", &staff).await,
        (403, role.clone())
    );

    // Auth0: RBAC `permissions` array, namespaced role claim from an Action.
    let auth0 = idp
        .token()
        .claim("azp", json!("zv2V3L9Q8aTestClient"))
        .claim("scope", json!("openid read:orders"))
        .claim("permissions", json!(["read:orders", "write:orders"]))
        .claim("https://example.com/roles", json!(["editor"]))
        .sign();
    assert_eq!(status_of(&app, "/auth0", &auth0).await, (200, "ok".into()));
    assert_eq!(
        status_of(&app, "/auth0/ns", &auth0).await,
        (200, "ok".into())
    );
    // A permission is not granted by the scope of the same name, nor the reverse.
    let scope_only = idp.token().claim("scope", json!("read:orders")).sign();
    assert_eq!(
        status_of(&app, "/auth0", &scope_only).await,
        (403, role.clone())
    );

    // Okta custom AS: `scp` array, `cid`, custom `groups` claim.
    let okta = idp
        .token()
        .claim("ver", json!(1))
        .claim("cid", json!("0oa1b2c3d4EXAMPLE"))
        .claim("scp", json!(["openid", "orders:read"]))
        .claim("groups", json!(["Everyone", "Admins"]))
        .sign();
    assert_eq!(status_of(&app, "/okta", &okta).await, (200, "ok".into()));
    assert_eq!(
        status_of(&app, "/okta/scope", &okta).await,
        (200, "ok".into())
    );
    let everyone = idp
        .token()
        .claim("groups", json!(["Everyone"]))
        .claim("scp", json!(["openid"]))
        .sign();
    assert_eq!(status_of(&app, "/okta", &everyone).await, (403, role));
    let reply = call(&app, "GET", "/okta/scope", Some(&everyone)).await;
    assert_eq!(
        reply.challenge(),
        Some(
            r#"Bearer scope="orders:read", error="insufficient_scope", error_description="insufficient scope""#
        )
    );
}

#[test]
fn any_of_all_of_nesting_decides_like_boolean_logic() {
    let admin = || Require::role(keycloak_realm(), "admin");
    let tree = Require::any_of([
        Require::all_of([admin(), Require::claim("/tenant", "acme")]),
        Require::all_of([
            Require::scope("orders:write"),
            Require::any_of([
                Require::claim("/tenant", "acme"),
                Require::claim("/tenant", "globex"),
            ]),
        ]),
        Require::predicate(|u| u.sub() == Some("root")),
    ]);
    let user = |claims: Value| User::from_claims(claims);
    let admin_acme = json!({"realm_access": {"roles": ["admin"]}, "tenant": "acme"});
    let admin_initech = json!({"realm_access": {"roles": ["admin"]}, "tenant": "initech"});
    let writer_globex = json!({"scope": "orders:write", "tenant": "globex"});
    let writer_initech = json!({"scope": "orders:write", "tenant": "initech"});
    let root = json!({"sub": "root"});
    let nobody = json!({"sub": "x", "tenant": "acme"});
    for (claims, expected) in [
        (admin_acme, None),
        (writer_globex, None),
        (root, None),
        // Scopes alone would have been enough (second alternative): named in the challenge.
        (
            admin_initech,
            Some((AuthReason::InsufficientScope, Some("orders:write"))),
        ),
        (
            nobody,
            Some((AuthReason::InsufficientScope, Some("orders:write"))),
        ),
        (
            // Its scopes are granted, the tenant is wrong: no alternative is a matter of
            // scopes, so the first alternative's reason.
            writer_initech.clone(),
            Some((AuthReason::MissingRole, None)),
        ),
    ] {
        let got = tree.authorize(&user(claims.clone())).err();
        let got = got.as_ref().map(|e| (e.reason(), e.required_scope()));
        assert_eq!(got, expected, "{claims}");
    }
    // Without a scope alternative, the first alternative's reason.
    let no_scopes = Require::any_of([
        Require::all_of([admin(), Require::claim("/tenant", "acme")]),
        Require::claim("/tenant", "globex"),
    ]);
    let refused = no_scopes.authorize(&user(writer_initech)).unwrap_err();
    assert_eq!(
        (refused.reason(), refused.required_scope()),
        (AuthReason::MissingRole, None)
    );
    // all_of inside all_of: every scope of the tree is listed, once.
    let nested = Require::all_of([
        Require::scope("a"),
        Require::all_of([Require::scope("b"), Require::scopes(["a", "c"])]),
    ]);
    let refused = nested
        .authorize(&user(json!({"scope": "a b"})))
        .unwrap_err();
    assert_eq!(refused.required_scope(), Some("a b c"));
    assert!(nested.authorize(&user(json!({"scp": "c b a"}))).is_ok());
}

#[tokio::test]
async fn one_requirement_verifier_wide_or_per_route_refuses_the_same_way() {
    let idp = MockIdp::start().await;
    let requirement = Require::all_of([
        Require::scope("orders:write"),
        Require::claim("/tenant", "acme"),
    ]);
    let wide = Router::new()
        .route("/x", get(|| async { "ok" }))
        .layer(JwksAuthLayer::new(
            builder(&idp)
                .require(requirement.clone())
                .build()
                .expect("config"),
        ));
    let per_route = Router::new()
        .route("/x", get(|| async { "ok" }).route_layer(requirement))
        .layer(JwksAuthLayer::new(builder(&idp).build().expect("config")));
    for (claims, status) in [
        (json!({"scope": "orders:write", "tenant": "acme"}), 200),
        (json!({"scope": "orders:read", "tenant": "acme"}), 403),
        (json!({"scope": "orders:write", "tenant": "globex"}), 403),
    ] {
        let mut token = idp.token();
        for (name, value) in claims.as_object().expect("object") {
            token = token.claim(name, value.clone());
        }
        let token = token.sign();
        let a = call(&wide, "GET", "/x", Some(&token)).await;
        let b = call(&per_route, "GET", "/x", Some(&token)).await;
        assert_eq!(a.status.as_u16(), status, "{claims}");
        assert_eq!(
            (a.status, a.challenge(), &a.body),
            (b.status, b.challenge(), &b.body)
        );
    }
}

#[tokio::test]
async fn cloudflare_access_policies_per_route_behind_one_access_layer() {
    let idp = MockIdp::start().await;
    let access = CloudflareAccess::builder("acme", idp.cf_aud())
        .base_url(idp.url())
        .issuer(idp.issuer())
        .build()
        .expect("config");
    let staff = AccessPolicy::new()
        .allow_email_domains(["corp.example"])
        .allow_service_tokens(["ci.access"])
        .build()
        .expect("policy");
    let people = AccessPolicy::new()
        .refuse_service_tokens()
        .build()
        .expect("policy");
    let app = Router::new()
        .route("/", get(|| async { "anyone" }))
        .route("/staff", get(|| async { "staff" }).route_layer(staff))
        .route("/people", get(|| async { "people" }).route_layer(people))
        .layer(access.layer());
    let alice = idp.cf_token().sign(); // alice@example.test
    let bob = idp
        .cf_token()
        .claim("email", json!("Bob@Corp.Example"))
        .sign();
    let ci = idp.cf_service_token("ci.access").sign();
    let other = idp.cf_service_token("other.access").sign();
    let cf = |token: &str| -> Request<Body> {
        Request::get("/")
            .header("cf-access-jwt-assertion", token)
            .body(Body::empty())
            .expect("request")
    };
    let at = |path: &str, token: &str| {
        let mut r = cf(token);
        *r.uri_mut() = path.parse().expect("uri");
        r
    };
    for (path, token, status, body) in [
        ("/", &alice, 200, "anyone".to_owned()),
        ("/", &other, 200, "anyone".to_owned()),
        ("/staff", &bob, 200, "staff".to_owned()),
        ("/staff", &ci, 200, "staff".to_owned()),
        ("/staff", &alice, 403, detail("email not allowed")),
        ("/staff", &other, 403, detail("service token not allowed")),
        ("/people", &alice, 200, "people".to_owned()),
        (
            "/people",
            &ci,
            403,
            detail("service tokens are not accepted"),
        ),
    ] {
        let reply = send(&app, at(path, token)).await;
        assert_eq!(
            (reply.status.as_u16(), &reply.body),
            (status, &body),
            "{path}"
        );
        if status == 403 {
            let description = serde_json::from_str::<Value>(&body).expect("json")["detail"]
                .as_str()
                .expect("detail")
                .to_owned();
            assert_eq!(reply.challenge(), Some(forbidden(&description).as_str()));
        }
    }
    assert_eq!(idp.certs_fetches(), 1);
    let empty = AccessPolicy::new().build().expect_err("no rule");
    assert!(empty.to_string().contains("allow_emails"), "{empty}");
    let bad = AccessPolicy::new()
        .allow_emails(["alice"])
        .build()
        .expect_err("not an email");
    assert!(bad.to_string().contains("allow_emails"), "{bad}");
}

#[test]
fn readme_authorization_example_is_the_runnable_example() {
    let example = include_str!("../examples/authorization.rs");
    let readme = include_str!("../README.md");
    let begin = "// README: Authorization (begin)\n";
    let end = "// README: Authorization (end)\n";
    let start = example.find(begin).expect("begin marker") + begin.len();
    let stop = example.find(end).expect("end marker");
    let block = &example[start..stop];
    assert!(block.contains(".route_layer(Require::scope(\"orders:read\"))"));
    let section = &readme[readme.find("## Authorization").expect("README section")..];
    assert!(
        section.contains(&format!("```rust,no_run\n{block}")),
        "README's Authorization example differs from examples/authorization.rs: copy the block \
         between the markers"
    );
}
