"""Reading and writing photos for denoising, keeping their metadata.

:func:`read_image` returns the pixels exactly as stored in the file (EXIF
orientation is *not* applied; :attr:`Image.orientation` tells the GUI how to
show them) as float32 in [0, 1], plus the alpha channel untouched and the
metadata blocks as raw bytes. :func:`write_image` turns that back into a file,
atomically (see :mod:`denoiser_app.core.atomic`).

Pixels and bit depth
    8-bit files give 8-bit output and 16-bit files 16-bit output (PNG, TIFF).
    JPEG, WebP and BMP hold 8 bits only, so 16-bit images are rounded to 8 bits
    there; ``bit_depth=16`` widens 8-bit images for PNG/TIFF output. Reading and
    then writing unchanged pixels gives identical sample values in every
    lossless format. Grey images have one channel and are written as grey,
    except to WebP, which has no grey mode (written as RGB). Palette images
    (PNG, BMP, TIFF) are expanded to RGB, or RGBA if they have transparency,
    and are written out that way. CMYK/YCbCr JPEG and TIFF files are converted
    to RGB and lose their ICC profile, which described the old colour space.

Alpha
    Returned with its stored dtype and values and written back unchanged. It is
    only rescaled when the output bit depth differs, and it is dropped for JPEG,
    which cannot store it (no compositing against a background).

Metadata (EXIF, ICC profile, XMP, DPI)
    ``ImageMetadata.exif`` holds the EXIF block as TIFF-structured bytes
    (starting ``II*\\0`` or ``MM\\0*``) without JPEG's ``Exif\\0\\0`` prefix.
    JPEG, PNG and WebP output carry EXIF, ICC and XMP byte for byte. DPI:
    JPEG stores whole numbers (JFIF), PNG pixels per metre, BMP pixels per metre
    (BMP keeps no EXIF, ICC or XMP), WebP has no DPI field. TIFF output carries
    ICC, XMP and DPI byte for byte too, but TIFF has no EXIF block: EXIF lives
    in ordinary TIFF tags and sub-directories. So for TIFF output the camera
    tags of the main directory (orientation, make, model, date, artist,
    copyright, software, description) plus the EXIF and GPS sub-directories
    are written as tags, and reading a TIFF rebuilds an EXIF block from those
    tags. The information survives, the exact bytes do not (the thumbnail and
    the interoperability directory are dropped).

    Other PNG chunks (text, gAMA, sRGB…) and other TIFF tags are not carried.

Format specifics
    JPEG output uses quality 95 and 4:4:4 chroma by default. PNG and TIFF
    output is lossless (TIFF: Deflate with horizontal predictor, unassociated
    alpha). WebP output is lossless if the source WebP was lossless, otherwise
    lossy at ``jpeg_quality`` (alpha stays exact either way). BMP RGBA is
    written with a BITMAPV4HEADER and an alpha mask. Only the first page of a
    multi-page TIFF and the first frame of an animated WebP are read.

Decoders
    Pillow reads JPEG, WebP and BMP; OpenCV reads PNG pixels (Pillow cannot
    hold 16-bit colour) while the PNG chunks are parsed here; tifffile reads
    TIFF, with OpenCV for LZW/JPEG-compressed pages (tifffile needs the large
    imagecodecs package for those) and Pillow for palette/CMYK/YCbCr pages.
    Files are read into memory first, so non-ASCII paths work everywhere.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np
import tifffile
from PIL import ExifTags, TiffImagePlugin
from PIL import Image as PILImage

from denoiser_app.core.atomic import atomic_path

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})
OUTPUT_FORMATS = ("same", "png", "tiff", "jpeg")
JPEG_SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")

_SUFFIXES_BY_FORMAT: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "BMP": (".bmp",),
}
_FORMAT_BY_OUTPUT_NAME = {"png": "PNG", "tiff": "TIFF", "jpeg": "JPEG"}
_SIXTEEN_BIT_FORMATS = frozenset({"PNG", "TIFF"})
_MAX_SAMPLE_VALUE = {8: 255, 16: 65535}
_SAMPLE_DTYPE = {8: np.uint8, 16: np.uint16}

_EXIF_PREFIX = b"Exif\x00\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_PNG_IDAT_SIZE = 1 << 20
_PNG_FILTER_STRIP_BYTES = 4 << 20
_METRES_PER_INCH = 0.0254
_BMP_INCHES_PER_METRE = 39.3701  # Pillow's constant; using it keeps BMP DPI identical across a round trip

# Main-directory tags that describe the photo rather than the file layout:
# these move between an EXIF block and a TIFF's own tags.
_TIFF_DESCRIPTION = 270
_TIFF_ORIENTATION = 274
_TIFF_SOFTWARE = 305
_TIFF_CAMERA_TAGS = (_TIFF_DESCRIPTION, 271, 272, _TIFF_ORIENTATION, _TIFF_SOFTWARE, 306, 315, 316, 33432)
_EXIF_SUB_DIRECTORIES = (int(ExifTags.IFD.Exif), int(ExifTags.IFD.GPSInfo))
_TIFF_ICC_PROFILE = 34675
_OPENCV_TIFF_COMPRESSIONS = frozenset({tifffile.COMPRESSION.LZW, tifffile.COMPRESSION.JPEG})
_TIFF_XMP = 700

_TRUNCATED = "file is truncated or corrupt"


class ImageFileError(Exception):
    """A photo that could not be read or written.

    ``reason`` is one line meant for the user, e.g. "not an image file".
    """

    verb = "access"

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"Cannot {self.verb} {self.path}: {self.reason}"


class ImageReadError(ImageFileError):
    """The file is missing, not an image, damaged or of an unsupported kind."""

    verb = "read"


class ImageWriteError(ImageFileError):
    """The output file could not be written; any previous file is left untouched."""

    verb = "write"


class _Unreadable(Exception):
    """Raised inside the readers, which do not know the path; carries the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageMetadata:
    """Metadata blocks copied verbatim from the source file.

    ``exif`` is TIFF-structured (``II*\\0``/``MM\\0*``…) without ``Exif\\0\\0``;
    ``dpi`` is (horizontal, vertical) dots per inch.
    """

    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None


