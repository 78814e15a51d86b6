"""Raw JPEG marker segments that Pillow neither keeps nor writes: placing them in its output.

Pillow writes a JPEG's EXIF, ICC profile and main XMP packet itself. IPTC
(APP13) and Extended XMP (APP1 segments that carry the part of an XMP packet
too large for one segment, each tagged with the GUID the main packet names)
are read from Pillow's ``applist`` and spliced back in as raw segments.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable

APP1 = b"\xff\xe1"
APP13 = b"\xff\xed"
MAX_SEGMENT_PAYLOAD = 65533  # a segment's length field counts its own two bytes too
XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
_COMMENT = 0xFE


def segment(marker: bytes, payload: bytes) -> bytes:
    """One marker segment: the marker, the big-endian length (payload + 2), the payload."""
    if len(payload) > MAX_SEGMENT_PAYLOAD:
        raise ValueError(f"a JPEG segment holds at most {MAX_SEGMENT_PAYLOAD} bytes, not {len(payload)}")
    return marker + struct.pack(">H", 2 + len(payload)) + payload


def extended_xmp_from_jpeg(applist: Iterable[tuple[str, bytes]]) -> tuple[bytes, ...]:
    """The payloads of a JPEG's Extended XMP segments (Pillow's ``applist``), in file order."""
    return tuple(payload for marker, payload in applist if marker == "APP1" and payload.startswith(XMP_EXTENSION_HEADER))


def jpeg_with_segments(jpeg: bytes, segments: bytes) -> bytes:
    """``jpeg`` with raw ``segments`` placed after its leading APPn and comment segments."""
    position = 2  # after SOI
    while jpeg[position] == 0xFF and (0xE0 <= jpeg[position + 1] <= 0xEF or jpeg[position + 1] == _COMMENT):
        (length,) = struct.unpack_from(">H", jpeg, position + 2)
        position += 2 + length
    return jpeg[:position] + segments + jpeg[position:]
