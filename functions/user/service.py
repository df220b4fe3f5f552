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
            summary="Create a student account",
            errors=(409,),
        ),
        Route(
            "POST",
            "/auth/login",
            "login",
            public=True,
            reads_signing_key=True,
            throttle="strict",
            summary="Exchange email and password for an access token",
            errors=(401, 403),
        ),
        Route("GET", "/me", "get_me", summary="The caller: user, profile and roles", errors=(404,)),
        Route(
            "PATCH",
            "/me/profile",
            "update_my_profile",
            summary="Change the caller's profile",
            errors=(404,),
        ),
        Route(
            "GET", "/users", "list_users", summary="Users, a page at a time (admin)", errors=(403,)
        ),
        Route("GET", "/users/{userId}", "get_user", summary="One user (admin)", errors=(403,)),
        Route(
            "PATCH",
            "/users/{userId}",
            "update_user",
            summary="Activate or suspend a user (admin)",
            errors=(403, 409),
        ),
        Route(
            "PUT",
            "/users/{userId}/roles/{role}",
            "assign_role",
            summary="Give a user a role (admin)",
            errors=(403,),
        ),
        Route(
            "DELETE",
            "/users/{userId}/roles/{role}",
            "revoke_role",
            summary="Take a role from a user (admin)",
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/organizations",
            "create_organization",
            status=201,
            summary="Create an organization (admin)",
            errors=(403, 409),
        ),
        Route(
            "GET",
            "/organizations",
            "list_organizations",
            summary="Organizations, a page at a time (admin)",
            errors=(403,),
        ),
        Route(
            "GET",
            "/organizations/{organizationId}",
            "get_organization",
            summary="One organization (admin)",
            errors=(403,),
        ),
        Route(
            "PATCH",
            "/organizations/{organizationId}",
            "update_organization",
            summary="Change an organization (admin)",
            errors=(403, 409),
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
