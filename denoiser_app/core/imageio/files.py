"""Reading and writing whole files: format detection, argument checks, atomic writes."""
from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from denoiser_app.core.atomic import atomic_path
from denoiser_app.core.imageio.errors import (
    TRUNCATED,
    ImageReadError,
    ImageWriteError,
    Unreadable,
    describe_write_failure,
)
from denoiser_app.core.imageio.heif import is_heif, read_heif, write_heif
from denoiser_app.core.imageio.image import Image, WriteSettings
from denoiser_app.core.imageio.pillow_formats import read_bmp, read_jpeg, read_webp, write_bmp, write_jpeg, write_webp
from denoiser_app.core.imageio.png import read_png, write_png
from denoiser_app.core.imageio.png_chunks import PNG_SIGNATURE
from denoiser_app.core.imageio.raw import RAW_FORMAT, RAW_OUTPUT_FORMAT, RAW_SUFFIXES, raw_size, rawpy_available, read_raw
from denoiser_app.core.imageio.samples import MAX_SAMPLE_VALUE
from denoiser_app.core.imageio.tiff_read import read_tiff
from denoiser_app.core.imageio.tiff_write import write_tiff

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif", ".hif"}
) | (RAW_SUFFIXES if rawpy_available() else frozenset())
OUTPUT_FORMATS = ("same", "png", "tiff", "jpeg")
JPEG_SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")

_SUFFIXES_BY_FORMAT: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "BMP": (".bmp",),
    "HEIF": (".heic", ".heif", ".hif"),
}
_FORMAT_BY_OUTPUT_NAME = {"png": "PNG", "tiff": "TIFF", "jpeg": "JPEG"}
# Formats that keep more than 8 bits a sample (HEIF stores 10 or 12 of the 16).
_SIXTEEN_BIT_FORMATS = frozenset({"PNG", "TIFF", "HEIF"})

# Images above this are refused before their pixels are decoded (a decompression
# bomb declares a huge size in a small file). High enough for today's cameras
# and for stitched panoramas; --max-megapixels and the app's setting raise it.
DEFAULT_MAX_MEGAPIXELS = 400.0
# The limit above is the one that applies; Pillow's own, lower one would
# refuse real panoramas under it with a less helpful message.
PILImage.MAX_IMAGE_PIXELS = None

_READERS: dict[str, Callable[[bytes], Image]] = {
    "JPEG": read_jpeg,
    "PNG": read_png,
    "TIFF": read_tiff,
    "WEBP": read_webp,
    "BMP": read_bmp,
    "HEIF": read_heif,
    RAW_FORMAT: read_raw,
}
# A writer returns a note for each piece of metadata it had to leave out.
_WRITERS: dict[str, Callable[[Path, Image, WriteSettings], list[str]]] = {
    "JPEG": write_jpeg,
    "PNG": write_png,
    "TIFF": write_tiff,
    "WEBP": write_webp,
    "BMP": write_bmp,
    "HEIF": write_heif,
}


