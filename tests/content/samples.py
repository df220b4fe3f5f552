"""Small real files of each kind, made here byte by byte (nothing is downloaded)."""

from __future__ import annotations

import hashlib
import struct
import zlib


def pdf(text: str = "Hello, Engine") -> bytes:
    """A one-page PDF 1.4 with its cross-reference table (offsets computed), as a PDF
    reader opens it."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png() -> bytes:
    """A 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(payload_bytes: int = 4096) -> bytes:
    """An ISO base media file: ftyp (isom, mp42), then an mdat of arbitrary bytes."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    return ftyp + _box(b"mdat", bytes(range(256)) * (payload_bytes // 256))


def webm() -> bytes:
    """An EBML header with the doctype webm, then a Segment start."""
    header = bytes.fromhex("4286810142f7810142f2810442f381084282847765626d4287810442858102")
    return (
        bytes.fromhex("1a45dfa3")
        + bytes([0x80 | len(header)])
        + header
        + bytes.fromhex("18538067")
        + b"\x01"
        + b"\x00" * 64
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
