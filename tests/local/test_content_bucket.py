"""The local content bucket is made as the deployment makes it: versioned, with the
lifecycle each service's prefix needs, and CORS for the origins named (a browser uploads
and downloads through presigned URLs)."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from typing import Any

from lms_local.resources import ensure_bucket
from lms_platform import topology
from lms_platform.aws import client


def preflight(url: str, origin: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(  # noqa: S310 (the test's own moto)
        url,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": ",".join(topology.CONTENT_CORS_HEADERS),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_the_bucket_is_versioned_with_the_lifecycle_and_cors_of_the_declarations(
    platform_env: dict[str, str], moto_endpoint: str
) -> None:
    s3: Any = client("s3")
    name = f"content-{uuid.uuid4().hex[:8]}"
    for _ in range(2):  # twice: provisioning again changes nothing
        ensure_bucket(
            s3, name, "us-east-1", prefixes=("content/",), cors_origins=("http://localhost:5173",)
        )

    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert [r["ID"] for r in rules] == ["content-pending-uploads", "content-incomplete-multipart"]
    pending = rules[0]
    assert pending["Filter"]["And"]["Tags"] == [{"Key": "lms-upload", "Value": "pending"}]
    assert pending["Expiration"]["Days"] == 1
    assert pending["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert rules[1]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1

    url = f"{moto_endpoint}/{name}/content/items/x/versions/y"
    allowed, headers = preflight(url, "http://localhost:5173")
    refused, _ = preflight(url, "http://elsewhere.example")
    assert allowed == 200
    assert headers["access-control-allow-origin"] == "http://localhost:5173"
    assert refused == 403
