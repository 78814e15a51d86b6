"""HEIC/HEIF (phones' and newer cameras' photos), read and written with pillow-heif (libheif).

Decoding applies the file's own rotation and mirroring (HEIF's ``irot`` and
``imir``), so the pixels come out upright; the EXIF orientation tag is set
to 1 to match, or every viewer would turn the photo a second time. The rest
of the EXIF block, the ICC profile and XMP are kept byte for byte. 10- and
12-bit photos are read as 16-bit samples and written back at 10 bits (12 when
pillow-heif is told to), 8-bit ones at 8. Depth maps, auxiliary images (such
as an HDR gain map) and thumbnails are not carried into the output.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pillow_heif

from denoiser_app.core.imageio.errors import Unreadable
from denoiser_app.core.imageio.exif import EXIF_PREFIX, canonical_exif, exif_upright
from denoiser_app.core.imageio.image import Image, ImageMetadata, WriteSettings, as_bytes
from denoiser_app.core.imageio.samples import image_from_samples, output_samples

# Major brands of HEIF files that hold HEVC-coded still images.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_CHROMA_BY_SUBSAMPLING = {"4:4:4": 444, "4:2:2": 422, "4:2:0": 420}


def is_heif(data: bytes) -> bool:
    """Whether ``data`` is an HEVC-coded HEIF file (not an AVIF, which shares the container)."""
    if data[4:8] != b"ftyp" or data[8:12] not in HEIF_BRANDS:
        return False
    box_size = int.from_bytes(data[0:4], "big")
    compatible = data[16 : max(16, min(box_size, 256))]
    return not ({compatible[i : i + 4] for i in range(0, len(compatible), 4)} & {b"avif", b"avis"})


def read_heif(data: bytes) -> Image:
    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
    info: dict[str, Any] = heif.info
    samples = np.asarray(heif)
    if samples.ndim == 2:
        samples = samples[..., None]
    if samples.shape[2] not in _MODES:
        raise Unreadable(f"unsupported colour mode ({heif.mode})")
    depth = int(info.get("bit_depth") or 8)
    if samples.dtype == np.uint16 and depth < 16:
        # libheif puts 10 or 12 bits at the top of 16; spread them over the whole
        # range so that full scale is 1.0. Writing shifts them back exactly.
        top = samples >> (16 - depth)
        samples = np.round(top * (65535 / (2**depth - 1))).astype(np.uint16)
    metadata = ImageMetadata(
        exif=exif_upright(canonical_exif(info.get("exif"))),
        icc_profile=as_bytes(info.get("icc_profile")) if info.get("icc_profile_type") != "nclx" else None,
        xmp=as_bytes(info.get("xmp")),
    )
    return image_from_samples(samples, samples.shape[2] in (2, 4), "HEIF", metadata, lossless=False)


def write_heif(path: Path, image: Image, settings: WriteSettings) -> list[str]:
    samples = np.ascontiguousarray(output_samples(image, settings.bit_depth, keep_alpha=True, colour=True))
    mode = _MODES[samples.shape[2]] + (";16" if samples.dtype == np.uint16 else "")
    heif = pillow_heif.from_bytes(mode, (samples.shape[1], samples.shape[0]), samples.tobytes())
    options: dict[str, Any] = {
        "quality": settings.jpeg_quality,
        "chroma": _CHROMA_BY_SUBSAMPLING[settings.jpeg_subsampling],
    }
    metadata = image.metadata
    if metadata.exif:
        # Upright, or the encoder would store the tag as a rotation of the (already upright) pixels.
        options["exif"] = EXIF_PREFIX + (exif_upright(metadata.exif) or b"")
    if metadata.icc_profile:
        options["icc_profile"] = metadata.icc_profile
    if metadata.xmp:
        options["xmp"] = metadata.xmp
    heif.save(path, **options)
    return []
