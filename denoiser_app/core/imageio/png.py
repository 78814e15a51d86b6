"""PNG: pixels decoded and encoded by OpenCV (libpng), metadata chunks handled here.

Pillow cannot hold 16-bit colour, so OpenCV does the pixels both ways. OpenCV
neither reads nor writes the metadata we carry, so the reader scans the chunks
itself, and the writer splices iCCP, pHYs, eXIf and iTXt (XMP) chunks into
OpenCV's output right after IHDR.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from denoiser_app.core.imageio.errors import TRUNCATED, Unreadable
from denoiser_app.core.imageio.exif import canonical_exif
from denoiser_app.core.imageio.image import Image, ImageMetadata, WriteSettings, valid_dpi
from denoiser_app.core.imageio.opencv_codec import decoded_with_opencv, encoded_with_opencv, rgb_from_bgr
from denoiser_app.core.imageio.png_chunks import iterate_chunks, splice_after_header
from denoiser_app.core.imageio.samples import image_from_samples, output_samples

_METRES_PER_INCH = 0.0254
_XMP_KEYWORD = b"XML:com.adobe.xmp"

# libpng's fastest good setting for photos: run-length zlib at level 1 and the
# Sub filter. On a 12 MP photo it is several times faster than levels 3-6 with
# adaptive filtering, and the files are no larger.
_ZLIB_OPTIONS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
_ENCODER_OPTIONS = [*_ZLIB_OPTIONS, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
_GREY_ALPHA_ENCODER_OPTIONS = [*_ZLIB_OPTIONS, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
_GREY_ALPHA = 4  # PNG colour type


# --------------------------------------------------------------------------- reading


@dataclass
class _PngFacts:
    """What the chunks of a PNG say, before its pixels are decoded."""

    width: int = 0
    height: int = 0
    bit_depth: int = 0
    colour_type: int = 0
    grey_transparent_value: int | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None


def read_png(data: bytes) -> Image:
    facts = _scan_png(data)
    decoded = decoded_with_opencv(data)
    if decoded is None or decoded.shape[:2] != (facts.height, facts.width):
        raise Unreadable(TRUNCATED)
    samples, has_alpha = _png_samples(decoded, facts)
    metadata = ImageMetadata(exif=facts.exif, icc_profile=facts.icc_profile, xmp=facts.xmp, dpi=facts.dpi)
    return image_from_samples(samples, has_alpha, "PNG", metadata)


def _png_samples(decoded: np.ndarray, facts: _PngFacts) -> tuple[np.ndarray, bool]:
    """Turn OpenCV's BGR(A) output back into grey / grey+alpha / RGB / RGBA samples."""
    if decoded.ndim == 2:
        grey = decoded[..., None]
        if facts.grey_transparent_value is None:
            return grey, False
        return np.concatenate([grey, _alpha_from_transparent_grey(decoded, facts)[..., None]], axis=2), True
    is_grey = facts.colour_type in (0, _GREY_ALPHA)
    channels = decoded.shape[2]
    if is_grey and channels == 2:
        return decoded, True
    if is_grey:  # OpenCV expands grey+alpha to BGRA; all three colour channels are equal
        return (decoded[..., [0, 3]] if channels == 4 else decoded[..., :1]), channels == 4
    return rgb_from_bgr(decoded), channels == 4


def _alpha_from_transparent_grey(grey: np.ndarray, facts: _PngFacts) -> np.ndarray:
    # OpenCV drops a grey tRNS colour key; rebuild it as alpha. Low bit depths
    # were scaled up to 8 bits, so scale the key the same way.
    assert facts.grey_transparent_value is not None
    key = facts.grey_transparent_value
    if facts.bit_depth < 8:
        key *= 255 // (2**facts.bit_depth - 1)
    maximum = np.iinfo(grey.dtype).max
    return np.where(grey == key, 0, maximum).astype(grey.dtype)


def _scan_png(data: bytes) -> _PngFacts:
    facts = _PngFacts()
    for chunk in iterate_chunks(data):
        if chunk.kind == b"IHDR":
            facts.width, facts.height, facts.bit_depth, facts.colour_type = struct.unpack_from(">IIBB", chunk.payload)
        elif chunk.kind in (b"iCCP", b"eXIf", b"pHYs", b"iTXt", b"tEXt", b"zTXt", b"tRNS"):
            # Like libpng, skip a damaged ancillary chunk rather than trust it.
            if chunk.crc_matches:
                _take_png_metadata(facts, chunk.kind, bytes(chunk.payload))
    if facts.width == 0:
        raise Unreadable(TRUNCATED)
    return facts


