"""Reading and writing photos for denoising, keeping their metadata.

:func:`read_image` returns the pixels exactly as stored in the file (EXIF
orientation is *not* applied; :attr:`Image.orientation` tells the GUI how to
show them) as float32 in [0, 1], plus the alpha channel untouched and the
metadata blocks as raw bytes. :func:`write_image` turns that back into a file,
atomically (see :mod:`denoiser_app.core.atomic`).

Pixels and bit depth
    8-bit files give 8-bit output and 16-bit files 16-bit output (PNG, TIFF);
    10- and 12-bit HEIC photos are read as 16-bit and written back at 10 bits.
    JPEG, WebP and BMP hold 8 bits only, so 16-bit images are rounded to 8 bits
    there; ``bit_depth=16`` widens 8-bit images for PNG/TIFF output. Reading and
    then writing unchanged pixels gives identical sample values in every
    lossless format. Grey images have one channel and are written as grey,
    except to WebP and HEIC, which are written as RGB. Palette images
    (PNG, BMP, TIFF) are expanded to RGB, or RGBA if they have transparency,
    and are written out that way. CMYK JPEG and TIFF files are converted to
    sRGB through their embedded profile and carry an sRGB profile from then on
    (without a profile, approximately); YCbCr ones to RGB. Such changes, and
    pages or frames not read, come back in :attr:`Image.notes`, which the
    batch reports with the photo. Camera raw files are developed by LibRaw
    (:mod:`.raw`) to 16-bit sRGB and written as 16-bit TIFF.

Alpha
    Returned with its stored dtype and values and written back unchanged. It is
    only rescaled when the output bit depth differs, and it is dropped for JPEG,
    which cannot store it (no compositing against a background).

Metadata (EXIF, ICC profile, XMP, IPTC, DPI)
    ``ImageMetadata.exif`` holds the EXIF block as TIFF-structured bytes
    (starting ``II*\\0`` or ``MM\\0*``) without JPEG's ``Exif\\0\\0`` prefix.
    JPEG, PNG and WebP output carry EXIF, ICC and XMP byte for byte, except
    that a JPEG holds at most 65,527 bytes of EXIF and 65,504 of XMP (one
    segment each): a larger block is left out, the file is written anyway, and
    :func:`write_image` returns a note saying so. A JPEG's Extended XMP (the
    part of a large XMP packet kept in further segments) goes byte for byte
    into JPEG output; other formats leave it out with a note. DPI:
    JPEG stores whole numbers (JFIF), PNG pixels per metre, BMP pixels per metre
    (BMP keeps no EXIF, ICC or XMP), WebP has no DPI field. TIFF output carries
    ICC, XMP and DPI byte for byte too, but TIFF has no EXIF block: EXIF lives
    in ordinary TIFF tags and sub-directories. So for TIFF output the camera
    tags of the main directory (orientation, make, model, date, artist,
    copyright, software, description) plus the EXIF and GPS sub-directories
    are written as tags, and reading a TIFF rebuilds an EXIF block from those
    tags. The information survives, the exact bytes do not (the thumbnail and
    the interoperability directory are dropped). HEIC: the decoder applies the
    file's rotation, so the pixels are upright and the EXIF orientation tag is
    set to 1 (the only byte changed); EXIF, ICC and XMP are carried byte for
    byte; depth maps, auxiliary images (HDR gain maps) and thumbnails are not.

    ``ImageMetadata.iptc`` holds IPTC (caption, keywords, copyright…) as a
    Photoshop image-resource block, the IPTC-IIM records being its resource
    0x0404 (see :mod:`.iptc`). It is read from a JPEG's "Photoshop 3.0" APP13
    segments and a TIFF's tag 34377 (or, failing that, its IPTC-IIM tag
    33723), and written to JPEG as APP13 (a JPEG source's APP13 comes back
    byte for byte) and to TIFF as both tags. PNG, WebP and BMP have no standard
    place for IPTC, so it is not carried there.

    Other PNG chunks (text, gAMA, sRGB…) and other TIFF tags are not carried.

Format specifics
    JPEG output uses quality 95 and 4:4:4 chroma by default. PNG and TIFF
    output is lossless (TIFF: Deflate with horizontal predictor, unassociated
    alpha). WebP output is lossless if the source WebP was lossless, otherwise
    lossy at ``jpeg_quality`` (alpha stays exact either way). BMP RGBA is
    written with a BITFIELDS header and an alpha mask. Only the first page of a
    multi-page TIFF and the first frame of an animated WebP are read, and the
    notes say so.

Codecs
    Pillow reads JPEG, WebP and BMP and writes JPEG and WebP; pillow-heif
    (libheif) reads and writes HEIC; OpenCV (libpng)
    reads and writes PNG pixels (Pillow cannot hold 16-bit colour) while the
    PNG metadata chunks are parsed and spliced in here (:mod:`.png_chunks`);
    OpenCV writes BMP (Pillow's RGBA BMPs lose their alpha); tifffile reads
    and writes TIFF, with OpenCV for LZW/JPEG-compressed pages (tifffile needs
    the large imagecodecs package for those) and Pillow for palette/CMYK/YCbCr
    pages. Files are read into memory first and OpenCV encodes into memory,
    so non-ASCII paths work everywhere.

Modules
    :mod:`.files` (read_image, write_image, checks), :mod:`.image` (the types),
    :mod:`.errors`, :mod:`.samples` (float/integer conversion), :mod:`.exif`,
    :mod:`.png`, :mod:`.png_chunks`, :mod:`.tiff_read`, :mod:`.tiff_write`,
    :mod:`.pillow_formats` (JPEG, WebP, BMP), :mod:`.heif`, :mod:`.raw`, :mod:`.iptc`, :mod:`.opencv_codec`.
"""
from __future__ import annotations

from denoiser_app.core.imageio.errors import ImageFileError, ImageReadError, ImageWriteError
from denoiser_app.core.imageio.exif import exif_orientation
from denoiser_app.core.imageio.files import (
    DEFAULT_MAX_MEGAPIXELS,
    JPEG_SUBSAMPLINGS,
    OUTPUT_FORMATS,
    SUPPORTED_SUFFIXES,
    output_suffix,
    probe_megapixels,
    read_image,
    write_image,
)
from denoiser_app.core.imageio.image import Image, ImageMetadata

__all__ = [
    "DEFAULT_MAX_MEGAPIXELS",
    "JPEG_SUBSAMPLINGS",
    "OUTPUT_FORMATS",
    "SUPPORTED_SUFFIXES",
    "Image",
    "ImageFileError",
    "ImageMetadata",
    "ImageReadError",
    "ImageWriteError",
    "exif_orientation",
    "output_suffix",
    "probe_megapixels",
    "read_image",
    "write_image",
]
