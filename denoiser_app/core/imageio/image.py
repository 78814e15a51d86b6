"""The image and metadata types, and helpers for metadata values."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from denoiser_app.core.imageio.exif import exif_orientation


@dataclass(frozen=True)
class ImageMetadata:
    """Metadata blocks copied verbatim from the source file.

    ``exif`` is TIFF-structured (``II*\\0``/``MM\\0*``…) without ``Exif\\0\\0``;
    ``dpi`` is (horizontal, vertical) dots per inch; ``iptc`` is a Photoshop
    image-resource block whose resource 0x0404 holds the IPTC-IIM records
    (see :mod:`.iptc`); ``extended_xmp`` holds the payloads of a JPEG's
    Extended XMP segments, the rest of an XMP packet too large for one
    segment (see :mod:`.jpeg_segments`).
    """

    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    iptc: bytes | None = None
    extended_xmp: tuple[bytes, ...] = ()


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
    # What reading changed or left out (a CMYK conversion, pages not read), reported with the result.
    notes: tuple[str, ...] = ()

    @property
    def orientation(self) -> int:
        """EXIF orientation 1..8 (1 when absent or invalid), for display only."""
        return exif_orientation(self.metadata.exif)


@dataclass(frozen=True)
class WriteSettings:
    """The checked options of one :func:`write_image` call, handed to the format's writer."""

    bit_depth: int
    jpeg_quality: int
    jpeg_subsampling: str


def as_bytes(value: Any) -> bytes | None:
    """A metadata value from a decoder (bytes, str or array) as bytes; None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif isinstance(value, np.ndarray):
        value = value.tobytes()
    value = bytes(value)
    return value or None


def valid_dpi(horizontal: float, vertical: float) -> tuple[float, float] | None:
    """(horizontal, vertical) as floats, or None unless both are finite and positive."""
    dpi = (float(horizontal), float(vertical))
    return dpi if all(np.isfinite(dpi)) and min(dpi) > 0 else None
