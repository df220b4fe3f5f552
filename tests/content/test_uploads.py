"""Files: a presigned upload to the bucket (moto), checked at completion, published, and
downloaded through a presigned GET; a file that is not the declared one is refused and
leaves nothing behind.

moto stores whatever a presigned PUT sends (it checks neither signature, expiry, size nor
checksum: see test_s3_enforcement.py for what S3 itself refuses), so these tests send the
wrong bytes through the very URL the service made and show the service's own checks
refusing them.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from typing import Any

import pytest

from functions.content import files
from lms_platform.aws import client
from tests.content import samples
from tests.content.conftest import (
    BUCKET,
    World,
    complete,
    create_item,
    new_id,
    object_versions,
    publish,
    put_file,
    start_upload,
    uploaded_version,
)
from tests.course.builders import ok
from tests.support import call, row_counts, scalar

pytestmark = [pytest.mark.integration]


def key_of(item: str, version: str) -> str:
    return files.object_key("content/", item, version)  # type: ignore[arg-type]


def download(caller: dict[str, Any], item: str, **query: str) -> Any:
    return call(
        "GET", "/content/{itemId}/download", caller=caller, path_params={"itemId": item},
        query=query or None,
    )  # fmt: skip


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return response.read(), {k.lower(): v for k, v in response.headers.items()}


def test_upload_complete_publish_download_carries_the_real_bytes(world: World) -> None:
    # Given a PDF item of a lesson, and a real PDF
    data = samples.pdf("Notes on the Analytical Engine")
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)
    assert item["currentVersion"] is None

    # When the instructor starts an upload, PUTs the file to the presigned URL, completes
    # and publishes the version
    started = ok(start_upload(world.owner, item["id"], data, fileName="Engine notes ü.pdf"), 201)
    assert started["version"] == 1
    assert started["upload"]["method"] == "PUT"
    assert started["upload"]["headers"]["Content-Length"] == str(len(data))
    status, _ = put_file(started["upload"], data)
    assert status == 200
    ready = ok(complete(world.owner, item["id"], started["versionId"]))
    published = ok(publish(world.owner, item["id"], started["versionId"]))

    # Then the version is READY with what was verified, and current
    assert ready["status"] == "READY" and not ready["current"]
    assert (ready["sizeBytes"], ready["mimeType"]) == (len(data), "application/pdf")
    assert ready["checksumSha256"] == hashlib.sha256(data).hexdigest()
    assert published["currentVersion"]["id"] == started["versionId"]
    assert published["currentVersion"]["current"] is True
    # And the enrolled student downloads exactly those bytes, named as uploaded
    link = ok(download(world.enrolled, item["id"]))
    body, headers = fetch(link["url"])
    assert body == data
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith('attachment; filename="Engine notes u.pdf"')
    assert "filename*=UTF-8''Engine%20notes%20%C3%BC.pdf" in headers["content-disposition"]
    assert "X-Amz-Expires=300" in link["url"]
    # And the object no longer carries the pending-upload tag the lifecycle expires
    tags = client("s3").get_object_tagging(
        Bucket=BUCKET, Key=key_of(item["id"], started["versionId"])
    )
    assert tags["TagSet"] == []


def test_an_upload_url_lives_fifteen_minutes_and_is_tagged_pending(world: World) -> None:
    data = samples.pdf()
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    started = ok(start_upload(world.owner, item, data), 201)
    upload = started["upload"]
    assert "X-Amz-Expires=900" in upload["url"]
    assert upload["headers"]["x-amz-tagging"] == "lms-upload=pending"
    assert put_file(upload, data)[0] == 200
    tags = client("s3").get_object_tagging(Bucket=BUCKET, Key=key_of(item, started["versionId"]))
    assert tags["TagSet"] == [{"Key": "lms-upload", "Value": "pending"}]


@pytest.mark.parametrize(
    ("declared", "sent", "mismatch"),
    [
        pytest.param(samples.pdf("A"), samples.pdf("B"), "checksum", id="wrong-checksum"),
        pytest.param(samples.pdf(), samples.pdf() + b"% trailing", "size", id="wrong-size"),
        pytest.param(samples.png(), samples.png(), "type", id="png-declared-as-pdf"),
    ],
)
def test_a_file_that_is_not_the_declared_one_is_refused_and_leaves_nothing(
    world: World, admin_sql: Any, declared: bytes, sent: bytes, mismatch: str
) -> None:
    # Given a PDF item and a version declared for one file
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    started = ok(start_upload(world.owner, item, declared), 201)
    # When another file goes up through its URL (moto takes it) and the version is completed
    assert put_file(started["upload"], sent)[0] == 200
    reply = complete(world.owner, item, started["versionId"])

    # Then the completion is a 422 saying what did not match
    assert reply.status == 422, reply.body
    assert reply.body["mismatch"] == mismatch
    # And nothing of the file is left in the bucket, in any version
    assert object_versions(key_of(item, started["versionId"])) == []
    # And the version is REJECTED for good: it can be neither completed nor published
    status = scalar(
        admin_sql,
        "SELECT status FROM lms_content.content_versions WHERE id = CAST(:id AS uuid)",
        id=started["versionId"],
    )
    assert status == "REJECTED"
    assert complete(world.owner, item, started["versionId"]).status == 422
    assert publish(world.owner, item, started["versionId"]).status == 409
    assert (
        ok(call("GET", "/content/{itemId}", caller=world.owner, path_params={"itemId": item}))[
            "currentVersion"
        ]
        is None
    )
    assert scalar(admin_sql, "SELECT count(*) FROM lms_content.outbox") == 0


def test_a_replaced_upload_of_two_object_versions_is_deleted_whole(world: World) -> None:
    # Given a PNG sent twice through the same URL (a versioned bucket keeps both)
    data = samples.png()
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    started = ok(start_upload(world.owner, item, data), 201)
    put_file(started["upload"], data)
    put_file(started["upload"], data)
    assert len(object_versions(key_of(item, started["versionId"]))) == 2
    # When it is completed as a PDF
    assert complete(world.owner, item, started["versionId"]).status == 422
    # Then no version of it is left
    assert object_versions(key_of(item, started["versionId"])) == []


def test_completing_twice_answers_the_same_and_publishing_twice_changes_nothing(
    world: World, admin_sql: Any
) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    version, _ = uploaded_version(world.owner, item, samples.pdf())
    first = ok(complete(world.owner, item, version))
    again = ok(complete(world.owner, item, version))
    ok(publish(world.owner, item, version))
    ok(publish(world.owner, item, version))

    assert first == again
    published = admin_sql.run(
        "SELECT event_type, detail -> 'data' ->> 'revision' FROM lms_content.outbox"
    )
    assert published == [["ContentPublished", "1"]]


def test_completing_before_the_file_arrives_is_a_409_and_keeps_the_upload_open(
    world: World,
) -> None:
    data = samples.pdf()
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    started = ok(start_upload(world.owner, item, data), 201)
    early = complete(world.owner, item, started["versionId"])
    assert early.status == 409 and early.body["title"] == "No file uploaded"
    put_file(started["upload"], data)
    assert ok(complete(world.owner, item, started["versionId"]))["status"] == "READY"


def test_an_upload_that_expired_with_no_file_is_rejected(world: World, admin_sql: Any) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    started = ok(start_upload(world.owner, item, samples.pdf()), 201)
    admin_sql.run(
        "UPDATE lms_content.content_versions SET upload_expires_at = now() - interval '1 second'"
        " WHERE id = CAST(:id AS uuid)",
        id=started["versionId"],
    )
    reply = complete(world.owner, item, started["versionId"])
    assert reply.status == 422 and reply.body["mismatch"] == "missing"
    assert publish(world.owner, item, started["versionId"]).status == 409


def test_a_large_file_is_held_to_the_checksum_s3_verified(world: World, override_env: Any) -> None:
    # Given files above the size this service hashes itself
    override_env("LMS_CONTENT_HASH_LIMIT_BYTES", "100")
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    version, _ = uploaded_version(world.owner, item, samples.pdf())
    # When moto, which keeps no checksum of a presigned upload, holds it
    reply = complete(world.owner, item, version)
    # Then nothing vouches for its bytes, and it is refused rather than trusted
    assert reply.status == 422 and reply.body["mismatch"] == "checksum"
    assert "could not be verified" in reply.body["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contentType": "image/png"}, "contentType"),
        ({"sizeBytes": 100 * 1024 * 1024 + 1}, "sizeBytes"),
        ({"durationSecs": 60}, "durationSecs"),
        ({"checksumSha256": "not-a-digest"}, "checksumSha256"),
        ({"fileName": "../etc/passwd"}, "fileName"),
        ({"fileName": "a\r\nSet-Cookie: x"}, "fileName"),
    ],
)
def test_an_upload_outside_the_limits_is_refused_and_makes_no_version(
    world: World, admin_sql: Any, body: dict[str, Any], field: str
) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    before = row_counts(admin_sql, "lms_content.content_versions")
    reply = start_upload(world.owner, item, samples.pdf(), **body)
    assert reply.status == 422, reply.body
    assert [e["location"][-1] for e in reply.body["errors"]] == [field]
    assert row_counts(admin_sql, "lms_content.content_versions") == before


def test_a_video_takes_up_to_five_gib_and_mp4_or_webm(world: World) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson, "video"), 201)["id"]
    big = start_upload(
        world.owner, item, b"", fileName="talk.mp4", contentType="video/mp4",
        sizeBytes=5 * 1024**3, checksumSha256="0" * 64, durationSecs=3600,
    )  # fmt: skip
    too_big = start_upload(
        world.owner, item, b"", fileName="talk.mp4", contentType="video/mp4",
        sizeBytes=5 * 1024**3 + 1, checksumSha256="0" * 64,
    )  # fmt: skip
    assert big.status == 201 and too_big.status == 422
    for data, kind in ((samples.mp4(), "video/mp4"), (samples.webm(), "video/webm")):
        version, _ = uploaded_version(
            world.owner, item, data, fileName="clip", contentType=kind, durationSecs=12
        )
        ready = ok(complete(world.owner, item, version))
        assert (ready["mimeType"], ready["durationSecs"]) == (kind, 12)


def test_a_webm_declared_as_mp4_is_refused(world: World) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson, "video"), 201)["id"]
    version, _ = uploaded_version(
        world.owner, item, samples.webm(), fileName="clip.mp4", contentType="video/mp4"
    )
    reply = complete(world.owner, item, version)
    assert reply.status == 422 and reply.body["mismatch"] == "type"


def test_older_versions_stay_downloadable_to_instructors_only(world: World) -> None:
    # Given two published versions of a PDF
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    first_data, second_data = samples.pdf("first"), samples.pdf("second")
    first, _ = uploaded_version(world.owner, item, first_data)
    ok(complete(world.owner, item, first))
    ok(publish(world.owner, item, first))
    second, _ = uploaded_version(world.owner, item, second_data)
    ok(complete(world.owner, item, second))
    ok(publish(world.owner, item, second))

    # Then students get the current one and cannot name the older
    assert fetch(ok(download(world.enrolled, item))["url"])[0] == second_data
    assert download(world.enrolled, item, versionId=first).status == 404
    # And the instructor still downloads the older one
    assert fetch(ok(download(world.owner, item, versionId=first))["url"])[0] == first_data
    # And publishing the older one again rolls back what students see
    ok(publish(world.owner, item, first))
    assert fetch(ok(download(world.enrolled, item))["url"])[0] == first_data


def test_versions_are_listed_newest_first_a_cursor_page_at_a_time(world: World) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    made = [ok(start_upload(world.owner, item, samples.pdf(str(n))), 201) for n in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = ok(
            call("GET", "/content/{itemId}/versions", caller=world.owner,
                 path_params={"itemId": item}, query=query)
        )  # fmt: skip
        seen += [v["version"] for v in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    assert [m["version"] for m in made] == [1, 2, 3, 4, 5]
    other = call(
        "GET", "/content/{itemId}/versions", caller=world.owner,
        path_params={"itemId": new_id()}, query={"cursor": cursor or "x"},
    )  # fmt: skip
    assert other.status in (400, 404)


def test_a_file_store_that_does_not_answer_is_a_503_and_the_upload_stays_open(
    world: World, override_env: Any
) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    version, _ = uploaded_version(world.owner, item, samples.pdf())
    moto = os.environ["AWS_ENDPOINT_URL"]
    override_env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    reply = complete(world.owner, item, version)
    assert reply.status == 503 and reply.headers["Retry-After"] == "1"
    override_env("AWS_ENDPOINT_URL", moto)
    assert ok(complete(world.owner, item, version))["status"] == "READY"
