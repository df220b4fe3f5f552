"""The documents API Gateway's JWT authorizer reads: the key set and OpenID discovery."""

from __future__ import annotations

from collections.abc import Callable

import jwt

from tests.handlers.conftest import PASSWORD, Account
from tests.support import call


def test_the_published_jwks_verifies_a_token_issued_by_login(
    register: Callable[..., Account],
) -> None:
    # Given a token from POST /auth/login
    account = register("ada@example.com")
    token = call(
        "POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD}
    ).body["accessToken"]
    # When a verifier fetches the key set anonymously, as an authorizer does
    reply = call("GET", "/.well-known/jwks.json")
    assert reply.status == 200
    assert "max-age" in reply.headers.get("Cache-Control", "")
    # Then the key named by the token's kid verifies it with nothing else but PyJWT
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in reply.body["keys"] if k["kid"] == kid]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience="lms-api",
        issuer="http://127.0.0.1:3000",
    )
    assert claims["sub"] == str(account.id)


def test_the_openid_configuration_names_the_issuer_and_its_key_set(db_clean: None) -> None:
    reply = call("GET", "/.well-known/openid-configuration")
    assert reply.status == 200
    assert reply.body["issuer"] == "http://127.0.0.1:3000"
    assert reply.body["jwks_uri"] == "http://127.0.0.1:3000/.well-known/jwks.json"
    assert reply.body["id_token_signing_alg_values_supported"] == ["RS256"]
