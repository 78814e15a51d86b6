"""TIFF reading: tifffile for the usual layouts, OpenCV for LZW/JPEG pages, Pillow for the rest.

tifffile decodes LZW and JPEG only with the large imagecodecs package, so
OpenCV's libtiff takes the common layouts of those, and Pillow the 8-bit
rest along with palette, CMYK, YCbCr and bilevel pages. Only the first page
is read. TIFF has no EXIF block: one is rebuilt from the camera tags and the
EXIF/GPS sub-directories. IPTC comes from the Photoshop resources tag, or else
the IPTC-IIM tag.
"""
from __future__ import annotations

import io
import struct
from dataclasses import replace
from typing import Any

import numpy as np
import tifffile
from PIL import Image as PILImage

from denoiser_app.core.imageio.errors import TRUNCATED, Unreadable
from denoiser_app.core.imageio.exif import (
    EXIF_SUB_DIRECTORIES,
    TIFF_CAMERA_TAGS,
    TIFF_ORIENTATION,
    canonical_exif,
    exif_sub_directory,
    parse_exif,
)
from denoiser_app.core.imageio.image import Image, ImageMetadata, as_bytes, valid_dpi
from denoiser_app.core.imageio.iptc import resources_from_iim
from denoiser_app.core.imageio.opencv_codec import decoded_with_opencv, rgb_from_bgr
from denoiser_app.core.imageio.pillow_formats import colour_managed, first_of_many, samples_from_pillow
from denoiser_app.core.imageio.samples import image_from_samples

TIFF_ICC_PROFILE = 34675
TIFF_XMP = 700
TIFF_IPTC = 33723  # IPTC-IIM records
TIFF_PHOTOSHOP = 34377  # Photoshop image resources
_OPENCV_TIFF_COMPRESSIONS = frozenset({tifffile.COMPRESSION.LZW, tifffile.COMPRESSION.JPEG})


def read_tiff(data: bytes) -> Image:
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = tiff.pages.first
        icc_profile = _tiff_tag_bytes(page, TIFF_ICC_PROFILE)
        xmp = _tiff_tag_bytes(page, TIFF_XMP)
        dpi = _tiff_dpi(page)
        iptc = _tiff_iptc(page, data)
        pages = len(tiff.pages)
        samples, has_alpha, colour_change = _tiff_samples(page, data)
    notes: tuple[str, ...] = ()
    if colour_change is not None:
        icc_profile, notes = colour_change
    if pages > 1:
        notes += (first_of_many(pages, "pages"),)
    metadata = ImageMetadata(exif=exif_from_tiff(data), icc_profile=icc_profile, xmp=xmp, dpi=dpi, iptc=iptc)
    return replace(image_from_samples(samples, has_alpha, "TIFF", metadata), notes=notes)


def _tiff_tag_bytes(page: tifffile.TiffPage, code: int) -> bytes | None:
    tag = page.tags.get(code)
    return None if tag is None else as_bytes(tag.value)


def _tiff_iptc(page: tifffile.TiffPage, data: bytes) -> bytes | None:
    """The Photoshop resources, else a resource block made from the IPTC-IIM tag."""
    resources = _tiff_tag_stored_bytes(page, TIFF_PHOTOSHOP, data)
    if resources:
        return resources
    iim = _tiff_tag_stored_bytes(page, TIFF_IPTC, data)
    return resources_from_iim(iim) if iim else None


def _tiff_tag_stored_bytes(page: tifffile.TiffPage, code: int, data: bytes) -> bytes | None:
    """A tag's value as the file stores it; None if absent or of an unknown type.

    Photoshop types the IIM tag as LONG, whose decoded value would come back
    reordered from a big-endian file.
    """
    tag = page.tags.get(code)
    try:
        return None if tag is None else data[tag.valueoffset : tag.valueoffset + tag.valuebytecount]
    except KeyError:  # a damaged tag only loses its information
        return None


def _tiff_dpi(page: tifffile.TiffPage) -> tuple[float, float] | None:
    horizontal, vertical = page.tags.get(282), page.tags.get(283)
    if horizontal is None or vertical is None:
        return None
    unit_tag = page.tags.get(296)
    unit = 2 if unit_tag is None else int(unit_tag.value)  # the TIFF default unit is the inch
    if unit not in (2, 3):
        return None
    per_inch = 2.54 if unit == 3 else 1.0
    try:
        return valid_dpi(*(_rational(tag.value) * per_inch for tag in (horizontal, vertical)))
    except ZeroDivisionError:
        return None


def _rational(value: Any) -> float:
    if isinstance(value, tuple):
        numerator, denominator = value[:2]
        return numerator / denominator
    return float(value)


ColourChange = tuple[bytes | None, tuple[str, ...]]  # the ICC profile of converted samples, and notes