def read_image(path: Path | str, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Image:
    """Read a JPEG, PNG, TIFF, WebP, BMP or HEIC file (recognised by content, not name).

    An image that declares more than ``max_megapixels`` is refused from its
    header, before any pixel is decoded. Raises :class:`ImageReadError` for
    anything that cannot be used.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    try:
        file_format = _file_format(path, data)
        _check_pixel_count(data, file_format, max_megapixels)
        image = _READERS[file_format](data)
        _check_image(image)  # a damaged header can decode to no pixels, or to the wrong shape, without an error
        return image
    except Unreadable as error:
        raise ImageReadError(path, error.reason) from None
    except MemoryError:
        raise ImageReadError(path, "not enough memory to load this image") from None
    except PILImage.DecompressionBombError:
        raise ImageReadError(path, "image has too many pixels to load safely") from None
    except Exception as error:  # decoders report damage through many exception types
        raise ImageReadError(path, TRUNCATED) from error


def write_image(
    path: Path | str,
    image: Image,
    format: str = "same",
    jpeg_quality: int = 95,
    bit_depth: int | None = None,
    jpeg_subsampling: str = "4:4:4",
) -> list[str]:
    """Write ``image`` to ``path`` atomically, with its metadata; return notes on metadata left out.

    ``format`` is one of :data:`OUTPUT_FORMATS`; "same" keeps the source format.
    ``bit_depth`` None keeps the image's depth where the format allows it
    (16-bit sources become 8-bit in JPEG/WebP/BMP); 8 or 16 forces it, and 16
    is only possible for PNG, TIFF and HEIF (stored there at 10 bits). ``jpeg_quality`` (1..100) also sets the
    quality of lossy WebP. Bad arguments raise ValueError; failures while
    writing raise :class:`ImageWriteError` and leave any existing file alone.
    Metadata the format cannot hold (EXIF or XMP larger than a JPEG segment,
    a JPEG's Extended XMP in other formats) is left out and the file written anyway; each such block gives one line
    in the returned list, meant for the user.
    """
    path = Path(path)
    target_format = _resolve_output_format(image, format)
    settings = WriteSettings(
        bit_depth=_resolve_bit_depth(image, target_format, bit_depth),
        jpeg_quality=_checked_quality(jpeg_quality),
        jpeg_subsampling=_checked_subsampling(jpeg_subsampling),
    )
    _check_image(image)
    try:
        with atomic_path(path) as temporary_path:
            notes = _WRITERS[target_format](temporary_path, image, settings)
    except Exception as error:  # encoders and the OS report failures through many types
        raise ImageWriteError(path, describe_write_failure(error)) from error
    if image.metadata.extended_xmp and target_format != "JPEG":
        size = sum(len(payload) for payload in image.metadata.extended_xmp)
        notes.append(f"Extended XMP left out: {size:,} bytes that only a JPEG output carries")
    return notes


def output_suffix(input_path: Path | str, format: str) -> str:
    """The file suffix for an output of ``format`` made from ``input_path``.

    "same" keeps the input's suffix; otherwise the input's suffix is kept when
    it already belongs to that format (".jpeg" stays ".jpeg"), else the usual
    one is used (".png", ".tif", ".jpg").
    """
    output_name = _checked_output_name(format)
    suffix = Path(input_path).suffix
    if output_name == "same" and suffix.lower() in RAW_SUFFIXES:
        return _SUFFIXES_BY_FORMAT[RAW_OUTPUT_FORMAT][0]
    if output_name == "same":
        return suffix
    accepted = _SUFFIXES_BY_FORMAT[_FORMAT_BY_OUTPUT_NAME[output_name]]
    return suffix if suffix.lower() in accepted else accepted[0]


# --------------------------------------------------------------------------- argument checks


def _checked_output_name(format: str) -> str:
    output_name = str(format).lower()
    if output_name not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {format!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    return output_name


def _resolve_output_format(image: Image, format: str) -> str:
    output_name = _checked_output_name(format)
    if output_name != "same":
        return _FORMAT_BY_OUTPUT_NAME[output_name]
    if image.format == RAW_FORMAT:
        return RAW_OUTPUT_FORMAT
    if image.format not in _SUFFIXES_BY_FORMAT:
        raise ValueError(f"cannot write images in format {image.format!r}")
    return image.format


def _resolve_bit_depth(image: Image, target_format: str, requested: int | None) -> int:
    if requested is None:
        return image.bit_depth if target_format in _SIXTEEN_BIT_FORMATS else 8
    if requested not in MAX_SAMPLE_VALUE:
        raise ValueError(f"bit depth must be 8 or 16, not {requested!r}")
    if requested == 16 and target_format not in _SIXTEEN_BIT_FORMATS:
        raise ValueError(f"{target_format} cannot store 16-bit samples")
    return requested


def _checked_quality(quality: int) -> int:
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be between 1 and 100, not {quality!r}")
    return int(quality)


def _checked_subsampling(subsampling: str) -> str:
    if subsampling not in JPEG_SUBSAMPLINGS:
        raise ValueError(f"JPEG subsampling must be one of {', '.join(JPEG_SUBSAMPLINGS)}")
    return subsampling


def _check_image(image: Image) -> None:
    pixels, alpha = image.pixels, image.alpha
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"pixels must be H x W x 1 or H x W x 3, got shape {pixels.shape}")
    if min(pixels.shape[:2]) < 1:
        raise ValueError("the image has no pixels")
    if alpha is not None and (alpha.shape != pixels.shape[:2] or alpha.dtype not in (np.uint8, np.uint16)):
        raise ValueError("alpha must be an H x W uint8 or uint16 array matching the pixels")


# --------------------------------------------------------------------------- format detection


def declared_size(source: bytes | Path, file_format: str) -> tuple[int, int]:
    """(width, height) as the header of a file's bytes (or of the file at a path) declares it, without decoding pixels."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    if file_format == RAW_FORMAT:
        return raw_size(source)
    if file_format == "PNG":
        header = source[:24] if isinstance(source, bytes) else _read_head(source, 24)
        return struct.unpack(">II", header[16:24])
    if file_format == "HEIF":
        import pillow_heif

        return tuple(pillow_heif.open_heif(stream, convert_hdr_to_8bit=False).size)
    if file_format == "TIFF":
        import tifffile

        with tifffile.TiffFile(stream) as tiff:
            page = tiff.pages[0]
            return int(page.imagewidth), int(page.imagelength)
    with PILImage.open(stream) as picture:  # Pillow reads the header only until asked for pixels
        return picture.size


def _read_head(path: Path, size: int) -> bytes:
    with open(path, "rb") as file:
        return file.read(size)


def probe_megapixels(path: Path | str) -> float | None:
    """The megapixels a photo's header declares, reading little more than the header; None if it cannot tell."""
    path = Path(path)
    try:
        file_format = _file_format(path, _read_head(path, 64))
        width, height = declared_size(path, file_format)
    except Exception:  # unreadable files are judged when they are read
        return None
    return width * height / 1e6


def _check_pixel_count(data: bytes, file_format: str, max_megapixels: float) -> None:
    try:
        width, height = declared_size(data, file_format)
    except Exception:  # a header this cannot parse is left to the format's reader to judge
        return
    megapixels = width * height / 1e6
    if megapixels > max_megapixels:
        raise Unreadable(
            f"{width} × {height} pixels is {megapixels:,.0f} megapixels, above the limit of {max_megapixels:g}; "
            "raise it with --max-megapixels (or in the app's Advanced settings) if the image is genuine"
        )


def _read_file_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "this is a folder, not a file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as error:
        raise ImageReadError(path, error.strerror or str(error)) from None
    if not data:
        raise ImageReadError(path, "file is empty")
    return data


def _file_format(path: Path, data: bytes) -> str:
    """The reader for a file: by suffix for camera raw (most are TIFF inside), else by content."""
    if path.suffix.lower() in RAW_SUFFIXES:
        if not rawpy_available():
            raise Unreadable("camera raw needs rawpy, which is not installed")
        return RAW_FORMAT
    return _sniff_format(data)


def _sniff_format(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM":
        return "BMP"
    if is_heif(data):
        return "HEIF"
    other_format = _other_image_format(data)
    if other_format:
        raise Unreadable(f"unsupported format ({other_format})")
    raise Unreadable("not an image file")


def _other_image_format(data: bytes) -> str | None:
    """The name of an image format we do not handle, if the data looks like one."""
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis", b"mif1", b"msf1"):
        return "AVIF"
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            return picture.format
    except Exception:  # anything Pillow cannot identify is simply not an image to us
        return None
