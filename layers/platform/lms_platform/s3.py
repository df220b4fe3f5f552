"""The few S3 calls the request path makes, signed with ``lms_platform.sigv4``: presigned
PUT and GET URLs, and HEAD, ranged or streamed GET, DELETE and DELETE ?tagging of an object.

Why not boto3: its import and client cost ~200 ms of cold start, and a route that signs an
upload URL would pay it on every new execution environment (``make bench``). Each call
here is one HTTP request on a kept connection; presigning is no request at all.

Addressing: with an endpoint (``AWS_ENDPOINT_URL``: moto, LocalStack) path-style
``{endpoint}/{bucket}/{key}``; on AWS virtual-hosted ``https://{bucket}.s3.{region}.
amazonaws.com/{key}``, the regional endpoint. Keys are percent-encoded once, as S3 signs
them (``/`` kept). The tests compare the URLs and signatures with botocore's.
"""

from __future__ import annotations

import base64
import http.client
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from lms_platform.settings import get_settings
from lms_platform.sigv4 import EMPTY_SHA256, KeptConnection, credentials, presign, quote, sign

_SERVICE = "s3"
_TIMEOUT_SECONDS = 5.0
_ATTEMPTS = 3
_CHUNK_BYTES = 1024 * 1024
_ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_ERROR_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")


class S3Error(Exception):
    """S3 answered with an error (or did not answer)."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"S3 answered {status} {code}: {message}".strip())
        self.status = status
        self.code = code


@dataclass(frozen=True)
class PresignedRequest:
    """A request anyone may send until ``expires_at``, with exactly these headers."""

    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class ObjectHead:
    size: int
    etag: str
    content_type: str | None
    # The object's version in a versioned bucket (None in one that is not).
    version_id: str | None
    # The full-object SHA-256 S3 computed and checked at upload (base64), when the upload
    # named one; asked for with ``x-amz-checksum-mode: ENABLED``.
    checksum_sha256: str | None


def sha256_base64(hex_digest: str) -> str:
    """A SHA-256 as S3's ``x-amz-checksum-sha256`` carries it: the digest in base64."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


