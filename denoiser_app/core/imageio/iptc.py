"""IPTC metadata, carried as a Photoshop image-resource block.

``ImageMetadata.iptc`` holds the image resources (``8BIM`` blocks) that
Photoshop stores in a JPEG's APP13 "Photoshop 3.0" segment, without that
14-byte header, and in a TIFF's tag 34377. The IPTC-IIM records (caption,
keywords, copyright…) are its resource 0x0404. Keeping the whole block rather
than only the IIM also keeps the IPTC digest (resource 0x0425) with which
readers check that the IIM is current, and gives back a JPEG's APP13 byte for
byte. A TIFF with only the plain IIM tag (33723) gets a block holding just
resource 0x0404.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable

from denoiser_app.core.imageio.jpeg_segments import APP13, MAX_SEGMENT_PAYLOAD, jpeg_with_segments, segment

PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
IPTC_IIM_RESOURCE = 0x0404
_RESOURCE_SIGNATURES = frozenset({b"8BIM", b"PHUT", b"AgHg", b"DCSR", b"MeSa"})


def resources_from_jpeg(applist: Iterable[tuple[str, bytes]]) -> bytes | None:
    """The image resources of a JPEG's "Photoshop 3.0" APP13 segments (Pillow's ``applist``), joined."""
    pieces = [payload[len(PHOTOSHOP_HEADER):] for marker, payload in applist
              if marker == "APP13" and payload.startswith(PHOTOSHOP_HEADER)]
    return b"".join(pieces) or None


def resources_from_iim(iim: bytes) -> bytes:
    """A resource block holding only IPTC-IIM records: resource 0x0404 with an empty name."""
    return b"8BIM" + struct.pack(">HHI", IPTC_IIM_RESOURCE, 0, len(iim)) + iim + b"\x00" * (len(iim) % 2)


def iim_from_resources(resources: bytes | None) -> bytes | None:
    """The IPTC-IIM records (resource 0x0404) of a resource block, or None."""
    resources = resources or b""
    position = 0
    while resources[position : position + 4] in _RESOURCE_SIGNATURES and position + 8 <= len(resources):
        resource_id, name_length = struct.unpack_from(">HB", resources, position + 4)
        position += 6 + name_length + 1 + (name_length + 1) % 2  # the Pascal name is padded to even length
        if position + 4 > len(resources):
            break
        (size,) = struct.unpack_from(">I", resources, position)
        if resource_id == IPTC_IIM_RESOURCE:
            return resources[position + 4 : position + 4 + size] or None
        position += 4 + size + size % 2
    return None


def jpeg_with_resources(jpeg: bytes, resources: bytes) -> bytes:
    """``jpeg`` with APP13 segments holding ``resources`` after its leading APPn/COM segments.

    So they follow JFIF, EXIF, XMP and ICC, as in Photoshop's files. Resources
    too large for one segment are split over several, as Photoshop does.
    """
    room = MAX_SEGMENT_PAYLOAD - len(PHOTOSHOP_HEADER)
    pieces = (resources[start : start + room] for start in range(0, len(resources), room))
    return jpeg_with_segments(jpeg, b"".join(segment(APP13, PHOTOSHOP_HEADER + piece) for piece in pieces))
