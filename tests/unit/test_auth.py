"""Passwords (argon2id) and access tokens (RS256, issuer, audience, expiry, key id)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from lms_platform import auth
from lms_platform.auth import InvalidToken, SigningKey
from lms_platform.http import encode_base64url

ISSUER = "https://auth.lms.test"
AUDIENCE = "lms-api"
USER_ID = uuid.UUID("0b6e3f2c-6f6e-4a4f-9d3b-2f9a0d7f1c11")


@pytest.fixture(scope="module")
def pems() -> tuple[str, str]:
    """Our signing key and another one (RSA key generation is slow: made once)."""
    return auth.generate_private_key_pem(), auth.generate_private_key_pem()


@pytest.fixture
def ours(pems: tuple[str, str]) -> SigningKey:
    return SigningKey.from_pem(pems[0])


@pytest.fixture
def other(pems: tuple[str, str]) -> SigningKey:
    return SigningKey.from_pem(pems[1])


@pytest.fixture
def signing_env(env: pytest.MonkeyPatch, tmp_path: Path, pems: tuple[str, str]) -> None:
    key_file = tmp_path / "signing-key.pem"
    key_file.write_text(pems[0])
    env.setenv("LMS_SIGNING_KEY_FILE", str(key_file))
    env.setenv("LMS_JWT_ISSUER", ISSUER + "/")
    env.setenv("LMS_JWT_AUDIENCE", AUDIENCE)
    env.setenv("LMS_TOKEN_TTL_SECONDS", "600")


def _verify(token: str) -> dict[str, Any]:
    return auth.verify_token(token, auth.jwks()["keys"], issuer=ISSUER + "/", audience=AUDIENCE)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER + "/",
        "aud": AUDIENCE,
        "sub": str(USER_ID),
        "iat": now,
        "exp": now + 300,
        "roles": "STUDENT",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(key: SigningKey, claims: dict[str, Any], kid: str | None = None) -> str:
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": kid or key.kid})


def _b64json(value: dict[str, Any]) -> str:
    return encode_base64url(json.dumps(value, separators=(",", ":")).encode())


# --- passwords ----------------------------------------------------------------------------


def test_a_password_is_stored_as_an_argon2id_hash() -> None:
    # When a password is hashed
    stored = auth.hash_password("correct horse battery staple")
    # Then the stored form is an argon2id PHC string, not the password
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


def test_the_same_password_hashes_differently_each_time() -> None:
    # Salted: two accounts with one password do not share a hash
    assert auth.hash_password("same password here") != auth.hash_password("same password here")


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    # Given a stored hash
    stored = auth.hash_password("correct horse battery staple")
    # Then the right password matches and near misses do not
    assert auth.verify_password(stored, "correct horse battery staple") is True
    assert auth.verify_password(stored, "correct horse battery stapl") is False
    assert auth.verify_password(stored, "Correct horse battery staple") is False
    assert auth.verify_password(stored, "") is False


def test_an_unknown_user_never_verifies_even_with_the_decoy_password() -> None:
    # Given no stored hash (the email is unknown): a decoy hash is verified to spend the
    # same time. When the password tried is the decoy's own
    decoy_password = "a password nobody has, verified so unknown emails take as long"
    # Then it is still refused
    assert auth.verify_password(None, decoy_password) is False
    assert auth.verify_password(None, "anything") is False


def test_a_corrupt_stored_hash_is_a_failed_login_not_an_error() -> None:
    assert auth.verify_password("not-a-hash", "anything") is False
    assert auth.verify_password("$argon2id$v=19$m=65536,t=3,p=4$garbage", "anything") is False


# --- tokens -------------------------------------------------------------------------------


@pytest.mark.usefixtures("signing_env")
class TestTokens:
    def test_an_issued_token_verifies_with_the_published_keys(self, ours: SigningKey) -> None:
        # When a token is issued for a user with two roles
        issued = auth.issue_token(USER_ID, ["STUDENT", "INSTRUCTOR"], "a@example.com")
        # Then it verifies against the JWKS and carries who, what and for whom
        claims = _verify(issued.access_token)
        assert claims["sub"] == str(USER_ID)
        assert claims["roles"] == "INSTRUCTOR STUDENT"
        assert claims["email"] == "a@example.com"
        assert claims["iss"] == ISSUER + "/"
        assert claims["aud"] == AUDIENCE
        assert claims["exp"] - claims["iat"] == 600 == issued.expires_in
        header = jwt.get_unverified_header(issued.access_token)
        assert header["alg"] == "RS256"
        assert header["kid"] == ours.kid

    def test_an_expired_token_is_refused(self, ours: SigningKey) -> None:
        # Given a token that expired a minute ago (beyond the few seconds of leeway)
        now = int(time.time())
        token = _sign(ours, _claims(iat=now - 960, exp=now - 60))
        with pytest.raises(InvalidToken, match="expired"):
            _verify(token)

    def test_a_token_signed_by_another_key_under_our_key_id_is_refused(
        self, ours: SigningKey, other: SigningKey
    ) -> None:
        # Given a token signed with another private key but claiming our key id
        token = _sign(other, _claims(), kid=ours.kid)
        with pytest.raises(InvalidToken):
            _verify(token)

    def test_a_token_whose_claims_were_altered_is_refused(self, ours: SigningKey) -> None:
        # Given a genuine token whose payload is swapped for one claiming ADMIN
        header, _, signature = _sign(ours, _claims()).split(".")
        forged = ".".join([header, _b64json(_claims(roles="ADMIN")), signature])
        with pytest.raises(InvalidToken):
            _verify(forged)

    def test_an_unsigned_alg_none_token_is_refused(self, ours: SigningKey) -> None:
        # Given a token with "alg": "none" and no signature, naming our key id
        token = jwt.encode(
            _claims(roles="ADMIN"), None, algorithm="none", headers={"kid": ours.kid}
        )
        with pytest.raises(InvalidToken, match="not allowed"):
            _verify(token)
        # And the same with a hand-made header and an empty signature part
        crafted = f"{_b64json({'alg': 'none', 'kid': ours.kid})}.{_b64json(_claims())}."
        with pytest.raises(InvalidToken):
            _verify(crafted)

    def test_an_hs256_token_keyed_with_our_public_key_is_refused(self, ours: SigningKey) -> None:
        # Given the classic confusion attack: HMAC-signed with the (public) RSA key as secret
        public_pem = ours.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = _b64json({"alg": "HS256", "typ": "JWT", "kid": ours.kid})
        signing_input = f"{header}.{_b64json(_claims(roles='ADMIN'))}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{encode_base64url(mac)}"
        # When / Then it is refused by the algorithm allowlist
        with pytest.raises(InvalidToken, match="not allowed"):
            _verify(token)

    def test_a_token_for_another_audience_is_refused(self, ours: SigningKey) -> None:
        with pytest.raises(InvalidToken, match=r"(?i)audience"):
            _verify(_sign(ours, _claims(aud="another-api")))

    def test_a_token_from_another_issuer_is_refused(self, ours: SigningKey) -> None:
        with pytest.raises(InvalidToken, match=r"(?i)issuer"):
            _verify(_sign(ours, _claims(iss="https://evil.example")))

    def test_a_token_with_an_unknown_key_id_is_refused(self, ours: SigningKey) -> None:
        # Given a token correctly signed by our key but naming a key id not in the set
        with pytest.raises(InvalidToken, match="unknown key id"):
            _verify(_sign(ours, _claims(), kid="retired-key"))

    @pytest.mark.parametrize("missing", ["exp", "sub", "aud", "iss"])
    def test_a_token_missing_a_required_claim_is_refused(
        self, ours: SigningKey, missing: str
    ) -> None:
        # Given a well-signed token without one of the claims the authorizer requires
        claims = _claims()
        del claims[missing]
        with pytest.raises(InvalidToken):
            _verify(_sign(ours, claims))

    @pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
    def test_a_string_that_is_not_a_jwt_is_refused(self, garbage: str) -> None:
        with pytest.raises(InvalidToken):
            _verify(garbage)


# --- published documents -------------------------------------------------------------------


@pytest.mark.usefixtures("signing_env")
def test_the_jwks_publishes_only_the_public_half_of_the_signing_key(ours: SigningKey) -> None:
    # When the key set is published
    keys = auth.jwks()["keys"]
    # Then it holds one RSA signature key, named by its thumbprint, with no private part
    assert len(keys) == 1
    (key,) = keys
    assert key["kty"] == "RSA"
    assert key["use"] == "sig"
    assert key["alg"] == "RS256"
    assert key["kid"] == ours.kid
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert "=" not in key["n"] + key["e"]  # base64url without padding (RFC 7518)
    # And the published numbers are the key's own
    numbers = ours.private_key.public_key().public_numbers()
    n = int.from_bytes(jwt.utils.base64url_decode(key["n"]), "big")
    assert n == numbers.n


def test_the_key_id_is_stable_for_a_key_and_differs_between_keys(pems: tuple[str, str]) -> None:
    assert SigningKey.from_pem(pems[0]).kid == SigningKey.from_pem(pems[0]).kid
    assert SigningKey.from_pem(pems[0]).kid != SigningKey.from_pem(pems[1]).kid


@pytest.mark.usefixtures("signing_env")
def test_the_openid_configuration_names_the_issuer_its_tokens_carry() -> None:
    # Given an issuer configured with a trailing slash (as CDK's HttpApi.url ends)
    # When the discovery document is built and a token is issued
    document = auth.openid_configuration()
    token = auth.issue_token(USER_ID, ["STUDENT"], None).access_token
    # Then the document's issuer is exactly the token's iss (OIDC Discovery 1.0 §4.3:
    # a verifier compares them as strings), and the key set is under /.well-known once
    assert document["issuer"] == jwt.decode(token, options={"verify_signature": False})["iss"]
    assert document["issuer"] == ISSUER + "/"
    assert document["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]


def test_the_openid_configuration_of_an_issuer_without_slash(env: pytest.MonkeyPatch) -> None:
    env.setenv("LMS_JWT_ISSUER", ISSUER)
    document = auth.openid_configuration()
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
