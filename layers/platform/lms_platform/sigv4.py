"""AWS Signature Version 4 with the standard library, and one kept connection per endpoint.

Why not boto3 on the request path: importing boto3 and building a client costs ~200 ms of
cold start, which alone breaks the budget of a route (3x the floor of a bare handler,
``make bench``). The calls the platform makes itself -- EventBridge PutEvents
(``eventbridge``) and a few S3 object calls and presigned URLs (``s3``) -- are single HTTP
requests whose signing takes ``hashlib`` and ``hmac``. Both ways of signing are here:

- ``sign``: the ``Authorization`` header of a request (``X-Amz-Date``, the session token,
  and for S3 the ``X-Amz-Content-SHA256`` the caller passes in ``headers``);
- ``presign``: the query-string form (a presigned URL), whose payload is
  ``UNSIGNED-PAYLOAD`` and whose signed headers the holder of the URL must send as signed.

Both follow AWS's "Create a signed AWS API request" and S3's "Authenticating Requests:
Using Query Parameters"; the tests check each against botocore's own signers.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from lms_platform.tls import client_context

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class NoCredentials(Exception):
    """No AWS credentials were found to sign with."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


def credentials() -> Credentials:
    # On Lambda the execution role's credentials are always in the environment.
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)
    import boto3  # elsewhere: profiles, SSO and the rest of the SDK's chain

    found = boto3.session.Session().get_credentials()
    if found is None:
        raise NoCredentials("no AWS credentials")
    frozen = found.get_frozen_credentials()
    return Credentials(str(frozen.access_key), str(frozen.secret_key), frozen.token)


def quote(value: str, safe: str = "-_.~") -> str:
    """RFC 3986 percent-encoding, as SigV4 wants it (only unreserved characters kept)."""
    return urllib.parse.quote(value, safe=safe)


def canonical_query(params: Mapping[str, str]) -> str:
    """Parameters encoded and sorted by name, then value: the query of the canonical request
    and, as it is, the query of a URL."""
    pairs = sorted((quote(k), quote(str(v))) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_headers(headers: Mapping[str, str], host: str) -> dict[str, str]:
    found = {k.lower(): " ".join(str(v).strip().split()) for k, v in headers.items()}
    found["host"] = host
    return found


def _signature(
    *,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    payload_hash: str,
    amz_date: str,
    region: str,
    service: str,
    secret_key: str,
) -> tuple[str, str, str]:
    """The signature, the credential scope and the signed header names."""
    names = sorted(headers)
    signed_names = ";".join(names)
    canonical = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{name}:{headers[name]}\n" for name in names),
            signed_names,
            payload_hash,
        ]
    )
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _signing_key(secret_key, day, region, service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), scope, signed_names


def canonical_path(path: str, *, normalize: bool) -> str:
    """The URI of the canonical request. S3's paths are taken as they are (already encoded
    once); other services' are encoded here."""
    if not normalize:
        return path or "/"
    return urllib.parse.quote(path or "/", safe="/-_.~")


def sign(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    service: str,
    creds: Credentials,
    now: datetime,
    payload_hash: str | None = None,
) -> dict[str, str]:
    """``headers`` plus X-Amz-Date, the session token and Authorization.

    ``url`` is the URL the request goes to, its path and query already percent-encoded as
    sent (``canonical_query`` makes such a query). ``payload_hash`` is the hash to sign
    instead of the body's own (S3 names it in ``X-Amz-Content-SHA256``)."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    to_sign = _canonical_headers(headers, parts.netloc)
    to_sign["x-amz-date"] = amz_date
    if creds.token:
        to_sign["x-amz-security-token"] = creds.token
    signature, scope, signed_names = _signature(
        method=method,
        path=canonical_path(parts.path, normalize=service != "s3"),
        query=_sorted_query(parts.query),
        headers=to_sign,
        payload_hash=payload_hash or hashlib.sha256(body).hexdigest(),
        amz_date=amz_date,
        region=region,
        service=service,
        secret_key=creds.secret_key,
    )
    result = {**headers, "X-Amz-Date": amz_date}
    if creds.token:
        result["X-Amz-Security-Token"] = creds.token
    result["Authorization"] = (
        f"{ALGORITHM} Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return result


def presign(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    expires_in: int,
    region: str,
    service: str,
    creds: Credentials,
    now: datetime,
) -> str:
    """A presigned URL: ``url`` (no query) with ``params`` and the signature in its query.

    Whoever uses it must send every one of ``headers`` with exactly the value signed: that is
    how a presigned upload binds its size (``Content-Length``) and content
    (``x-amz-checksum-sha256``). Valid ``expires_in`` seconds from ``now``."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    to_sign = _canonical_headers(headers, parts.netloc)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    query = {
        **params,
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{creds.access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": ";".join(sorted(to_sign)),
    }
    if creds.token:
        query["X-Amz-Security-Token"] = creds.token
    encoded = canonical_query(query)
    signature, _, _ = _signature(
        method=method,
        path=canonical_path(parts.path, normalize=service != "s3"),
        query=encoded,
        headers=to_sign,
        payload_hash=UNSIGNED_PAYLOAD,
        amz_date=amz_date,
        region=region,
        service=service,
        secret_key=creds.secret_key,
    )
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return f"{base}?{encoded}&X-Amz-Signature={signature}"


def _sorted_query(query: str) -> str:
    """An already encoded query in canonical order (a bare ``?tagging`` is ``tagging=``)."""
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{name}={value}" for name, value in pairs)


@lru_cache(maxsize=8)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


# --- one kept connection per endpoint and thread ----------------------------------------------


class KeptConnection:
    """An HTTP(S) connection to one host kept per execution environment (thread) and opened
    again when it drops."""

    def __init__(self, scheme: str, netloc: str) -> None:
        self.scheme = scheme
        self.netloc = netloc
        self._local = threading.local()

    def get(self, timeout: float) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self.scheme == "https":
                connection = http.client.HTTPSConnection(
                    self.netloc, timeout=timeout, context=client_context()
                )
            else:
                connection = http.client.HTTPConnection(self.netloc, timeout=timeout)
            self._local.connection = connection
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
