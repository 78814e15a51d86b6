"""Camera raw files (CR2, CR3, NEF, ARW, DNG, RAF, ORF, RW2...), developed by LibRaw through rawpy.

What this does: demosaic the sensor data with the camera's own white balance
into 16-bit sRGB (LibRaw's defaults otherwise, as dcraw would), upright, with
the camera's EXIF (make, model, ISO, exposure, lens, date) where the file
keeps it in TIFF form (DNG, NEF, CR2, ARW, ORF, RW2, PEF...), and an sRGB
profile. The denoised photo is then written as a 16-bit TIFF (or the chosen
format): a raw file cannot be written back.

What it does not do: it is not a raw editor. No exposure, highlight recovery,
lens corrections or camera profiles; an editor's own development will look
different. Denoise raw files here when the result is the photo you want, or
develop them in your editor and clean the 16-bit TIFF it exports.
"""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np

from denoiser_app.core.imageio.errors import Unreadable
from denoiser_app.core.imageio.exif import exif_upright
from denoiser_app.core.imageio.image import Image, ImageMetadata
from denoiser_app.core.imageio.pillow_formats import srgb_profile
from denoiser_app.core.imageio.samples import image_from_samples

RAW_SUFFIXES = frozenset({
    ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".kdc", ".mef", ".mos", ".mrw",
    ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
})
RAW_FORMAT = "RAW"
# A raw file cannot be written back; "same format" output of one is a 16-bit TIFF.
RAW_OUTPUT_FORMAT = "TIFF"


def rawpy_available() -> bool:
    """Whether raw files can be read here (rawpy is a dependency, but LibRaw may be missing from a build)."""
    return importlib.util.find_spec("rawpy") is not None


def _open(source: bytes | Path):
    """LibRaw on a raw file's bytes, or on the file itself (which it reads only as far as it needs)."""
    import rawpy

    try:
        return rawpy.imread(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except rawpy.LibRawError as error:  # unsupported camera, damaged or not a raw file at all
        raise Unreadable(f"not a camera raw file LibRaw can read ({type(error).__name__}: {error})") from None


def raw_size(source: bytes | Path) -> tuple[int, int]:
    """(width, height) of the developed photo, from the raw file's header (bytes in memory, or the file)."""
    with _open(source) as raw:
        sizes = raw.sizes
        # Turned a quarter (flip 5 or 6), the developed photo is as wide as the sensor is tall.
        return (sizes.height, sizes.width) if sizes.flip in (5, 6) else (sizes.width, sizes.height)


def read_raw(data: bytes) -> Image:
    import rawpy

    with _open(data) as raw:
        try:
            samples = raw.postprocess(
                use_camera_wb=True, output_bps=16, output_color=rawpy.ColorSpace.sRGB, no_auto_bright=True
            )
        except rawpy.LibRawError as error:
            raise Unreadable(f"this camera raw file could not be developed ({error})") from None
    metadata = ImageMetadata(exif=exif_upright(_camera_exif(data)), icc_profile=srgb_profile())
    return image_from_samples(np.ascontiguousarray(samples), False, RAW_FORMAT, metadata)


def _camera_exif(data: bytes) -> bytes | None:
    """EXIF rebuilt from a TIFF-structured raw file's tags; None for other containers (CR3, RAF...)."""
    from denoiser_app.core.imageio.tiff_read import exif_from_tiff

    if data[:4] not in (b"II*\x00", b"MM\x00*", b"IIRO", b"IIU\x00"):
        return None
    return exif_from_tiff(data)