def _tiff_samples(page: tifffile.TiffPage, data: bytes) -> tuple[np.ndarray, bool, ColourChange | None]:
    """(samples, has alpha, the colour change if Pillow converted them) for the first page of a TIFF."""
    photometric = page.photometric
    simple_layout = photometric in (
        tifffile.PHOTOMETRIC.MINISBLACK,
        tifffile.PHOTOMETRIC.MINISWHITE,
        tifffile.PHOTOMETRIC.RGB,
    ) and page.dtype in (np.uint8, np.uint16)
    if not simple_layout:
        return _tiff_samples_with_pillow(data, page)
    try:
        stored = _rows_columns_samples(page.asarray(), page.axes)
    except ValueError as error:
        if "imagecodecs" not in str(error):
            raise
        if _opencv_can_decode_tiff(page):
            stored = _decode_tiff_with_opencv(data, page)
        elif page.dtype == np.uint8:
            return _tiff_samples_with_pillow(data, page)
        else:
            raise Unreadable(f"unsupported TIFF compression ({_tiff_compression_name(page)})") from None
    colour_count = 3 if photometric == tifffile.PHOTOMETRIC.RGB else 1
    colour = stored[..., :colour_count]
    if photometric == tifffile.PHOTOMETRIC.MINISWHITE:
        colour = np.iinfo(colour.dtype).max - colour
    alpha_index = _tiff_alpha_index(page, colour_count)
    if alpha_index is None or alpha_index >= stored.shape[2]:
        return np.ascontiguousarray(colour), False, None
    return np.concatenate([colour, stored[..., alpha_index : alpha_index + 1]], axis=2), True, None


def _tiff_alpha_index(page: tifffile.TiffPage, colour_count: int) -> int | None:
    """Index of the first extra sample that is alpha (associated or not)."""
    for position, kind in enumerate(page.extrasamples or ()):
        if int(kind) in (1, 2):
            return colour_count + position
    return None


def _tiff_compression_name(page: tifffile.TiffPage) -> str:
    return getattr(page.compression, "name", str(page.compression))


def _rows_columns_samples(array: np.ndarray, axes: str) -> np.ndarray:
    if axes == "YX":
        return array[..., None]
    if axes == "YXS":
        return array
    if axes == "SYX":
        return np.moveaxis(array, 0, -1)
    raise Unreadable(f"unsupported TIFF layout ({axes})")


def _opencv_can_decode_tiff(page: tifffile.TiffPage) -> bool:
    """Whether OpenCV returns this page's samples faithfully (it mangles planar and grey+alpha data)."""
    if page.compression not in _OPENCV_TIFF_COMPRESSIONS or page.planarconfig != tifffile.PLANARCONFIG.CONTIG:
        return False
    if page.photometric == tifffile.PHOTOMETRIC.RGB:
        return page.samplesperpixel == 3 or (page.samplesperpixel == 4 and _tiff_alpha_index(page, 3) == 3)
    return page.photometric == tifffile.PHOTOMETRIC.MINISBLACK and page.samplesperpixel == 1


def _decode_tiff_with_opencv(data: bytes, page: tifffile.TiffPage) -> np.ndarray:
    decoded = decoded_with_opencv(_with_neutral_orientation(data, page))
    # OpenCV knows these compressions, so a failure means damaged data.
    if decoded is None or decoded.shape[:2] != (page.imagelength, page.imagewidth) or decoded.dtype != page.dtype:
        raise Unreadable(TRUNCATED)
    return decoded[..., None] if decoded.ndim == 2 else rgb_from_bgr(decoded)


def _with_neutral_orientation(data: bytes, page: tifffile.TiffPage) -> bytes:
    """A copy of ``data`` whose orientation tag says 1.

    OpenCV's TIFF decoder rotates by the orientation tag whatever flags it is
    given, and we want the pixels as stored.
    """
    tag = page.tags.get(TIFF_ORIENTATION)
    if tag is None or int(tag.value) == 1:
        return data
    byte_order = "<" if data.startswith(b"II") else ">"
    patched = bytearray(data)
    struct.pack_into(f"{byte_order}H", patched, tag.valueoffset, 1)
    return bytes(patched)


def _tiff_samples_with_pillow(data: bytes, page: tifffile.TiffPage) -> tuple[np.ndarray, bool, ColourChange | None]:
    """Palette, CMYK, YCbCr and bilevel TIFFs, converted by Pillow to 8-bit grey or RGB(A)."""
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            picture.load()
            changes_colour = picture.mode in ("CMYK", "YCbCr")
            converted, icc_profile, notes = colour_managed(picture)
            samples, has_alpha = samples_from_pillow(converted)
    except Exception:  # Pillow could not make sense of it either
        raise Unreadable(f"unsupported TIFF variant ({_describe_tiff_page(page)})") from None
    return samples, has_alpha, (icc_profile, notes) if changes_colour else None


def _describe_tiff_page(page: tifffile.TiffPage) -> str:
    """E.g. "32-bit floating-point MINISBLACK", for error messages."""
    sample_kinds = {1: "integer", 2: "signed integer", 3: "floating-point"}
    sample_kind = sample_kinds.get(int(page.sampleformat), "unusual")
    photometric = getattr(page.photometric, "name", page.photometric)
    return f"{page.bitspersample}-bit {sample_kind} {photometric}"


def exif_from_tiff(data: bytes) -> bytes | None:
    """Rebuild an EXIF block from a TIFF's camera tags and EXIF/GPS sub-directories.

    A TIFF file is itself TIFF-structured, so Pillow's EXIF parser reads its
    main directory directly, without having to understand the pixel layout.
    """
    source = parse_exif(data)
    if source is None:
        return None
    rebuilt = PILImage.Exif()
    for tag in TIFF_CAMERA_TAGS:
        if tag in source:
            rebuilt[tag] = source[tag]
    for pointer in EXIF_SUB_DIRECTORIES:
        entries = exif_sub_directory(source, pointer)
        if entries:
            rebuilt[pointer] = entries
    if not len(rebuilt):
        return None
    try:
        return canonical_exif(rebuilt.tobytes())
    except Exception:  # EXIF is a bonus; odd values must not cost the photo
        return None
