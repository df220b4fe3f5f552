"""Files of content items on S3: what each type accepts, where an object lives, and how an
uploaded object is checked before its version may be published.

Limits (the README repeats them): a PDF up to 100 MiB, a video up to 5 GiB, the most one
presigned PUT can carry (S3's limit for a single PutObject). One request rather than a
multipart upload: the presigned PUT signs the size and the SHA-256 of the whole file, so
S3 itself refuses another size (the signature no longer matches) and other bytes
(``BadDigest``); parts would each need their own URL and checksum and a completion step,
for files this service does not take.

An upload carries the tag ``lms-upload=pending`` (a signed header), which the bucket's
lifecycle uses to expire objects of versions never completed; completing a version
removes the tag. The checks at completion do not rely on the emulator or S3 having
enforced anything: the object must be there, have the declared size, begin with the
magic bytes of the declared type (``puremagic``), and hash to the declared SHA-256 --
hashed here for objects up to ``content_hash_limit_bytes``; larger ones (videos) are held
to the SHA-256 S3 computed and checked at upload, which S3 returns with the object.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Literal

from lms_platform import s3, topology
from lms_platform.settings import get_settings

MiB = 1024 * 1024
GiB = 1024 * MiB

# What an item of each type accepts: content types and the largest file.
ACCEPTED: dict[str, tuple[frozenset[str], int]] = {
    "pdf": (frozenset({"application/pdf"}), 100 * MiB),
    "video": (frozenset({"video/mp4", "video/webm"}), 5 * GiB),
}
UPLOAD_SECONDS = 15 * 60
DOWNLOAD_SECONDS = 5 * 60
# Enough for every signature the types above are recognised by (MP4's ftyp box, WebM's
# EBML header with its doctype, PDF's "%PDF").
MAGIC_BYTES = 8192
PENDING_TAGGING = "=".join(topology.PENDING_UPLOAD_TAG)

Mismatch = Literal["size", "checksum", "type"]


def object_key(prefix: str, item_id: uuid.UUID, version_id: uuid.UUID) -> str:
    return f"{prefix}items/{item_id}/versions/{version_id}"


def bucket() -> str:
    return get_settings().content_bucket


def detected_types(head: bytes) -> set[str]:
    """The content types the first bytes of a file fit best (several when a signature is
    shared, as PDF's is with FDF)."""
    import puremagic  # imported by the one route that checks files

    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return set()
    if not matches:
        return set()
    best = max(m.confidence for m in matches)
    return {m.mime_type for m in matches if m.confidence == best and m.mime_type}


@dataclass(frozen=True)
class Verdict:
    """What the check of an uploaded object found: ``mismatch`` is None when it is the
    declared file."""

    mismatch: Mismatch | None
    detail: str
    head: s3.ObjectHead


def check_object(
    key: str, *, size_bytes: int, sha256_hex: str, mime_type: str, head: s3.ObjectHead
) -> Verdict:
    """Compare the object at ``key`` (``head`` read just before) with what was declared.
    Every read after the HEAD is conditional on its ETag: an object replaced meanwhile
    fails with S3Error 412 rather than being judged by bytes from two uploads."""
    client, name = s3.client(), bucket()
    declared_b64 = s3.sha256_base64(sha256_hex)
    if head.size != size_bytes:
        return Verdict("size", f"the file has {head.size} bytes, {size_bytes} were declared", head)
    found = detected_types(client.get_range(name, key, 0, MAGIC_BYTES - 1, if_match=head.etag))
    if mime_type not in found:
        what = ", ".join(sorted(found)) or "no known type"
        return Verdict("type", f"the file is {what}, not {mime_type}", head)
    if head.checksum_sha256 is not None and head.checksum_sha256 != declared_b64:
        return Verdict("checksum", "the file's SHA-256 is not the declared one", head)
    if size_bytes <= get_settings().content_hash_limit_bytes:
        digest = hashlib.sha256()
        for chunk in client.stream(name, key, if_match=head.etag):
            digest.update(chunk)
        if digest.hexdigest() != sha256_hex:
            return Verdict("checksum", "the file's SHA-256 is not the declared one", head)
    elif head.checksum_sha256 is None:
        # Too large to hash here and S3 kept no checksum: nothing vouches for the bytes.
        return Verdict("checksum", "the file's SHA-256 could not be verified", head)
    return Verdict(None, "", head)


def delete_every_version(key: str) -> None:
    """Remove the object's bytes: in a versioned bucket each version, newest first (a
    repeated upload through the same URL made more than one)."""
    client, name = s3.client(), bucket()
    for _ in range(10):
        found = client.head(name, key)
        if found is None:
            return
        client.delete(name, key, version_id=found.version_id)
        if found.version_id is None:
            return