@dataclass(eq=False)
class Image:
    """A photo ready for the engine.

    ``pixels`` is H x W x C float32 in [0, 1] with C = 1 (grey) or 3 (RGB);
    ``alpha`` is H x W in its stored dtype (uint8 or uint16) or None.
    ``lossless`` says whether the source stored its pixels losslessly; WebP
    output follows it.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    format: str
    metadata: ImageMetadata = field(default_factory=ImageMetadata)
    lossless: bool = True

    @property
    def orientation(self) -> int:
        """EXIF orientation 1..8 (1 when absent or invalid), for display only."""
        return exif_orientation(self.metadata.exif)


@dataclass(frozen=True)
class _WriteSettings:
    bit_depth: int
    jpeg_quality: int
    jpeg_subsampling: str


# --------------------------------------------------------------------------- public API


def read_image(path: Path | str) -> Image:
    """Read a JPEG, PNG, TIFF, WebP or BMP file (recognised by content, not name).

    Raises :class:`ImageReadError` for anything that cannot be used.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    try:
        file_format = _sniff_format(data)
        return _READERS[file_format](data)
    except _Unreadable as error:
        raise ImageReadError(path, error.reason) from None
    except MemoryError:
        raise ImageReadError(path, "not enough memory to load this image") from None
    except PILImage.DecompressionBombError:
        raise ImageReadError(path, "image has too many pixels to load safely") from None
    except Exception as error:  # decoders report damage through many exception types
        raise ImageReadError(path, _TRUNCATED) from error


def write_image(
    path: Path | str,
    image: Image,
    format: str = "same",
    jpeg_quality: int = 95,
    bit_depth: int | None = None,
    jpeg_subsampling: str = "4:4:4",
) -> None:
    """Write ``image`` to ``path`` atomically, with its metadata.

    ``format`` is one of :data:`OUTPUT_FORMATS`; "same" keeps the source format.
    ``bit_depth`` None keeps the image's depth where the format allows it
    (16-bit sources become 8-bit in JPEG/WebP/BMP); 8 or 16 forces it, and 16
    is only possible for PNG and TIFF. ``jpeg_quality`` (1..100) also sets the
    quality of lossy WebP. Bad arguments raise ValueError; failures while
    writing raise :class:`ImageWriteError` and leave any existing file alone.
    """
    path = Path(path)
    target_format = _resolve_output_format(image, format)
    settings = _WriteSettings(
        bit_depth=_resolve_bit_depth(image, target_format, bit_depth),
        jpeg_quality=_checked_quality(jpeg_quality),
        jpeg_subsampling=_checked_subsampling(jpeg_subsampling),
    )
    _check_image(image)
    try:
        with atomic_path(path) as temporary_path:
            _WRITERS[target_format](temporary_path, image, settings)
    except Exception as error:  # encoders and the OS report failures through many types
        raise ImageWriteError(path, _describe_write_failure(error)) from error


def output_suffix(input_path: Path | str, format: str) -> str:
    """The file suffix for an output of ``format`` made from ``input_path``.

    "same" keeps the input's suffix; otherwise the input's suffix is kept when
    it already belongs to that format (".jpeg" stays ".jpeg"), else the usual
    one is used (".png", ".tif", ".jpg").
    """
    output_name = _checked_output_name(format)
    suffix = Path(input_path).suffix
    if output_name == "same":
        return suffix
    accepted = _SUFFIXES_BY_FORMAT[_FORMAT_BY_OUTPUT_NAME[output_name]]
    return suffix if suffix.lower() in accepted else accepted[0]


