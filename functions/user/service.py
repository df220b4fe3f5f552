"""The User service: accounts, profiles, roles, organizations, and the tokens it issues."""

from __future__ import annotations

from lms_events import user as events
from lms_platform.service import Route, Service

SERVICE = Service(
    name="user",
    routes=(
        Route(
            "POST",
            "/auth/register",
            "register",
            public=True,
            status=201,
            throttle="strict",
            no_store=True,
            summary="Create a student account",
        ),
        Route(
            "POST",
            "/auth/login",
            "login",
            public=True,
            reads_signing_key=True,
            throttle="strict",
            no_store=True,
            summary="Exchange email and password for an access token and a refresh token",
        ),
        Route(
            "POST",
            "/auth/refresh",
            "refresh",
            public=True,
            reads_signing_key=True,
            throttle="strict",
            no_store=True,
            summary="Exchange a refresh token for the session's next tokens (it is spent)",
        ),
        Route(
            "POST",
            "/auth/logout",
            "logout",
            public=True,
            status=204,
            no_store=True,
            summary="End the session of a refresh token",
        ),
        Route("GET", "/me", "get_me", summary="The caller: user, profile and roles"),
        Route("PATCH", "/me/profile", "update_my_profile", summary="Change the caller's profile"),
        Route(
            "POST",
            "/me/password",
            "change_password",
            reads_signing_key=True,
            summary="Change the caller's password: every session ends, a new one begins",
        ),
        Route("GET", "/users", "list_users", summary="Users, a page at a time (admin)"),
        Route("GET", "/users/{userId}", "get_user", summary="One user (admin)"),
        Route(
            "PATCH", "/users/{userId}", "update_user", summary="Activate or suspend a user (admin)"
        ),
        Route(
            "PUT",
            "/users/{userId}/roles/{role}",
            "assign_role",
            summary="Give a user a role (admin)",
        ),
        Route(
            "DELETE",
            "/users/{userId}/roles/{role}",
            "revoke_role",
            summary="Take a role from a user (admin)",
        ),
        Route(
            "DELETE",
            "/users/{userId}/login-lock",
            "clear_login_lock",
            status=204,
            summary="Lift a user's lock after failed logins (admin)",
        ),
        Route(
            "POST",
            "/organizations",
            "create_organization",
            status=201,
            summary="Create an organization (admin)",
        ),
        Route(
            "GET",
            "/organizations",
            "list_organizations",
            summary="Organizations, a page at a time (admin)",
        ),
        Route(
            "GET",
            "/organizations/{organizationId}",
            "get_organization",
            summary="One organization (admin)",
        ),
        Route(
            "PATCH",
            "/organizations/{organizationId}",
            "update_organization",
            summary="Change an organization (admin)",
        ),
        Route(
            "GET",
            "/.well-known/jwks.json",
            "jwks",
            public=True,
            reads_signing_key=True,
            summary="The keys that sign access tokens",
        ),
        Route(
            "GET",
            "/.well-known/openid-configuration",
            "openid_configuration",
            public=True,
            summary="OpenID discovery document",
        ),
    ),
    publishes=events.EVENTS,
)
