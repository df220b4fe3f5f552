"""What S3 itself refuses of a presigned upload -- expired, tampered, another size, other
bytes -- shown against an S3 that checks: LocalStack with signature validation on.

Why not moto: moto 5.2 checks nothing of a presigned URL. Its S3 responses never read
``X-Amz-Expires``; its signature check (``INITIAL_NO_AUTH_ACTION_COUNT``) reads the
``Authorization`` header, which a presigned request has not, and its checksum headers are
stored as sent, never compared with the body. LocalStack (``S3_SKIP_SIGNATURE_VALIDATION=0``)
checks the signature of a presigned URL -- and so every signed header: Content-Length,
Content-Type, x-amz-checksum-sha256, x-amz-tagging --, its expiry, and the body against
x-amz-checksum-sha256 (``BadDigest``). That the signatures are the ones AWS computes is
shown against botocore's own signer (tests/unit/test_s3_client.py).

These tests run when LocalStack is at hand: ``LMS_TEST_LOCALSTACK_URL`` names a running one
(started with ``S3_SKIP_SIGNATURE_VALIDATION=0``), or ``LMS_LOCALSTACK_PYTHON`` names the
Python of a virtualenv with ``localstack-core`` (README, "Running against LocalStack"),
which the fixture starts on a free port and stops. Otherwise they are skipped, never passed.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.content import files, use_cases
from lms_local.resources import ensure_bucket
from lms_platform import s3
from tests.content import samples
from tests.content.conftest import (
    BUCKET,
    World,
    complete,
    create_item,
    publish,
    put_file,
    start_upload,
)
from tests.course.builders import ok
from tests.support import call, free_port

pytestmark = [pytest.mark.integration, pytest.mark.localstack]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=1) as r:  # noqa: S310
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("LMS_TEST_LOCALSTACK_URL")
    if given:
        yield given.rstrip("/")
        return
    python = os.environ.get("LMS_LOCALSTACK_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip("no LocalStack: set LMS_LOCALSTACK_PYTHON or LMS_TEST_LOCALSTACK_URL")
    port = free_port()
    folder = tmp_path_factory.mktemp("localstack")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "AWS_"))},
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": "s3,events",
        "S3_SKIP_SIGNATURE_VALIDATION": "0",
        "LOCALSTACK_VOLUME_DIR": str(folder / "volume"),
        "DNS_ADDRESS": "0",
    }
    with (folder / "log.txt").open("wb") as log:
        process = subprocess.Popen(
            [python, "-m", "localstack.runtime.main"], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("LocalStack did not start:\n" + (folder / "log.txt").read_text())
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def on_localstack(world: World, localstack: str, override_env: Any) -> World:
    """The world made as usual; from here on, AWS is LocalStack (its default credentials,
    which its signature check knows) with the content bucket as the runtime makes it."""
    for name, value in {
        "AWS_ENDPOINT_URL": localstack,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        override_env(name, value)
    aws = {"endpoint_url": localstack, "region_name": "us-east-1"}
    ensure_bucket(boto3.client("s3", **aws), BUCKET, "us-east-1", prefixes=("content/",))
    events = boto3.client("events", **aws)
    if "lms" not in [b["Name"] for b in events.list_event_buses()["EventBuses"]]:
        events.create_event_bus(Name="lms")
    return world


def refused(status: int, answer: bytes, code: str, expected_status: int = 403) -> None:
    assert status == expected_status, answer
    assert f"<Code>{code}</Code>".encode() in answer, answer


def stored(item: str, version: str) -> s3.ObjectHead | None:
    return s3.client().head(BUCKET, files.object_key("content/", item, version))  # type: ignore[arg-type]


def new_upload(world: World, data: bytes) -> tuple[str, dict[str, Any]]:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    return item, ok(start_upload(world.owner, item, data), 201)


def test_the_checking_s3_takes_the_upload_the_service_signed(on_localstack: World) -> None:
    world, data = on_localstack, samples.pdf("through a checking S3")
    item, started = new_upload(world, data)
    assert put_file(started["upload"], data)[0] == 200
    ready = ok(complete(world.owner, item, started["versionId"]))
    ok(publish(world.owner, item, started["versionId"]))
    link = ok(call("GET", "/content/{itemId}/download", caller=world.enrolled,
                   path_params={"itemId": item}))  # fmt: skip
    with urllib.request.urlopen(link["url"], timeout=10) as response:  # noqa: S310
        assert response.read() == data
    # S3 kept the SHA-256 it checked, which the service compared too
    head = stored(item, started["versionId"])
    assert head is not None and head.checksum_sha256 == s3.sha256_base64(ready["checksumSha256"])


def test_an_expired_upload_url_is_refused(
    on_localstack: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an upload URL the route made sixteen minutes ago (it lives fifteen)
    class SixteenMinutesAgo(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> SixteenMinutesAgo:
            return cls.fromtimestamp((datetime.now(UTC) - timedelta(minutes=16)).timestamp(), tz)

    monkeypatch.setattr(use_cases, "datetime", SixteenMinutesAgo)
    world, data = on_localstack, samples.pdf()
    item, started = new_upload(world, data)
    monkeypatch.undo()
    # When the file is sent with it, Then S3 refuses and stores nothing
    status, answer = put_file(started["upload"], data)
    refused(status, answer, "AccessDenied")
    assert b"Request has expired" in answer
    assert stored(item, started["versionId"]) is None


@pytest.mark.parametrize(
    "tamper",
    ["signature", "key", "expiry", "size", "content-type", "tag-dropped"],
)
def test_a_tampered_upload_is_refused(on_localstack: World, tamper: str) -> None:
    world, data = on_localstack, samples.pdf()
    item, started = new_upload(world, data)
    upload = dict(started["upload"])
    body, headers = data, {}
    if tamper == "signature":
        last = upload["url"][-1]
        upload["url"] = upload["url"][:-1] + ("0" if last != "0" else "1")
    elif tamper == "key":
        upload["url"] = upload["url"].replace(started["versionId"], item)
    elif tamper == "expiry":
        upload["url"] = upload["url"].replace("X-Amz-Expires=900", "X-Amz-Expires=86400")
    elif tamper == "size":
        body = data + b"% one more line\n"
    elif tamper == "content-type":
        headers = {"Content-Type": "text/html"}
    else:
        upload["headers"] = {k: v for k, v in upload["headers"].items() if k != "x-amz-tagging"}
    status, answer = put_file(upload, body, **headers)
    refused(status, answer, "SignatureDoesNotMatch")
    assert stored(item, started["versionId"]) is None


def test_other_bytes_of_the_declared_size_are_refused(on_localstack: World) -> None:
    world, data = on_localstack, samples.pdf("AAAA")
    item, started = new_upload(world, data)
    status, answer = put_file(started["upload"], samples.pdf("BBBB"))
    refused(status, answer, "BadDigest", expected_status=400)
    assert stored(item, started["versionId"]) is None


def test_a_large_file_completes_on_the_checksum_s3_checked(
    on_localstack: World, override_env: Any
) -> None:
    # Above the size the service hashes itself, S3's own SHA-256 is the evidence
    override_env("LMS_CONTENT_HASH_LIMIT_BYTES", "100")
    world, data = on_localstack, samples.pdf()
    item, started = new_upload(world, data)
    assert put_file(started["upload"], data)[0] == 200
    assert ok(complete(world.owner, item, started["versionId"]))["status"] == "READY"


def test_a_png_declared_as_pdf_passes_s3_and_is_refused_by_the_service(
    on_localstack: World,
) -> None:
    # S3 checks the bytes against the declared checksum, not what they are
    world, data = on_localstack, samples.png()
    item, started = new_upload(world, data)
    assert put_file(started["upload"], data)[0] == 200
    reply = complete(world.owner, item, started["versionId"])
    assert reply.status == 422 and reply.body["mismatch"] == "type"
    listing = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).list_object_versions(
        Bucket=BUCKET,
        Prefix=files.object_key("content/", item, started["versionId"]),  # type: ignore[arg-type]
    )
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")
