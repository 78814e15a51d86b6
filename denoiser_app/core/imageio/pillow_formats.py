"""JPEG, WebP and BMP: read with Pillow; JPEG and WebP written with Pillow, BMP with OpenCV.

A JPEG's IPTC (APP13) and Extended XMP segments are spliced into Pillow's
output, which has no option for them. EXIF and XMP too large for a JPEG
segment are left out with a note rather than costing the photo.

Pillow writes RGBA BMPs without an alpha mask, so their alpha is lost on the
way back in; OpenCV (4.13 and later) writes a BITFIELDS header with one.
"""
from __future__ import annotations

import io
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageCms

from denoiser_app.core.imageio.errors import Unreadable
from denoiser_app.core.imageio.exif import EXIF_PREFIX, canonical_exif
from denoiser_app.core.imageio.image import Image, ImageMetadata, WriteSettings, as_bytes, valid_dpi
from denoiser_app.core.imageio.iptc import jpeg_with_resources, resources_from_jpeg
from denoiser_app.core.imageio.jpeg_segments import APP1, extended_xmp_from_jpeg, jpeg_with_segments, segment
from denoiser_app.core.imageio.opencv_codec import encoded_with_opencv
from denoiser_app.core.imageio.samples import image_from_samples, output_samples

_BMP_INCHES_PER_METRE = 39.3701  # Pillow's constant; using it keeps BMP DPI identical across a round trip
_BMP_PIXELS_PER_METRE_OFFSET = 38  # the same in every BMP info header version
_BMP_OPTIONS = [cv2.IMWRITE_BMP_COMPRESSION, cv2.IMWRITE_BMP_COMPRESSION_BITFIELDS]  # for RGBA; others ignore it
# The most a JPEG can hold of each block in its one APP1 segment (65533 bytes after
# the length field), past the "Exif\0\0" or "http://ns.adobe.com/xap/1.0/\0" header.
_JPEG_LIMITS = {"exif": 65533 - len(EXIF_PREFIX), "xmp": 65533 - 29}


# --------------------------------------------------------------------------- reading


def read_jpeg(data: bytes) -> Image:
    return _read_with_pillow(data, "JPEG", lossless=False)


def read_webp(data: bytes) -> Image:
    return _read_with_pillow(data, "WEBP", lossless=_webp_is_lossless(data))


def read_bmp(data: bytes) -> Image:
    return _read_with_pillow(data, "BMP", lossless=True)


def _read_with_pillow(data: bytes, file_format: str, lossless: bool) -> Image:
    with PILImage.open(io.BytesIO(data)) as picture:
        picture.load()
        info = dict(picture.info)
        frames = getattr(picture, "n_frames", 1)
        applist = getattr(picture, "applist", ())  # only JPEGs have one
        converted, icc_profile, notes = colour_managed(picture)
        samples, has_alpha = samples_from_pillow(converted)
    if frames > 1:
        notes += (first_of_many(frames, "frames"),)
    metadata = ImageMetadata(
        exif=canonical_exif(info.get("exif")),
        icc_profile=icc_profile,
        xmp=as_bytes(info.get("xmp")),
        dpi=_pillow_dpi(info, file_format),
        iptc=resources_from_jpeg(applist),
        extended_xmp=extended_xmp_from_jpeg(applist),
    )
    return replace(image_from_samples(samples, has_alpha, file_format, metadata, lossless), notes=notes)


def first_of_many(count: int, things: str) -> str:
    return f"only the first of its {count} {things} was cleaned; the output holds that one alone"


