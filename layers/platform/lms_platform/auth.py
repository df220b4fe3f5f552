"""Passwords (argon2id) and access tokens (RS256 JWTs, verifiable from the published JWKS).

API Gateway's JWT authorizer verifies tokens on AWS; the local gateway calls
``verify_token`` with the same rules: RS256 only, issuer, audience, expiry, and a key id
found in the key set.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lms_platform.http import encode_base64url
from lms_platform.settings import get_settings

ALGORITHM = "RS256"  # API Gateway JWT authorizers verify RSA signatures
ALLOWED_ALGORITHMS = (ALGORITHM,)


# --- passwords ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher

    # argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id,
    # t=3, m=64 MiB, p=4): about 50 ms here, so functions that hash want >= 512 MB.
    return PasswordHasher()


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hash_password("a password nobody has, verified so unknown emails take as long")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown user (``None``) costs the same time."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored_hash or _decoy_hash(), password)) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return bool(_hasher().check_needs_rehash(stored_hash))


# --- keys -----------------------------------------------------------------------------------


def generate_private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass(frozen=True)
class SigningKey:
    private_key: Any  # cryptography RSAPrivateKey
    kid: str

    @classmethod
    def from_pem(cls, pem: str) -> SigningKey:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(pem.encode(), password=None)
        return cls(private_key=key, kid=_thumbprint(_public_jwk_numbers(key)))

    def public_jwk(self) -> dict[str, str]:
        return {
            **_public_jwk_numbers(self.private_key),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


def _public_jwk_numbers(private_key: Any) -> dict[str, str]:
    numbers = private_key.public_key().public_numbers()

    def b64(n: int) -> str:
        return encode_base64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "n": b64(numbers.n), "e": b64(numbers.e)}


def _thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 key thumbprint: the key id changes exactly when the key does."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    return encode_base64url(hashlib.sha256(canonical.encode()).digest())


@lru_cache(maxsize=1)
def signing_key() -> SigningKey:
    settings = get_settings()
    if settings.signing_key_secret_arn:
        from lms_platform.secrets import secret_string

        return SigningKey.from_pem(secret_string(settings.signing_key_secret_arn))
    if settings.signing_key_file:
        return SigningKey.from_pem(Path(settings.signing_key_file).read_text())
    raise RuntimeError("no signing key: set LMS_SIGNING_KEY_FILE or LMS_SIGNING_KEY_SECRET_ARN")


def ensure_key_file(path: Path) -> Path:
    """Make a local signing key once and keep it (private to this user)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(generate_private_key_pem())
    return path


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def issue_token(user_id: uuid.UUID, roles: Iterable[str], email: str | None) -> IssuedToken:
    import jwt

    settings = get_settings()
    key = signing_key()
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "iat": now,
        "nbf": now,
        "exp": now + settings.token_ttl_seconds,
        "jti": str(uuid.uuid4()),
        "roles": " ".join(sorted(roles)),
        "email": email,
    }
    token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
    return IssuedToken(access_token=token, expires_in=settings.token_ttl_seconds)


class InvalidToken(Exception):
    pass


def verify_token(
    token: str, keys: list[dict[str, Any]], *, issuer: str, audience: str
) -> dict[str, Any]:
    """Verify as API Gateway's JWT authorizer would; the claims, or ``InvalidToken``."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not allowed")
        jwk = next((k for k in keys if k.get("kid") == header.get("kid")), None)
        if jwk is None:
            raise InvalidToken("unknown key id")
        public_key = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=list(ALLOWED_ALGORITHMS),
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iss", "aud", "sub"]},
            leeway=5,
        )
        return claims
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from error


def jwks() -> dict[str, list[dict[str, str]]]:
    return {"keys": [signing_key().public_jwk()]}


def openid_configuration() -> dict[str, Any]:
    settings = get_settings()
    # The issuer exactly as tokens carry it in ``iss``: verifiers compare the two as strings.
    issuer = settings.jwt_issuer
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}/auth/login",
        "id_token_signing_alg_values_supported": list(ALLOWED_ALGORITHMS),
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "roles", "email"],
    }