def exif_orientation(exif: bytes | None) -> int:
    """The orientation tag (1..8) of an EXIF block, or 1."""
    parsed = _parse_exif(exif)
    if parsed is None:
        return 1
    value = parsed.get(_TIFF_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


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
    if image.format not in _SUFFIXES_BY_FORMAT:
        raise ValueError(f"cannot write images in format {image.format!r}")
    return image.format


def _resolve_bit_depth(image: Image, target_format: str, requested: int | None) -> int:
    if requested is None:
        return image.bit_depth if target_format in _SIXTEEN_BIT_FORMATS else 8
    if requested not in _MAX_SAMPLE_VALUE:
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
    if alpha is not None and (alpha.shape != pixels.shape[:2] or alpha.dtype not in (np.uint8, np.uint16)):
        raise ValueError("alpha must be an H x W uint8 or uint16 array matching the pixels")


def _describe_write_failure(error: Exception) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "the folder does not exist"
    if isinstance(error, IsADirectoryError):
        return "a folder with this name is in the way"
    if isinstance(error, OSError) and error.errno == 28:  # ENOSPC
        return "the disk is full"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


# --------------------------------------------------------------------------- sample conversion


def _to_float(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    values = samples.astype(np.float32)
    values /= _MAX_SAMPLE_VALUE[bit_depth]
    return values


def _to_integers(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """Round [0, 1] floats to samples: floor(x * max + 0.5), clipped; NaN becomes 0."""
    maximum = _MAX_SAMPLE_VALUE[bit_depth]
    scaled = np.multiply(values, maximum, dtype=np.float32)
    scaled += 0.5
    np.floor(scaled, out=scaled)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    np.clip(scaled, 0, maximum, out=scaled)
    return scaled.astype(_SAMPLE_DTYPE[bit_depth])


def _alpha_at_depth(alpha: np.ndarray, bit_depth: int) -> np.ndarray:
    if alpha.dtype == np.uint8 and bit_depth == 16:
        return alpha.astype(np.uint16) * 257
    if alpha.dtype == np.uint16 and bit_depth == 8:
        return ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return alpha


def _image_from_samples(
    samples: np.ndarray, has_alpha: bool, file_format: str, metadata: ImageMetadata, lossless: bool = True
) -> Image:
    """Split H x W x C integer samples (colour first, alpha last) into an Image."""
    samples = samples.astype(samples.dtype.newbyteorder("="), copy=False)
    if samples.dtype not in (np.uint8, np.uint16):
        raise _Unreadable(f"unsupported sample type ({samples.dtype})")
    bit_depth = 16 if samples.dtype == np.uint16 else 8
    colour = samples[..., :-1] if has_alpha else samples
    alpha = np.ascontiguousarray(samples[..., -1]) if has_alpha else None
    return Image(
        pixels=_to_float(colour, bit_depth),
        alpha=alpha,
        bit_depth=bit_depth,
        format=file_format,
        metadata=metadata,
        lossless=lossless,
    )


def _output_samples(image: Image, bit_depth: int, *, keep_alpha: bool, colour: bool = False) -> np.ndarray:
    """H x W x C integers for an encoder: grey or RGB (``colour`` forces RGB), then alpha."""
    samples = _to_integers(image.pixels, bit_depth)
    if colour and samples.shape[2] == 1:
        samples = np.repeat(samples, 3, axis=2)
    if keep_alpha and image.alpha is not None:
        alpha = _alpha_at_depth(image.alpha, bit_depth)
        samples = np.concatenate([samples, alpha[..., None]], axis=2)
    return samples


# --------------------------------------------------------------------------- format detection


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


def _sniff_format(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM":
        return "BMP"
    other_format = _other_image_format(data)
    if other_format:
        raise _Unreadable(f"unsupported format ({other_format})")
    raise _Unreadable("not an image file")


def _other_image_format(data: bytes) -> str | None:
    """The name of an image format we do not handle, if the data looks like one."""
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1"):
        return "HEIC"
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            return picture.format
    except Exception:  # anything Pillow cannot identify is simply not an image to us
        return None


# --------------------------------------------------------------------------- EXIF helpers


def _canonical_exif(raw: bytes | None) -> bytes | None:
    if not raw:
        return None
    raw = bytes(raw)
    if raw.startswith(_EXIF_PREFIX):
        raw = raw[len(_EXIF_PREFIX):]
    return raw or None


def _parse_exif(exif: bytes | None) -> PILImage.Exif | None:
    if not exif:
        return None
    parsed = PILImage.Exif()
    try:
        parsed.load(exif)
    except Exception:  # a damaged EXIF block only loses its information
        return None
    return parsed


def _exif_sub_directory(exif: PILImage.Exif, pointer: int) -> dict[int, Any]:
    """A sub-directory's tags, minus the interoperability pointer, which would dangle once moved."""
    try:
        entries = dict(exif.get_ifd(pointer))
    except Exception:  # a damaged sub-directory is dropped, the photo is kept
        return {}
    entries.pop(int(ExifTags.IFD.Interop), None)
    return entries


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif isinstance(value, np.ndarray):
        value = value.tobytes()
    value = bytes(value)
    return value or None


def _valid_dpi(horizontal: float, vertical: float) -> tuple[float, float] | None:
    dpi = (float(horizontal), float(vertical))
    return dpi if all(np.isfinite(dpi)) and min(dpi) > 0 else None


# --------------------------------------------------------------------------- readers: Pillow (JPEG, WebP, BMP)


def _read_jpeg(data: bytes) -> Image:
    return _read_with_pillow(data, "JPEG", lossless=False)


def _read_webp(data: bytes) -> Image:
    return _read_with_pillow(data, "WEBP", lossless=_webp_is_lossless(data))


def _read_bmp(data: bytes) -> Image:
    return _read_with_pillow(data, "BMP", lossless=True)


def _read_with_pillow(data: bytes, file_format: str, lossless: bool) -> Image:
    with PILImage.open(io.BytesIO(data)) as picture:
        picture.load()
        info = dict(picture.info)
        samples, has_alpha = _samples_from_pillow(picture)
        converted_colour_space = picture.mode in ("CMYK", "YCbCr")
    metadata = ImageMetadata(
        exif=_canonical_exif(info.get("exif")),
        icc_profile=None if converted_colour_space else _as_bytes(info.get("icc_profile")),
        xmp=_as_bytes(info.get("xmp")),
        dpi=_pillow_dpi(info, file_format),
    )
    return _image_from_samples(samples, has_alpha, file_format, metadata, lossless)


def _pillow_dpi(info: dict[str, Any], file_format: str) -> tuple[float, float] | None:
    # Pillow invents 72 dpi for JPEGs without a JFIF density; only a real one counts.
    if file_format == "JPEG" and info.get("jfif_unit") not in (1, 2):
        return None
    if "dpi" not in info:
        return None
    return _valid_dpi(*info["dpi"])


def _samples_from_pillow(picture: PILImage.Image) -> tuple[np.ndarray, bool]:
    """H x W x C uint8/uint16 samples of grey, grey+alpha, RGB or RGBA, and whether alpha is last."""
    mode = picture.mode
    if mode.startswith("I;16"):
        return np.asarray(picture).astype(np.uint16)[..., None], False
    if mode in ("P", "PA"):
        picture = picture.convert("RGBA" if mode == "PA" or picture.has_transparency_data else "RGB")
    elif mode in ("1", "La", "RGBa", "CMYK", "YCbCr", "RGBX"):
        picture = picture.convert({"1": "L", "La": "LA", "RGBa": "RGBA"}.get(mode, "RGB"))
    if picture.mode not in ("L", "LA", "RGB", "RGBA"):
        raise _Unreadable(f"unsupported colour mode ({mode})")
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


# --------------------------------------------------------------------------- reader: PNG


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


def _read_png(data: bytes) -> Image:
    facts = _scan_png(data)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.shape[:2] != (facts.height, facts.width):
        raise _Unreadable(_TRUNCATED)
    samples, has_alpha = _png_samples(decoded, facts)
    metadata = ImageMetadata(exif=facts.exif, icc_profile=facts.icc_profile, xmp=facts.xmp, dpi=facts.dpi)
    return _image_from_samples(samples, has_alpha, "PNG", metadata)


def _png_samples(decoded: np.ndarray, facts: _PngFacts) -> tuple[np.ndarray, bool]:
    """Turn OpenCV's BGR(A) output back into grey / grey+alpha / RGB / RGBA samples."""
    if decoded.ndim == 2:
        grey = decoded[..., None]
        if facts.grey_transparent_value is None:
            return grey, False
        return np.concatenate([grey, _alpha_from_transparent_grey(decoded, facts)[..., None]], axis=2), True
    is_grey = facts.colour_type in (0, 4)
    channels = decoded.shape[2]
    if is_grey and channels == 2:
        return decoded, True
    if is_grey:  # OpenCV expands grey+alpha to BGRA; all three colour channels are equal
        return (decoded[..., [0, 3]] if channels == 4 else decoded[..., :1]), channels == 4
    if channels == 4:
        return cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA), True
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), False


def _alpha_from_transparent_grey(grey: np.ndarray, facts: _PngFacts) -> np.ndarray:
    # OpenCV drops a grey tRNS colour key; rebuild it as alpha. Low bit depths
    # were scaled up to 8 bits, so scale the key the same way.
    assert facts.grey_transparent_value is not None
    key = facts.grey_transparent_value
    if facts.bit_depth < 8:
        key *= 255 // (2**facts.bit_depth - 1)
    maximum = np.iinfo(grey.dtype).max
    return np.where(grey == key, 0, maximum).astype(grey.dtype)


def _iterate_png_chunks(data: bytes) -> Iterator[tuple[bytes, memoryview, int]]:
    """(type, payload, stored CRC) for each chunk up to IEND; raises if the file ends early."""
    view = memoryview(data)
    position = len(_PNG_SIGNATURE)
    while True:
        if position + 12 > len(data):
            raise _Unreadable(_TRUNCATED)
        length, kind = struct.unpack_from(">I4s", data, position)
        payload_end = position + 8 + length
        if payload_end + 4 > len(data):
            raise _Unreadable(_TRUNCATED)
        (stored_crc,) = struct.unpack_from(">I", data, payload_end)
        yield kind, view[position + 8 : payload_end], stored_crc
        if kind == b"IEND":
            return
        position = payload_end + 4


def _scan_png(data: bytes) -> _PngFacts:
    facts = _PngFacts()
    for kind, payload, stored_crc in _iterate_png_chunks(data):
        if kind == b"IHDR":
            facts.width, facts.height, facts.bit_depth, facts.colour_type = struct.unpack_from(">IIBB", payload)
        elif kind in (b"iCCP", b"eXIf", b"pHYs", b"iTXt", b"tEXt", b"zTXt", b"tRNS"):
            # Like libpng, skip a damaged ancillary chunk rather than trust it.
            if zlib.crc32(payload, zlib.crc32(kind)) == stored_crc:
                _take_png_metadata(facts, kind, bytes(payload))
    if facts.width == 0:
        raise _Unreadable(_TRUNCATED)
    return facts


def _take_png_metadata(facts: _PngFacts, kind: bytes, payload: bytes) -> None:
    """Record the first occurrence of each piece of metadata we carry over."""
    if kind == b"iCCP" and facts.icc_profile is None:
        _name, _, compressed = payload.partition(b"\x00")
        facts.icc_profile = zlib.decompress(compressed[1:]) or None
    elif kind == b"eXIf" and facts.exif is None:
        facts.exif = _canonical_exif(payload)
    elif kind == b"pHYs" and facts.dpi is None:
        per_metre_x, per_metre_y, unit = struct.unpack(">IIB", payload)
        if unit == 1:
            facts.dpi = _valid_dpi(per_metre_x * _METRES_PER_INCH, per_metre_y * _METRES_PER_INCH)
    elif kind == b"tRNS" and facts.colour_type == 0 and len(payload) >= 2:
        (facts.grey_transparent_value,) = struct.unpack(">H", payload[:2])
    elif kind in (b"iTXt", b"tEXt", b"zTXt") and facts.xmp is None:
        facts.xmp = _png_xmp(kind, payload)


def _png_xmp(kind: bytes, payload: bytes) -> bytes | None:
    keyword, _, rest = payload.partition(b"\x00")
    if keyword != _PNG_XMP_KEYWORD:
        return None
    if kind == b"tEXt":
        return rest or None
    if kind == b"zTXt":
        return zlib.decompress(rest[1:]) or None
    compressed = rest[0] == 1
    _language, _, rest = rest[2:].partition(b"\x00")
    _translated_keyword, _, text = rest.partition(b"\x00")
    return (zlib.decompress(text) if compressed else text) or None


# --------------------------------------------------------------------------- reader: TIFF


def _read_tiff(data: bytes) -> Image:
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = tiff.pages.first
        icc_profile = _tiff_tag_bytes(page, _TIFF_ICC_PROFILE)
        xmp = _tiff_tag_bytes(page, _TIFF_XMP)
        dpi = _tiff_dpi(page)
        samples, has_alpha, converted_colour_space = _tiff_samples(page, data)
    metadata = ImageMetadata(
        exif=_exif_from_tiff(data),
        icc_profile=None if converted_colour_space else icc_profile,
        xmp=xmp,
        dpi=dpi,
    )
    return _image_from_samples(samples, has_alpha, "TIFF", metadata)


def _tiff_tag_bytes(page: tifffile.TiffPage, code: int) -> bytes | None:
    tag = page.tags.get(code)
    return None if tag is None else _as_bytes(tag.value)


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
        return _valid_dpi(*(_rational(tag.value) * per_inch for tag in (horizontal, vertical)))
    except ZeroDivisionError:
        return None


def _rational(value: Any) -> float:
    if isinstance(value, tuple):
        numerator, denominator = value[:2]
        return numerator / denominator
    return float(value)


def _tiff_samples(page: tifffile.TiffPage, data: bytes) -> tuple[np.ndarray, bool, bool]:
    """(samples, has alpha, colour space converted) for the first page of a TIFF."""
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
        # tifffile decodes LZW and JPEG only with the big imagecodecs package;
        # OpenCV's libtiff covers the common layouts, Pillow the 8-bit rest.
        if _opencv_can_decode_tiff(page):
            stored = _decode_tiff_with_opencv(data, page)
        elif page.dtype == np.uint8:
            return _tiff_samples_with_pillow(data, page)
        else:
            raise _Unreadable(f"unsupported TIFF compression ({_tiff_compression_name(page)})") from None
    colour_count = 3 if photometric == tifffile.PHOTOMETRIC.RGB else 1
    colour = stored[..., :colour_count]
    if photometric == tifffile.PHOTOMETRIC.MINISWHITE:
        colour = np.iinfo(colour.dtype).max - colour
    alpha_index = _tiff_alpha_index(page, colour_count)
    if alpha_index is None or alpha_index >= stored.shape[2]:
        return np.ascontiguousarray(colour), False, False
    return np.concatenate([colour, stored[..., alpha_index : alpha_index + 1]], axis=2), True, False


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
    raise _Unreadable(f"unsupported TIFF layout ({axes})")


def _opencv_can_decode_tiff(page: tifffile.TiffPage) -> bool:
    """Whether OpenCV returns this page's samples faithfully (it mangles planar and grey+alpha data)."""
    if page.compression not in _OPENCV_TIFF_COMPRESSIONS or page.planarconfig != tifffile.PLANARCONFIG.CONTIG:
        return False
    if page.photometric == tifffile.PHOTOMETRIC.RGB:
        return page.samplesperpixel == 3 or (page.samplesperpixel == 4 and _tiff_alpha_index(page, 3) == 3)
    return page.photometric == tifffile.PHOTOMETRIC.MINISBLACK and page.samplesperpixel == 1


def _decode_tiff_with_opencv(data: bytes, page: tifffile.TiffPage) -> np.ndarray:
    unrotated = _with_neutral_orientation(data, page)
    decoded = cv2.imdecode(np.frombuffer(unrotated, np.uint8), cv2.IMREAD_UNCHANGED)
    # OpenCV knows these compressions, so a failure means damaged data.
    if decoded is None or decoded.shape[:2] != (page.imagelength, page.imagewidth) or decoded.dtype != page.dtype:
        raise _Unreadable(_TRUNCATED)
    if decoded.ndim == 2:
        return decoded[..., None]
    conversion = cv2.COLOR_BGRA2RGBA if decoded.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(decoded, conversion)


def _with_neutral_orientation(data: bytes, page: tifffile.TiffPage) -> bytes:
    """A copy of ``data`` whose orientation tag says 1.

    OpenCV's TIFF decoder rotates by the orientation tag whatever flags it is
    given, and we want the pixels as stored.
    """
    tag = page.tags.get(_TIFF_ORIENTATION)
    if tag is None or int(tag.value) == 1:
        return data
    byte_order = "<" if data.startswith(b"II") else ">"
    patched = bytearray(data)
    struct.pack_into(f"{byte_order}H", patched, tag.valueoffset, 1)
    return bytes(patched)


def _tiff_samples_with_pillow(data: bytes, page: tifffile.TiffPage) -> tuple[np.ndarray, bool, bool]:
    """Palette, CMYK, YCbCr and bilevel TIFFs, converted by Pillow to 8-bit grey or RGB(A)."""
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            picture.load()
            samples, has_alpha = _samples_from_pillow(picture)
            converted_colour_space = picture.mode in ("CMYK", "YCbCr")
    except Exception:  # Pillow could not make sense of it either
        raise _Unreadable(f"unsupported TIFF variant ({_describe_tiff_page(page)})") from None
    return samples, has_alpha, converted_colour_space


def _describe_tiff_page(page: tifffile.TiffPage) -> str:
    """E.g. "32-bit floating-point MINISBLACK", for error messages."""
    sample_kinds = {1: "integer", 2: "signed integer", 3: "floating-point"}
    sample_kind = sample_kinds.get(int(page.sampleformat), "unusual")
    photometric = getattr(page.photometric, "name", page.photometric)
    return f"{page.bitspersample}-bit {sample_kind} {photometric}"


def _exif_from_tiff(data: bytes) -> bytes | None:
    """Rebuild an EXIF block from a TIFF's camera tags and EXIF/GPS sub-directories.

    A TIFF file is itself TIFF-structured, so Pillow's EXIF parser reads its
    main directory directly, without having to understand the pixel layout.
    """
    source = _parse_exif(data)
    if source is None:
        return None
    rebuilt = PILImage.Exif()
    for tag in _TIFF_CAMERA_TAGS:
        if tag in source:
            rebuilt[tag] = source[tag]
    for pointer in _EXIF_SUB_DIRECTORIES:
        entries = _exif_sub_directory(source, pointer)
        if entries:
            rebuilt[pointer] = entries
    if not len(rebuilt):
        return None
    try:
        return _canonical_exif(rebuilt.tobytes())
    except Exception:  # EXIF is a bonus; odd values must not cost the photo
        return None


# --------------------------------------------------------------------------- writers


def _write_jpeg(path: Path, image: Image, settings: _WriteSettings) -> None:
    samples = _output_samples(image, 8, keep_alpha=False)
    options: dict[str, Any] = {"quality": settings.jpeg_quality, "subsampling": settings.jpeg_subsampling}
    options.update(_pillow_metadata_options(image.metadata))
    if image.metadata.dpi:
        options["dpi"] = image.metadata.dpi
    _pillow_image(samples).save(path, "JPEG", **options)


def _write_webp(path: Path, image: Image, settings: _WriteSettings) -> None:
    samples = _output_samples(image, 8, keep_alpha=True, colour=True)
    options: dict[str, Any] = {"lossless": image.lossless, "exact": True}
    if not image.lossless:
        options["quality"] = settings.jpeg_quality
    options.update(_pillow_metadata_options(image.metadata, exif_prefix=b""))
    _pillow_image(samples).save(path, "WEBP", **options)


def _pillow_metadata_options(metadata: ImageMetadata, exif_prefix: bytes = _EXIF_PREFIX) -> dict[str, bytes]:
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


def _write_bmp(path: Path, image: Image, settings: _WriteSettings) -> None:
    # BMP has no grey+alpha layout, so grey with alpha becomes RGBA.
    needs_colour = image.alpha is not None
    samples = _output_samples(image, 8, keep_alpha=True, colour=needs_colour)
    path.write_bytes(_encode_bmp(samples, image.metadata.dpi))


def _encode_bmp(samples: np.ndarray, dpi: tuple[float, float] | None) -> bytes:
    """Bottom-up BMP: 8-bit grey palette, 24-bit BGR, or 32-bit BGRA with a V4 header."""
    height, width, channels = samples.shape
    bits_per_pixel = channels * 8
    stride = (width * channels + 3) & ~3
    rows = np.zeros((height, stride), np.uint8)
    stored_order = samples[..., [2, 1, 0, 3][:channels]] if channels > 1 else samples
    rows[:, : width * channels] = stored_order.reshape(height, -1)[::-1]
    per_metre = tuple(round(value * _BMP_INCHES_PER_METRE) for value in dpi) if dpi else (0, 0)
    palette = b"".join(bytes((level, level, level, 0)) for level in range(256)) if channels == 1 else b""
    header_size = 108 if channels == 4 else 40
    compression = 3 if channels == 4 else 0  # BI_BITFIELDS carries the alpha mask
    info_header = struct.pack(
        "<IiiHHIIiiII",
        header_size,
        width,
        height,
        1,
        bits_per_pixel,
        compression,
        rows.nbytes,
        *per_metre,
        256 if channels == 1 else 0,
        0,
    )
    if channels == 4:
        masks = struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
        srgb_colour_space = struct.pack("<I", 0x73524742)
        info_header += masks + srgb_colour_space + bytes(36 + 12)  # unused endpoints and gamma
    pixel_offset = 14 + len(info_header) + len(palette)
    file_header = b"BM" + struct.pack("<IHHI", pixel_offset + rows.nbytes, 0, 0, pixel_offset)
    return file_header + info_header + palette + rows.tobytes()


def _write_png(path: Path, image: Image, settings: _WriteSettings) -> None:
    samples = _output_samples(image, settings.bit_depth, keep_alpha=True)
    with open(path, "wb") as stream:
        _write_png_stream(stream, samples, image.metadata)


def _write_png_stream(stream: BinaryIO, samples: np.ndarray, metadata: ImageMetadata) -> None:
    height, width, channels = samples.shape
    bit_depth = 16 if samples.dtype == np.uint16 else 8
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    stream.write(_PNG_SIGNATURE)
    _write_png_chunk(stream, b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
    for kind, payload in _png_metadata_chunks(metadata):
        _write_png_chunk(stream, kind, payload)
    for compressed in _png_image_data(samples):
        _write_png_chunk(stream, b"IDAT", compressed)
    _write_png_chunk(stream, b"IEND", b"")


def _write_png_chunk(stream: BinaryIO, kind: bytes, payload: bytes) -> None:
    stream.write(struct.pack(">I", len(payload)) + kind)
    stream.write(payload)
    stream.write(struct.pack(">I", zlib.crc32(payload, zlib.crc32(kind))))


def _png_metadata_chunks(metadata: ImageMetadata) -> Iterator[tuple[bytes, bytes]]:
    if metadata.icc_profile:
        yield b"iCCP", b"ICC profile\x00\x00" + zlib.compress(metadata.icc_profile)
    if metadata.dpi:
        per_metre_x, per_metre_y = (round(value / _METRES_PER_INCH) for value in metadata.dpi)
        yield b"pHYs", struct.pack(">IIB", per_metre_x, per_metre_y, 1)
    if metadata.exif:
        yield b"eXIf", metadata.exif
    if metadata.xmp:
        # keyword, then: not compressed, method 0, no language, no translated keyword
        yield b"iTXt", _PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + metadata.xmp


def _png_image_data(samples: np.ndarray) -> Iterator[bytes]:
    """Compressed IDAT payloads, Paeth-filtered strip by strip to bound memory."""
    height = samples.shape[0]
    bytes_per_pixel = samples.shape[2] * samples.itemsize
    stored = samples.astype(samples.dtype.newbyteorder(">"), copy=False)  # PNG is big-endian
    rows = np.ascontiguousarray(stored).reshape(height, -1).view(np.uint8)
    rows_per_strip = max(1, _PNG_FILTER_STRIP_BYTES // rows.shape[1])
    compressor = zlib.compressobj(6)
    previous_row = np.zeros(rows.shape[1], np.uint8)
    pending = bytearray()
    for start in range(0, height, rows_per_strip):
        strip = rows[start : start + rows_per_strip]
        pending += compressor.compress(_paeth_filtered(strip, previous_row, bytes_per_pixel).tobytes())
        previous_row = strip[-1]
        while len(pending) >= _PNG_IDAT_SIZE:
            yield bytes(pending[:_PNG_IDAT_SIZE])
            del pending[:_PNG_IDAT_SIZE]
    pending += compressor.flush()
    for start in range(0, len(pending), _PNG_IDAT_SIZE):
        yield bytes(pending[start : start + _PNG_IDAT_SIZE])


def _paeth_filtered(strip: np.ndarray, previous_row: np.ndarray, bytes_per_pixel: int) -> np.ndarray:
    """Rows prefixed with filter type 4 (Paeth), the filter that suits photos best."""
    current = strip.astype(np.int16)
    above = np.vstack([previous_row[None].astype(np.int16), current[:-1]])
    left = np.zeros_like(current)
    left[:, bytes_per_pixel:] = current[:, :-bytes_per_pixel]
    above_left = np.zeros_like(above)
    above_left[:, bytes_per_pixel:] = above[:, :-bytes_per_pixel]
    distance_left = np.abs(above - above_left)
    distance_above = np.abs(left - above_left)
    distance_above_left = np.abs(left + above - 2 * above_left)
    prediction = np.where(
        (distance_left <= distance_above) & (distance_left <= distance_above_left),
        left,
        np.where(distance_above <= distance_above_left, above, above_left),
    )
    filtered = np.empty((strip.shape[0], strip.shape[1] + 1), np.uint8)
    filtered[:, 0] = 4
    filtered[:, 1:] = (current - prediction) & 0xFF
    return filtered


def _write_tiff(path: Path, image: Image, settings: _WriteSettings) -> None:
    samples = _output_samples(image, settings.bit_depth, keep_alpha=True)
    colour_count = image.pixels.shape[2]
    metadata = image.metadata
    exif = _parse_exif(metadata.exif)
    camera_tags = _tiff_camera_tags(exif)
    sub_directories = _tiff_sub_directories(exif)
    extratags = [tag for code, tag in camera_tags.items() if code not in (_TIFF_DESCRIPTION, _TIFF_SOFTWARE)]
    # tifffile refuses the EXIF/GPS pointer tags, and their offsets are only known
    # once the file exists: write placeholders with the code just below, patch later.
    extratags += [(pointer - 1, 4, 1, 0, True) for pointer in sub_directories]
    if metadata.xmp:
        extratags.append((_TIFF_XMP, 1, len(metadata.xmp), metadata.xmp, True))
    tifffile.imwrite(
        path,
        samples[..., 0] if samples.shape[2] == 1 else samples,
        photometric="rgb" if colour_count == 3 else "minisblack",
        planarconfig="contig" if samples.shape[2] > 1 else None,
        extrasamples=("unassalpha",) if samples.shape[2] > colour_count else None,
        compression="zlib",
        predictor=True,
        iccprofile=metadata.icc_profile,
        resolution=metadata.dpi,
        resolutionunit="inch" if metadata.dpi else None,
        description=_tag_value(camera_tags.get(_TIFF_DESCRIPTION)),
        software=_tag_value(camera_tags.get(_TIFF_SOFTWARE)) or False,
        metadata=None,
        extratags=extratags,
        byteorder="<",
        bigtiff=False,
    )
    if sub_directories:
        _append_tiff_sub_directories(path, sub_directories)


def _tiff_camera_tags(exif: PILImage.Exif | None) -> dict[int, tuple[int, int, int, Any, bool]]:
    """tifffile extratags for the photo-describing main-directory tags of an EXIF block."""
    tags: dict[int, tuple[int, int, int, Any, bool]] = {}
    if exif is None:
        return tags
    for code in _TIFF_CAMERA_TAGS:
        value = exif.get(code)
        if code == _TIFF_ORIENTATION and isinstance(value, int):
            tags[code] = (code, 3, 1, value, True)
        elif isinstance(value, str) and value:
            tags[code] = (code, 2, 0, value.encode("utf-8", "replace"), True)
    return tags


def _tag_value(tag: tuple[int, int, int, Any, bool] | None) -> Any:
    return None if tag is None else tag[3]


def _tiff_sub_directories(exif: PILImage.Exif | None) -> dict[int, dict[int, Any]]:
    """The EXIF and GPS directories of an EXIF block that can be written as TIFF directories."""
    if exif is None:
        return {}
    found = {pointer: _exif_sub_directory(exif, pointer) for pointer in _EXIF_SUB_DIRECTORIES if pointer in exif}
    return {pointer: entries for pointer, entries in found.items() if entries and _serialisable(pointer, entries)}


def _serialisable(pointer: int, entries: dict[int, Any]) -> bool:
    # A trial run, so that one odd tag value drops its directory instead of failing the photo.
    try:
        _serialised_directory(pointer, entries, 0)
    except Exception:
        return False
    return True


def _serialised_directory(pointer: int, entries: dict[int, Any], offset: int) -> bytes:
    """A little-endian TIFF directory holding ``entries``, to be stored at file ``offset``."""
    directory = TiffImagePlugin.ImageFileDirectory_v2(ifh=b"II\x2a\x00\x08\x00\x00\x00", group=pointer)
    for tag, value in entries.items():
        directory[tag] = value
    return directory.tobytes(offset)


def _append_tiff_sub_directories(path: Path, sub_directories: dict[int, dict[int, Any]]) -> None:
    """Append the EXIF/GPS directories to a finished TIFF and turn the placeholders into pointers to them.

    A placeholder's code is one below its pointer's, and no tag lies between
    them, so renaming it keeps the directory sorted as TIFF requires.
    """
    with tifffile.TiffFile(path) as written:
        tags = written.pages.first.tags
        placeholders = {pointer: (tags[pointer - 1].offset, tags[pointer - 1].valueoffset) for pointer in sub_directories}
    with open(path, "r+b") as stream:
        for pointer, entries in sub_directories.items():
            stream.seek(0, os.SEEK_END)
            if stream.tell() % 2:  # TIFF directories start on a word boundary
                stream.write(b"\x00")
            directory_offset = stream.tell()
            stream.write(_serialised_directory(pointer, entries, directory_offset))
            entry_offset, value_offset = placeholders[pointer]
            stream.seek(entry_offset)
            stream.write(struct.pack("<H", pointer))
            stream.seek(value_offset)
            stream.write(struct.pack("<I", directory_offset))


_READERS: dict[str, Callable[[bytes], Image]] = {
    "JPEG": _read_jpeg,
    "PNG": _read_png,
    "TIFF": _read_tiff,
    "WEBP": _read_webp,
    "BMP": _read_bmp,
}

_WRITERS: dict[str, Callable[[Path, Image, _WriteSettings], None]] = {
    "JPEG": _write_jpeg,
    "PNG": _write_png,
    "TIFF": _write_tiff,
    "WEBP": _write_webp,
    "BMP": _write_bmp,
}