def _take_png_metadata(facts: _PngFacts, kind: bytes, payload: bytes) -> None:
    """Record the first occurrence of each piece of metadata we carry over."""
    if kind == b"iCCP" and facts.icc_profile is None:
        _name, _, compressed = payload.partition(b"\x00")
        facts.icc_profile = zlib.decompress(compressed[1:]) or None
    elif kind == b"eXIf" and facts.exif is None:
        facts.exif = canonical_exif(payload)
    elif kind == b"pHYs" and facts.dpi is None:
        per_metre_x, per_metre_y, unit = struct.unpack(">IIB", payload)
        if unit == 1:
            facts.dpi = valid_dpi(per_metre_x * _METRES_PER_INCH, per_metre_y * _METRES_PER_INCH)
    elif kind == b"tRNS" and facts.colour_type == 0 and len(payload) >= 2:
        (facts.grey_transparent_value,) = struct.unpack(">H", payload[:2])
    elif kind in (b"iTXt", b"tEXt", b"zTXt") and facts.xmp is None:
        facts.xmp = _png_xmp(kind, payload)


def _png_xmp(kind: bytes, payload: bytes) -> bytes | None:
    keyword, _, rest = payload.partition(b"\x00")
    if keyword != _XMP_KEYWORD:
        return None
    if kind == b"tEXt":
        return rest or None
    if kind == b"zTXt":
        return zlib.decompress(rest[1:]) or None
    compressed = rest[0] == 1
    _language, _, rest = rest[2:].partition(b"\x00")
    _translated_keyword, _, text = rest.partition(b"\x00")
    return (zlib.decompress(text) if compressed else text) or None


# --------------------------------------------------------------------------- writing


def write_png(path: Path, image: Image, settings: WriteSettings) -> list[str]:
    samples = output_samples(image, settings.bit_depth, keep_alpha=True)
    encoded, header_payload = encode_png_pixels(samples)
    pieces = splice_after_header(encoded, png_metadata_chunks(image.metadata), header_payload)
    with open(path, "wb") as stream:
        stream.writelines(pieces)
    return []


def encode_png_pixels(samples: np.ndarray) -> tuple[np.ndarray, bytes | None]:
    """OpenCV's PNG of H x W x C samples, and the IHDR payload it should have had, if any.

    OpenCV writes grey, RGB and RGBA but not grey+alpha. A grey+alpha row
    holds the same bytes as a grey row twice as wide (G A G A …), so that is
    what OpenCV encodes, with the Up filter only: Up predicts from the byte
    above, whereas Sub, Average and Paeth look one pixel to the left, whose
    width would differ. Relabelling IHDR as grey+alpha of the true width then
    gives a valid file.
    """
    height, width, channels = samples.shape
    if channels != 2:
        return encoded_with_opencv(".png", samples, _ENCODER_OPTIONS), None
    doubled = np.ascontiguousarray(samples).reshape(height, width * 2, 1)
    encoded = encoded_with_opencv(".png", doubled, _GREY_ALPHA_ENCODER_OPTIONS)
    bit_depth = 8 * samples.itemsize
    return encoded, struct.pack(">IIBBBBB", width, height, bit_depth, _GREY_ALPHA, 0, 0, 0)


def png_metadata_chunks(metadata: ImageMetadata) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of the chunks that carry ``metadata``, in the order they are written."""
    if metadata.icc_profile:
        yield b"iCCP", b"ICC profile\x00\x00" + zlib.compress(metadata.icc_profile)
    if metadata.dpi:
        per_metre_x, per_metre_y = (round(value / _METRES_PER_INCH) for value in metadata.dpi)
        yield b"pHYs", struct.pack(">IIB", per_metre_x, per_metre_y, 1)
    if metadata.exif:
        yield b"eXIf", metadata.exif
    if metadata.xmp:
        # keyword, then: not compressed, method 0, no language, no translated keyword
        yield b"iTXt", _XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + metadata.xmp