class S3Client:
    def __init__(self, endpoint: str | None, region: str) -> None:
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.region = region
        self._connections: dict[tuple[str, str], KeptConnection] = {}

    # --- addressing -------------------------------------------------------------------------

    def object_url(self, bucket: str, key: str) -> str:
        path = quote(key, safe="/~")
        if self.endpoint:
            return f"{self.endpoint}/{bucket}/{path}"
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{path}"

    # --- presigned URLs ---------------------------------------------------------------------

    def presign_put(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        content_length: int,
        checksum_sha256: str,
        tagging: str | None = None,
        expires_in: int,
        now: datetime | None = None,
    ) -> PresignedRequest:
        """A PUT of exactly ``content_length`` bytes whose SHA-256 is ``checksum_sha256``
        (base64): both are signed headers, so S3 refuses another length (the signature no
        longer matches) and other bytes (``BadDigest``)."""
        headers = {
            "Content-Length": str(content_length),
            "Content-Type": content_type,
            "x-amz-checksum-sha256": checksum_sha256,
        }
        if tagging:
            headers["x-amz-tagging"] = tagging
        return self._presigned("PUT", bucket, key, headers, {}, expires_in, now)

    def presign_get(
        self,
        bucket: str,
        key: str,
        *,
        expires_in: int,
        content_disposition: str | None = None,
        content_type: str | None = None,
        now: datetime | None = None,
    ) -> PresignedRequest:
        """A GET whose answer carries the given Content-Disposition and Content-Type (S3's
        ``response-*`` overrides, part of the signed query)."""
        params = {}
        if content_disposition:
            params["response-content-disposition"] = content_disposition
        if content_type:
            params["response-content-type"] = content_type
        return self._presigned("GET", bucket, key, {}, params, expires_in, now)

    def _presigned(
        self,
        method: str,
        bucket: str,
        key: str,
        headers: dict[str, str],
        params: dict[str, str],
        expires_in: int,
        now: datetime | None,
    ) -> PresignedRequest:
        now = now or datetime.now(UTC)
        url = presign(
            method=method,
            url=self.object_url(bucket, key),
            headers=headers,
            params=params,
            expires_in=expires_in,
            region=self.region,
            service=_SERVICE,
            creds=credentials(),
            now=now,
        )
        expires_at = now.replace(microsecond=0) + timedelta(seconds=expires_in)
        return PresignedRequest(method, url, headers, expires_at)

    # --- object calls -------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """The object's size, ETag, version and SHA-256; None when there is none."""
        status, headers, _ = self._call(
            "HEAD", bucket, key, headers={"x-amz-checksum-mode": "ENABLED"}, missing_ok=True
        )
        if status == 404:
            return None
        return ObjectHead(
            size=int(headers.get("content-length", "0")),
            etag=headers.get("etag", ""),
            content_type=headers.get("content-type"),
            version_id=_version(headers.get("x-amz-version-id")),
            checksum_sha256=headers.get("x-amz-checksum-sha256"),
        )

    def get_range(self, bucket: str, key: str, first: int, last: int, *, if_match: str) -> bytes:
        """Bytes ``first`` to ``last`` (inclusive) of the object, if it is still the one
        whose ETag is ``if_match`` (else S3Error 412)."""
        _, _, body = self._call(
            "GET", bucket, key, headers={"Range": f"bytes={first}-{last}", "If-Match": if_match}
        )
        return body

    def stream(self, bucket: str, key: str, *, if_match: str) -> Iterator[bytes]:
        """The whole object, a chunk at a time, if it is still the one whose ETag is
        ``if_match``. Not retried once bytes have been read: the caller starts over."""
        url = self.object_url(bucket, key)
        connection, response = self._open("GET", url, {"If-Match": if_match}, b"")
        try:
            if response.status >= 300:
                self._raise(response.status, response.read())
            while chunk := response.read(_CHUNK_BYTES):
                yield chunk
        except BaseException:
            connection.drop()
            raise

    def delete(self, bucket: str, key: str, *, version_id: str | None = None) -> None:
        """Delete the object (one version of it when ``version_id`` is given: in a versioned
        bucket that removes the bytes, where a plain DELETE only hides them)."""
        params = {"versionId": version_id} if version_id else {}
        self._call("DELETE", bucket, key, params=params)

    def delete_tagging(self, bucket: str, key: str) -> None:
        """Remove every tag of the object's current version."""
        self._call("DELETE", bucket, key, params={"tagging": ""})

    # --- HTTP ---------------------------------------------------------------------------------

    def _kept(self, url: str) -> KeptConnection:
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._connections.get(key)
        if found is None:
            found = self._connections.setdefault(key, KeptConnection(*key))
        return found

    def _open(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[KeptConnection, http.client.HTTPResponse]:
        signed = sign(
            method=method,
            url=url,
            headers={**headers, "X-Amz-Content-SHA256": EMPTY_SHA256},
            body=body,
            region=self.region,
            service=_SERVICE,
            creds=credentials(),
            now=datetime.now(UTC),
            payload_hash=EMPTY_SHA256,
        )
        kept = self._kept(url)
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection = kept.get(_TIMEOUT_SECONDS)
            connection.request(method, target, body=body or None, headers=signed)
            return kept, connection.getresponse()
        except (OSError, http.client.HTTPException):
            kept.drop()
            raise

    def _call(
        self,
        method: str,
        bucket: str,
        key: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> tuple[int, dict[str, str], bytes]:
        url = self.object_url(bucket, key)
        if params:
            # A bare sub-resource (``?tagging``) is sent as S3's own clients send it.
            url += "?" + "&".join(
                f"{quote(k)}={quote(v)}" if v else quote(k) for k, v in sorted(params.items())
            )
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                kept, response = self._open(method, url, headers or {}, b"")
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                if attempt == _ATTEMPTS:
                    raise S3Error(0, "NoAnswer", str(error)) from error
            else:
                if response.will_close:
                    kept.drop()
                answer = {k.lower(): v for k, v in response.getheaders()}
                if response.status < 300 or (missing_ok and response.status == 404):
                    return response.status, answer, payload
                if response.status < 500 or attempt == _ATTEMPTS:
                    self._raise(response.status, payload)
            time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _raise(status: int, payload: bytes) -> None:
        code = _ERROR_CODE.search(payload)
        message = _ERROR_MESSAGE.search(payload)
        raise S3Error(
            status,
            code[1].decode() if code else str(status),
            message[1].decode() if message else "",
        )


def _version(value: str | None) -> str | None:
    # An unversioned bucket has no version id, or the literal "null".
    return value if value and value != "null" else None


@cache
def _client(endpoint: str | None, region: str) -> S3Client:
    return S3Client(endpoint, region)


def client() -> S3Client:
    settings = get_settings()
    return _client(settings.aws_endpoint_url, settings.aws_region)