def srgb_profile() -> bytes:
    """An sRGB ICC profile, for pixels this module (or the raw developer) has converted to sRGB."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def colour_managed(picture: PILImage.Image) -> tuple[PILImage.Image, bytes | None, tuple[str, ...]]:
    """The picture in a mode :func:`samples_from_pillow` takes, the ICC profile describing it, and notes.

    A CMYK photo is converted to sRGB through its embedded profile (its
    colours kept as a colour-managed viewer shows them) and carries an sRGB
    profile from then on; without a profile the conversion can only be
    approximate, and the note says so. Either way the output is RGB.
    """
    icc_profile = as_bytes(picture.info.get("icc_profile"))
    if picture.mode == "YCbCr":
        return picture.convert("RGB"), None, ()
    if picture.mode != "CMYK":
        return picture, icc_profile, ()
    if icc_profile:
        rgb = ImageCms.profileToProfile(
            picture, ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)), ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB",
        )
        note = "a CMYK photo: converted to sRGB through its embedded colour profile, cleaned and written as RGB"
        return rgb, srgb_profile(), (note,)
    note = "a CMYK photo without a colour profile: converted to RGB approximately, cleaned and written as RGB"
    return picture.convert("RGB"), None, (note,)


def _pillow_dpi(info: dict[str, Any], file_format: str) -> tuple[float, float] | None:
    # Pillow invents 72 dpi for JPEGs without a JFIF density; only a real one counts.
    if file_format == "JPEG" and info.get("jfif_unit") not in (1, 2):
        return None
    if "dpi" not in info:
        return None
    return valid_dpi(*info["dpi"])


def samples_from_pillow(picture: PILImage.Image) -> tuple[np.ndarray, bool]:
    """H x W x C uint8/uint16 samples of grey, grey+alpha, RGB or RGBA, and whether alpha is last."""
    mode = picture.mode
    if mode.startswith("I;16"):
        return np.asarray(picture).astype(np.uint16)[..., None], False
    if mode in ("P", "PA"):
        picture = picture.convert("RGBA" if mode == "PA" or picture.has_transparency_data else "RGB")
    elif mode in ("1", "La", "RGBa", "CMYK", "YCbCr", "RGBX"):
        picture = picture.convert({"1": "L", "La": "LA", "RGBa": "RGBA"}.get(mode, "RGB"))
    if picture.mode not in ("L", "LA", "RGB", "RGBA"):
        raise Unreadable(f"unsupported colour mode ({mode})")
    samples = np.asarray(picture)
    if samples.ndim == 2:
        samples = samples[..., None]
    return samples, picture.mode in ("LA", "RGBA")


def _webp_is_lossless(data: bytes) -> bool:
    chunk_kinds = set()
    position = 12
    while position + 8 <= len(data):
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        chunk_kinds.add(data[position : position + 4])
        position += 8 + size + (size & 1)
    return b"VP8L" in chunk_kinds and b"VP8 " not in chunk_kinds


# --------------------------------------------------------------------------- writing


def write_jpeg(path: Path, image: Image, settings: WriteSettings) -> list[str]:
    samples = output_samples(image, 8, keep_alpha=False)
    metadata, notes = _jpeg_storable_metadata(image.metadata)
    options: dict[str, Any] = {"quality": settings.jpeg_quality, "subsampling": settings.jpeg_subsampling}
    options.update(_pillow_metadata_options(metadata))
    if metadata.dpi:
        options["dpi"] = metadata.dpi
    buffer = io.BytesIO()
    _pillow_image(samples).save(buffer, "JPEG", **options)
    encoded = buffer.getvalue()
    if metadata.extended_xmp:
        encoded = jpeg_with_segments(encoded, b"".join(segment(APP1, payload) for payload in metadata.extended_xmp))
    if metadata.iptc:
        encoded = jpeg_with_resources(encoded, metadata.iptc)
    path.write_bytes(encoded)
    return notes


def _jpeg_storable_metadata(metadata: ImageMetadata) -> tuple[ImageMetadata, list[str]]:
    """``metadata`` without the EXIF or XMP too large for a JPEG, and a note for each block left out.

    Each must fit in one APP1 segment. Extended XMP only goes with the main
    XMP packet that names it.
    """
    sizes = {name: len(getattr(metadata, name) or b"") for name in _JPEG_LIMITS}
    too_large = [name for name, size in sizes.items() if size > _JPEG_LIMITS[name]]
    notes = [
        f"{name.upper()} metadata left out: {sizes[name]:,} bytes, more than a JPEG can hold ({_JPEG_LIMITS[name]:,})"
        for name in too_large
    ]
    dropped = dict.fromkeys(too_large)
    if "xmp" in too_large:
        dropped["extended_xmp"] = ()
    return replace(metadata, **dropped), notes


def write_webp(path: Path, image: Image, settings: WriteSettings) -> list[str]:
    samples = output_samples(image, 8, keep_alpha=True, colour=True)
    options: dict[str, Any] = {"lossless": image.lossless, "exact": True}
    if not image.lossless:
        options["quality"] = settings.jpeg_quality
    options.update(_pillow_metadata_options(image.metadata, exif_prefix=b""))
    _pillow_image(samples).save(path, "WEBP", **options)
    return []


def _pillow_metadata_options(metadata: ImageMetadata, exif_prefix: bytes = EXIF_PREFIX) -> dict[str, bytes]:
    options = {}
    if metadata.exif:
        options["exif"] = exif_prefix + metadata.exif
    if metadata.icc_profile:
        options["icc_profile"] = metadata.icc_profile
    if metadata.xmp:
        options["xmp"] = metadata.xmp
    return options


def _pillow_image(samples: np.ndarray) -> PILImage.Image:
    return PILImage.fromarray(samples[..., 0] if samples.shape[2] == 1 else samples)


def write_bmp(path: Path, image: Image, settings: WriteSettings) -> list[str]:
    """8-bit grey (palette), 24-bit BGR or 32-bit BGRA with an alpha mask; DPI kept."""
    # BMP has no grey+alpha layout, so grey with alpha becomes RGBA.
    samples = output_samples(image, 8, keep_alpha=True, colour=image.alpha is not None)
    encoded = bytearray(encoded_with_opencv(".bmp", samples, _BMP_OPTIONS))
    if image.metadata.dpi:  # OpenCV leaves the resolution at 0 ("unknown")
        per_metre = (round(value * _BMP_INCHES_PER_METRE) for value in image.metadata.dpi)
        struct.pack_into("<ii", encoded, _BMP_PIXELS_PER_METRE_OFFSET, *per_metre)
    path.write_bytes(encoded)
    return []
