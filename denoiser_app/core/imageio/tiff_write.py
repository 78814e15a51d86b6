"""TIFF writing with tifffile: Deflate with predictor, ICC, XMP, IPTC and DPI, and EXIF as tags.

IPTC is written as Photoshop does: the resource block in tag 34377 and its
IPTC-IIM records again in tag 33723, where most readers look for them.

TIFF has no EXIF block, so the camera tags of an EXIF block's main directory
go into the TIFF's own directory and its EXIF and GPS sub-directories are
appended after the image and pointed to.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import tifffile
from PIL import Image as PILImage
from PIL import TiffImagePlugin

from denoiser_app.core.imageio.exif import (
    EXIF_SUB_DIRECTORIES,
    TIFF_CAMERA_TAGS,
    TIFF_DESCRIPTION,
    TIFF_ORIENTATION,
    TIFF_SOFTWARE,
    exif_sub_directory,
    parse_exif,
)
from denoiser_app.core.imageio.image import Image, WriteSettings
from denoiser_app.core.imageio.iptc import iim_from_resources
from denoiser_app.core.imageio.samples import output_samples
from denoiser_app.core.imageio.tiff_read import TIFF_IPTC, TIFF_PHOTOSHOP, TIFF_XMP

_Tag = tuple[int, int, int, Any, bool]  # a tifffile extratag: code, type, count, value, write once


def write_tiff(path: Path, image: Image, settings: WriteSettings) -> list[str]:
    samples = output_samples(image, settings.bit_depth, keep_alpha=True)
    colour_count = image.pixels.shape[2]
    metadata = image.metadata
    exif = parse_exif(metadata.exif)
    camera_tags = _tiff_camera_tags(exif)
    sub_directories = _tiff_sub_directories(exif)
    extratags = [tag for code, tag in camera_tags.items() if code not in (TIFF_DESCRIPTION, TIFF_SOFTWARE)]
    # tifffile refuses the EXIF/GPS pointer tags, and their offsets are only known
    # once the file exists: write placeholders with the code just below, patch later.
    extratags += [(pointer - 1, 4, 1, 0, True) for pointer in sub_directories]
    blocks = (  # code, type (1 BYTE, 7 UNDEFINED, as Pillow writes them), value
        (TIFF_XMP, 1, metadata.xmp),
        (TIFF_PHOTOSHOP, 1, metadata.iptc),
        (TIFF_IPTC, 7, iim_from_resources(metadata.iptc)),
    )
    extratags += [(code, kind, len(value), value, True) for code, kind, value in blocks if value]
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
        description=_tag_value(camera_tags.get(TIFF_DESCRIPTION)),
        software=_tag_value(camera_tags.get(TIFF_SOFTWARE)) or False,
        metadata=None,
        extratags=extratags,
        byteorder="<",
        bigtiff=False,
    )
    if sub_directories:
        _append_tiff_sub_directories(path, sub_directories)
    return []


def _tiff_camera_tags(exif: PILImage.Exif | None) -> dict[int, _Tag]:
    """tifffile extratags for the photo-describing main-directory tags of an EXIF block."""
    tags: dict[int, _Tag] = {}
    if exif is None:
        return tags
    for code in TIFF_CAMERA_TAGS:
        value = exif.get(code)
        if code == TIFF_ORIENTATION and isinstance(value, int):
            tags[code] = (code, 3, 1, value, True)
        elif isinstance(value, str) and value:
            tags[code] = (code, 2, 0, value.encode("utf-8", "replace"), True)
    return tags


def _tag_value(tag: _Tag | None) -> Any:
    return None if tag is None else tag[3]


def _tiff_sub_directories(exif: PILImage.Exif | None) -> dict[int, dict[int, Any]]:
    """The EXIF and GPS directories of an EXIF block that can be written as TIFF directories."""
    if exif is None:
        return {}
    found = {pointer: exif_sub_directory(exif, pointer) for pointer in EXIF_SUB_DIRECTORIES if pointer in exif}
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
