"""The hand-signed S3 client: its presigned URLs are botocore's own (same query, same
signature), and so are the Authorization headers of its object calls."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials

from lms_platform import sigv4
from lms_platform.s3 import S3Client, sha256_base64
from lms_platform.sigv4 import EMPTY_SHA256, Credentials, sign

NOW = datetime(2026, 11, 25, 21, 0, 7, tzinfo=UTC)
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "a-session-token/with+odd=chars"
BUCKET = "lms-content"
SHA = sha256_base64("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
ENDPOINTS = [
    pytest.param(None, "virtual", id="aws-virtual-hosted"),
    pytest.param("http://127.0.0.1:4566", "path", id="emulator-path-style"),
]


@pytest.fixture(params=[None, TOKEN], ids=["long-term-keys", "session-token"])
def creds(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Credentials:
    # botocore would take an endpoint from the environment (the test session's moto).
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    if request.param:
        monkeypatch.setenv("AWS_SESSION_TOKEN", request.param)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return Credentials(KEY_ID, SECRET, request.param)


@pytest.fixture
def frozen_botocore(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    yield


def boto_s3(endpoint: str | None, style: str, creds: Credentials) -> Any:
    return boto3.client(
        "s3",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )


def split(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urllib.parse.urlsplit(url)
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return base, urllib.parse.parse_qs(parts.query, keep_blank_values=True)


@pytest.mark.parametrize(("endpoint", "style"), ENDPOINTS)
def test_a_presigned_upload_is_the_url_botocore_presigns(
    endpoint: str | None, style: str, creds: Credentials, frozen_botocore: None
) -> None:
    # Given a key with characters that need encoding, and what the upload must carry
    key = "content/items/a b+c/versions/ü.pdf"
    # When both presign the PUT
    ours = S3Client(endpoint, "eu-west-1").presign_put(
        BUCKET,
        key,
        content_type="application/pdf",
        content_length=1234,
        checksum_sha256=SHA,
        tagging="lms-upload=pending",
        expires_in=900,
        now=NOW,
    )
    theirs = boto_s3(endpoint, style, creds).generate_presigned_url(
        "put_object",
        Params={
            "Bucket": BUCKET,
            "Key": key,
            "ContentType": "application/pdf",
            "ContentLength": 1234,
            "ChecksumSHA256": SHA,
            "Tagging": "lms-upload=pending",
        },
        ExpiresIn=900,
    )
    # Then the URLs are the same, signature included, and the size, type, checksum and tag
    # are signed headers the uploader must send as they are
    assert split(ours.url) == split(theirs)
    assert split(ours.url)[1]["X-Amz-SignedHeaders"] == [
        "content-length;content-type;host;x-amz-checksum-sha256;x-amz-tagging"
    ]
    assert ours.headers == {
        "Content-Length": "1234",
        "Content-Type": "application/pdf",
        "x-amz-checksum-sha256": SHA,
        "x-amz-tagging": "lms-upload=pending",
    }
    assert ours.expires_at == datetime(2026, 11, 25, 21, 15, 7, tzinfo=UTC)
    assert split(ours.url)[1].get("X-Amz-Security-Token") == (
        [creds.token] if creds.token else None
    )


@pytest.mark.parametrize(("endpoint", "style"), ENDPOINTS)
def test_a_presigned_download_is_the_url_botocore_presigns(
    endpoint: str | None, style: str, creds: Credentials, frozen_botocore: None
) -> None:
    disposition = "attachment; filename=\"Notes 1.pdf\"; filename*=UTF-8''Notes%201.pdf"
    ours = S3Client(endpoint, "eu-west-1").presign_get(
        BUCKET,
        "content/items/x/versions/y",
        expires_in=300,
        content_disposition=disposition,
        content_type="application/pdf",
        now=NOW,
    )
    theirs = boto_s3(endpoint, style, creds).generate_presigned_url(
        "get_object",
        Params={
            "Bucket": BUCKET,
            "Key": "content/items/x/versions/y",
            "ResponseContentDisposition": disposition,
            "ResponseContentType": "application/pdf",
        },
        ExpiresIn=300,
    )
    assert split(ours.url) == split(theirs)
    assert ours.headers == {}


def botocore_authorization(
    method: str, url: str, headers: dict[str, str], creds: Credentials
) -> str:
    request = AWSRequest(method=method, url=url, headers=dict(headers))
    S3SigV4Auth(
        BotoCredentials(creds.access_key, creds.secret_key, creds.token), "s3", "eu-west-1"
    ).add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("method", "query", "headers"),
    [
        ("HEAD", "", {"x-amz-checksum-mode": "ENABLED"}),
        ("GET", "", {"Range": "bytes=0-8191", "If-Match": '"0123abc"'}),
        (
            "DELETE",
            "?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY%2BMTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
            {},
        ),
        ("DELETE", "?tagging", {}),
    ],
    ids=["head", "ranged-get", "delete-version", "delete-tagging"],
)
def test_object_calls_carry_the_authorization_botocore_computes(
    method: str,
    query: str,
    headers: dict[str, str],
    creds: Credentials,
    frozen_botocore: None,
) -> None:
    url = "https://lms-content.s3.eu-west-1.amazonaws.com/content/items/a%20b/versions/v" + query
    ours = sign(
        method=method,
        url=url,
        headers={**headers, "X-Amz-Content-SHA256": EMPTY_SHA256},
        body=b"",
        region="eu-west-1",
        service="s3",
        creds=creds,
        now=NOW,
        payload_hash=EMPTY_SHA256,
    )
    # botocore sends a bare sub-resource as "?tagging" too, and signs it as "tagging="
    assert ours["Authorization"] == botocore_authorization(method, url, headers, creds)


def test_the_checksum_travels_as_s3_wants_it() -> None:
    assert sha256_base64("00" * 32) == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def test_the_query_is_sorted_by_name_then_value_as_sigv4_requires() -> None:
    # "a-b" sorts after "a" by name although "a-b=" sorts before "a=" as text
    assert sigv4.canonical_query({"a-b": "1", "a": "2", "Z": "x y/"}) == "Z=x%20y%2F&a=2&a-b=1"
