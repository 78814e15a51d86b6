"""EXIF blocks: normalising, parsing, and the tags that move between EXIF and TIFF.

An EXIF block here is TIFF-structured bytes (``II*\\0`` or ``MM\\0*``)
without JPEG's ``Exif\\0\\0`` prefix.
"""
from __future__ import annotations

from typing import Any

from PIL import ExifTags
from PIL import Image as PILImage

EXIF_PREFIX = b"Exif\x00\x00"

# Main-directory tags that describe the photo rather than the file layout:
# these move between an EXIF block and a TIFF's own tags.
TIFF_DESCRIPTION = 270
TIFF_ORIENTATION = 274
TIFF_SOFTWARE = 305
TIFF_CAMERA_TAGS = (TIFF_DESCRIPTION, 271, 272, TIFF_ORIENTATION, TIFF_SOFTWARE, 306, 315, 316, 33432)
EXIF_SUB_DIRECTORIES = (int(ExifTags.IFD.Exif), int(ExifTags.IFD.GPSInfo))
_TIFF_SHORT = 3


def exif_orientation(exif: bytes | None) -> int:
    """The orientation tag (1..8) of an EXIF block, or 1."""
    parsed = parse_exif(exif)
    if parsed is None:
        return 1
    value = parsed.get(TIFF_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def exif_upright(exif: bytes | None) -> bytes | None:
    """``exif`` with its orientation tag set to 1 (upright), every other byte as it was.

    For pixels a decoder has already turned: the old tag would turn them again.
    A block without the tag, or too damaged to find it, is returned unchanged.
    """
    if not exif or len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return exif
    order = "little" if exif[:2] == b"II" else "big"
    first_directory = int.from_bytes(exif[4:8], order)
    if first_directory + 2 > len(exif):
        return exif
    count = int.from_bytes(exif[first_directory : first_directory + 2], order)
    for entry in range(first_directory + 2, min(first_directory + 2 + 12 * count, len(exif) - 11), 12):
        tag = int.from_bytes(exif[entry : entry + 2], order)
        kind = int.from_bytes(exif[entry + 2 : entry + 4], order)
        if tag == TIFF_ORIENTATION and kind == _TIFF_SHORT:
            value = entry + 8  # a single SHORT sits in the entry itself, left-justified
            return exif[:value] + (1).to_bytes(2, order) + exif[value + 2 :]
    return exif


def canonical_exif(raw: bytes | None) -> bytes | None:
    """``raw`` without an ``Exif\\0\\0`` prefix; None when empty."""
    if not raw:
        return None
    raw = bytes(raw)
    if raw.startswith(EXIF_PREFIX):
        raw = raw[len(EXIF_PREFIX):]
    return raw or None


def parse_exif(exif: bytes | None) -> PILImage.Exif | None:
    """Pillow's view of an EXIF block (or of a whole TIFF file); None if damaged."""
    if not exif:
        return None
    parsed = PILImage.Exif()
    try:
        parsed.load(exif)
    except Exception:  # a damaged EXIF block only loses its information
        return None
    return parsed


def exif_sub_directory(exif: PILImage.Exif, pointer: int) -> dict[int, Any]:
    """A sub-directory's tags, minus the interoperability pointer, which would dangle once moved."""
    try:
        entries = dict(exif.get_ifd(pointer))
    except Exception:  # a damaged sub-directory is dropped, the photo is kept
        return {}
    entries.pop(int(ExifTags.IFD.Interop), None)
    return entries
