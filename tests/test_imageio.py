"""Tests for denoiser_app.core.imageio and denoiser_app.core.atomic.

Files are made with independent encoders (Pillow, OpenCV, tifffile) where
possible and our output is checked with independent decoders, so a bug shared
by our reader and writer cannot hide itself.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import ExifTags, ImageCms, IptcImagePlugin, TiffImagePlugin
from PIL import Image as PILImage
from PIL.JpegImagePlugin import get_sampling

from denoiser_app.core.atomic import PARTIAL_SUFFIX, atomic_path, is_partial_file
from denoiser_app.core.imageio import (
    OUTPUT_FORMATS,
    SUPPORTED_SUFFIXES,
    Image,
    ImageMetadata,
    ImageReadError,
    ImageWriteError,
    output_suffix,
    read_image,
    write_image,
)
from denoiser_app.core.imageio import files as files_module
from denoiser_app.core.imageio.png_chunks import splice_after_header

MAXIMUM = {8: 255, 16: 65535}
DTYPE = {8: np.uint8, 16: np.uint16}
EXPOSURE_TIME = 33434
MODEL = 272
ORIENTATION = 274


# --------------------------------------------------------------------------- helpers


def random_samples(height: int, width: int, channels: int, bit_depth: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, MAXIMUM[bit_depth] + 1, (height, width, channels), dtype=DTYPE[bit_depth])


def as_integers(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    """What a correct writer must store for these float pixels."""
    return np.clip(np.floor(pixels.astype(np.float64) * MAXIMUM[bit_depth] + 0.5), 0, MAXIMUM[bit_depth]).astype(DTYPE[bit_depth])


def image_from_samples(
    samples: np.ndarray, has_alpha: bool, file_format: str = "PNG", metadata: ImageMetadata | None = None
) -> Image:
    bit_depth = 16 if samples.dtype == np.uint16 else 8
    colour = samples[..., :-1] if has_alpha else samples
    return Image(
        pixels=colour.astype(np.float32) / MAXIMUM[bit_depth],
        alpha=samples[..., -1].copy() if has_alpha else None,
        bit_depth=bit_depth,
        format=file_format,
        metadata=metadata or ImageMetadata(),
    )


def samples_of(image: Image) -> np.ndarray:
    """The stored integer samples an unmodified image represents (colour, then alpha)."""
    colour = as_integers(image.pixels, image.bit_depth)
    if image.alpha is None:
        return colour
    return np.concatenate([colour, image.alpha[..., None]], axis=2)


def encoded_with_pillow(samples: np.ndarray, file_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(samples[..., 0] if samples.shape[2] == 1 else samples).save(buffer, file_format, **options)
    return buffer.getvalue()


def encoded_png_with_opencv(samples: np.ndarray) -> bytes:
    conversions = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}
    channels = samples.shape[2]
    stored = cv2.cvtColor(samples, conversions[channels]) if channels in conversions else samples[..., 0]
    ok, encoded = cv2.imencode(".png", stored)
    assert ok
    return encoded.tobytes()


def decoded_independently(path: Path) -> np.ndarray:
    """H x W x C samples of a file we wrote, decoded without our reader."""
    data = path.read_bytes()
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        samples = tifffile.imread(path)
    elif data.startswith(b"\x89PNG") and png_header(path)[2] == 16:
        # Pillow cannot hold 16-bit colour; OpenCV gives BGR(A), and grey+alpha as BGRA.
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        conversions = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}
        samples = cv2.cvtColor(decoded, conversions[decoded.shape[2]]) if decoded.ndim == 3 else decoded
        if png_header(path)[3] == 4:
            samples = samples[..., [0, 3]]
    else:
        samples = np.asarray(PILImage.open(path))
    return samples[..., None] if samples.ndim == 2 else samples


def png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the IHDR chunk."""
    return struct.unpack(">IIBB", path.read_bytes()[16:26])


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, bool]]:
    """(type, payload, CRC correct) for each chunk of a PNG file."""
    position, chunks = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        payload = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        chunks.append((kind, payload, crc == zlib.crc32(kind + payload)))
        position += 12 + length
    return chunks


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_chunk_types(path: Path) -> list[bytes]:
    return [kind for kind, _, _ in png_chunks(path.read_bytes())]


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of each segment of a JPEG before its image data."""
    segments, position = [], 2
    while data[position + 1] != 0xDA:  # start of scan
        (length,) = struct.unpack_from(">H", data, position + 2)
        segments.append((data[position + 1], data[position + 4 : position + 2 + length]))
        position += 2 + length
    return segments


def iptc_record(dataset: int, value: bytes) -> bytes:
    """An IPTC-IIM record of the application record (2:dataset)."""
    return b"\x1c\x02" + bytes([dataset]) + struct.pack(">H", len(value)) + value


def photoshop_resource(resource_id: int, data: bytes, name: bytes = b"") -> bytes:
    """An 8BIM image resource: Pascal name and data each padded to even length."""
    pascal_name = bytes([len(name)]) + name + b"\x00" * ((len(name) + 1) % 2)
    padded_data = data + b"\x00" * (len(data) % 2)
    return b"8BIM" + struct.pack(">H", resource_id) + pascal_name + struct.pack(">I", len(data)) + padded_data


IPTC_IIM = (
    iptc_record(0, b"\x00\x04")  # record version
    + iptc_record(120, "Low tide at Saint-Malo, © Zoë".encode())  # caption
    + iptc_record(25, b"sea")  # keywords
    + iptc_record(25, b"Brittany")
    + iptc_record(116, b"(c) 2024 Zoe Martin")  # copyright
)
# Photoshop's resources as in a JPEG's APP13 or a TIFF's tag 34377: a named
# resource first (its name padding must be skipped), then the IIM and its digest.
PHOTOSHOP_RESOURCES = (
    photoshop_resource(0x03ED, bytes(range(16)), name=b"res")
    + photoshop_resource(0x0404, IPTC_IIM)
    + photoshop_resource(0x0425, hashlib.md5(IPTC_IIM).digest())
)
APP13_PAYLOAD = b"Photoshop 3.0\x00" + PHOTOSHOP_RESOURCES


def partial_files(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if is_partial_file(path)]


@pytest.fixture(scope="module")
def exif_bytes() -> bytes:
    """A real EXIF block (TIFF-structured, no "Exif" prefix) with orientation 6."""
    exif = PILImage.Exif()
    exif[ORIENTATION] = 6
    exif[MODEL] = "Denoiser Test Camera"
    exif[271] = "Test Maker"
    exif.get_ifd(ExifTags.IFD.Exif)[EXPOSURE_TIME] = TiffImagePlugin.IFDRational(1, 250)
    exif.get_ifd(ExifTags.IFD.Exif)[34855] = 800  # ISO
    block = exif.tobytes()
    assert block.startswith(b"Exif\x00\x00")
    return block[6:]


@pytest.fixture(scope="module")
def icc_bytes() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="module")
def xmp_bytes() -> bytes:
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4"/></rdf:RDF></x:xmpmeta>'
        b'<?xpacket end="w"?>'
    )


@pytest.fixture(scope="module")
def full_metadata(exif_bytes: bytes, icc_bytes: bytes, xmp_bytes: bytes) -> ImageMetadata:
    return ImageMetadata(exif=exif_bytes, icc_profile=icc_bytes, xmp=xmp_bytes, dpi=(300.0, 300.0))


# --------------------------------------------------------------------------- lossless round trips

LOSSLESS_LAYOUTS = [
    # (format, suffix, bit depth, channels including alpha, has alpha)
    ("png", ".png", 8, 1, False),
    ("png", ".png", 8, 2, True),
    ("png", ".png", 8, 3, False),
    ("png", ".png", 8, 4, True),
    ("png", ".png", 16, 1, False),
    ("png", ".png", 16, 2, True),
    ("png", ".png", 16, 3, False),
    ("png", ".png", 16, 4, True),
    ("tiff", ".tif", 8, 1, False),
    ("tiff", ".tif", 8, 2, True),
    ("tiff", ".tif", 8, 3, False),
    ("tiff", ".tif", 8, 4, True),
    ("tiff", ".tif", 16, 1, False),
    ("tiff", ".tif", 16, 2, True),
    ("tiff", ".tif", 16, 3, False),
    ("tiff", ".tif", 16, 4, True),
]


@pytest.mark.parametrize(("output_format", "suffix", "bit_depth", "channels", "has_alpha"), LOSSLESS_LAYOUTS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_write_then_read_keeps_every_sample(
    tmp_path: Path, output_format: str, suffix: str, bit_depth: int, channels: int, has_alpha: bool, data: st.DataObject
) -> None:
    shape = data.draw(st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda size: (*size, channels)))
    samples = data.draw(arrays(DTYPE[bit_depth], shape))
    path = tmp_path / f"picture{suffix}"

    write_image(path, image_from_samples(samples, has_alpha), output_format)

    assert np.array_equal(decoded_independently(path), samples)
    back = read_image(path)
    assert back.bit_depth == bit_depth
    assert back.pixels.dtype == np.float32 and back.pixels.shape == (*shape[:2], channels - has_alpha)
    assert np.array_equal(samples_of(back), samples)
    if has_alpha:
        assert back.alpha.dtype == DTYPE[bit_depth]


@pytest.mark.parametrize("channels", [1, 3, 4])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bmp_write_then_read_keeps_every_sample(tmp_path: Path, channels: int, data: st.DataObject) -> None:
    shape = data.draw(st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda size: (*size, channels)))
    samples = data.draw(arrays(np.uint8, shape))
    path = tmp_path / "picture.bmp"

    write_image(path, image_from_samples(samples, channels == 4, "BMP"))

    assert np.array_equal(decoded_independently(path), samples)
    assert np.array_equal(samples_of(read_image(path)), samples)


@pytest.mark.parametrize(("bit_depth", "channels"), [(8, 4), (16, 4), (8, 2), (16, 2)])
def test_png_with_many_data_chunks_keeps_samples_and_puts_metadata_first(
    tmp_path: Path, full_metadata: ImageMetadata, bit_depth: int, channels: int
) -> None:
    # Big enough for the encoder to split the pixels over several IDAT chunks.
    samples = random_samples(70, 61, channels, bit_depth, seed=9)
    path = tmp_path / "chunks.png"

    write_image(path, image_from_samples(samples, True, metadata=full_metadata))

    chunks = png_chunks(path.read_bytes())
    kinds = [kind for kind, _, _ in chunks]
    assert kinds[:5] == [b"IHDR", b"iCCP", b"pHYs", b"eXIf", b"iTXt"]
    assert kinds.count(b"IDAT") > 1 and kinds[-1] == b"IEND"
    assert kinds.index(b"IDAT") == 5 and all(crc_correct for _, _, crc_correct in chunks)
    assert png_header(path) == (61, 70, bit_depth, {2: 4, 4: 6}[channels])
    assert np.array_equal(decoded_independently(path), samples)
    assert np.array_equal(samples_of(read_image(path)), samples)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_eight_bit_png_with_metadata_decodes_with_pillow_and_opencv(
    tmp_path: Path, full_metadata: ImageMetadata, channels: int
) -> None:
    samples = random_samples(33, 47, channels, 8, seed=channels)
    path = tmp_path / "both.png"

    write_image(path, image_from_samples(samples, channels in (2, 4), metadata=full_metadata))

    with PILImage.open(path) as picture:
        picture.load()
        assert np.array_equal(np.asarray(picture).reshape(samples.shape), samples)
        assert picture.info["icc_profile"] == full_metadata.icc_profile
        assert picture.info["exif"] == b"Exif\x00\x00" + full_metadata.exif
        assert picture.info["xmp"] == full_metadata.xmp
        assert picture.info["dpi"] == pytest.approx((300.0, 300.0), abs=0.01)
    decoded = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
    rgba_order = {1: [0], 2: [0, 3], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]  # from grey, BGRA (grey+alpha), BGR, BGRA
    assert np.array_equal(np.atleast_3d(decoded)[..., rgba_order], samples)


def encoded_png_with_chunks(extra_chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A small RGB PNG from OpenCV with ``extra_chunks`` (type, payload) placed before IEND."""
    data = encoded_png_with_opencv(random_samples(4, 5, 3, 8))
    return data[:-12] + b"".join(png_chunk(kind, payload) for kind, payload in extra_chunks) + data[-12:]


def test_splicing_inserts_chunks_after_the_header_and_keeps_the_rest_byte_for_byte() -> None:
    encoded = encoded_png_with_chunks([(b"tEXt", b"Comment\x00kept")])
    inserted = [(b"eXIf", b"MM\x00*exif"), (b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x/>")]

    spliced = b"".join(splice_after_header(encoded, inserted))

    chunks = png_chunks(spliced)
    assert spliced.startswith(b"\x89PNG\r\n\x1a\n")
    assert [(kind, payload) for kind, payload, _ in chunks[1:3]] == inserted
    assert all(crc_correct for _, _, crc_correct in chunks)
    assert png_chunks(encoded) == chunks[:1] + chunks[3:]  # the encoder's chunks, untouched and in order


def test_splicing_replaces_the_header_and_drops_encoder_chunks_of_the_inserted_types() -> None:
    encoded = encoded_png_with_chunks([(b"pHYs", struct.pack(">IIB", 1, 1, 0))])
    ours = struct.pack(">IIB", 11811, 11811, 1)
    header = struct.pack(">IIBBBBB", 4, 5, 8, 2, 0, 0, 0)

    chunks = png_chunks(b"".join(splice_after_header(encoded, [(b"pHYs", ours)], header)))

    assert chunks[0] == (b"IHDR", header, True)
    assert [(kind, payload) for kind, payload, _ in chunks if kind == b"pHYs"] == [(b"pHYs", ours)]


@pytest.mark.parametrize(
    "data",
    [b"GIF89a" + bytes(40), b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"a\x00b") + png_chunk(b"IEND", b"")],
    ids=["gif", "png-without-header"],
)
def test_splicing_refuses_data_that_is_not_a_png_starting_with_a_header(data: bytes) -> None:
    with pytest.raises(ValueError):
        splice_after_header(data, [(b"eXIf", b"II*\x00")])


SOURCE_FILES = [
    # (name, bit depth, channels, encoder)
    ("grey.png", 8, 1, lambda s: encoded_with_pillow(s, "PNG")),
    ("grey-alpha.png", 8, 2, lambda s: encoded_with_pillow(s, "PNG")),
    ("rgb.png", 8, 3, lambda s: encoded_with_pillow(s, "PNG")),
    ("rgba.png", 8, 4, lambda s: encoded_with_pillow(s, "PNG")),
    ("grey16.png", 16, 1, encoded_png_with_opencv),
    ("rgb16.png", 16, 3, encoded_png_with_opencv),
    ("rgba16.png", 16, 4, encoded_png_with_opencv),
    ("rgb.tif", 8, 3, lambda s: encoded_with_pillow(s, "TIFF")),
    ("grey.tif", 8, 1, lambda s: encoded_with_pillow(s, "TIFF", compression="tiff_lzw")),
    ("rgb16-lzw.tif", 16, 3, lambda s: cv2.imencode(".tif", cv2.cvtColor(s, cv2.COLOR_RGB2BGR))[1].tobytes()),
    ("grey16.tif", 16, 1, lambda s: tiff_bytes(s[..., 0], photometric="minisblack")),
    ("grey-alpha16.tif", 16, 2, lambda s: tiff_bytes(s, photometric="minisblack", extrasamples=["unassalpha"])),
    ("rgba16.tif", 16, 4, lambda s: tiff_bytes(s, photometric="rgb", extrasamples=["unassalpha"])),
    ("rgb16-planar.tif", 16, 3, lambda s: tiff_bytes(np.moveaxis(s, -1, 0), photometric="rgb", planarconfig="separate")),
    ("grey.bmp", 8, 1, lambda s: encoded_with_pillow(s, "BMP")),
    ("rgb.bmp", 8, 3, lambda s: encoded_with_pillow(s, "BMP")),
    ("rgba-lossless.webp", 8, 4, lambda s: encoded_with_pillow(s, "WEBP", lossless=True, exact=True)),
]


def tiff_bytes(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, metadata=None, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "bit_depth", "channels", "encode"), SOURCE_FILES, ids=[row[0] for row in SOURCE_FILES])
def test_reading_then_writing_an_unmodified_file_keeps_its_samples(
    tmp_path: Path, name: str, bit_depth: int, channels: int, encode
) -> None:
    samples = random_samples(5, 7, channels, bit_depth, seed=len(name))
    source = tmp_path / name
    source.write_bytes(encode(samples))

    image = read_image(source)
    assert image.bit_depth == bit_depth
    assert np.array_equal(samples_of(image), samples)

    output = tmp_path / f"out-{name}"
    write_image(output, image)
    assert np.array_equal(decoded_independently(output), samples)


# --------------------------------------------------------------------------- modes and bit depths


@pytest.mark.parametrize("name", ["grey.png", "grey.tif", "grey.bmp", "grey.jpg"])
def test_grey_images_have_one_channel_and_are_written_back_as_grey(tmp_path: Path, name: str) -> None:
    samples = random_samples(6, 4, 1, 8)
    source = tmp_path / name
    file_format = {".png": "PNG", ".tif": "TIFF", ".bmp": "BMP", ".jpg": "JPEG"}[source.suffix]
    source.write_bytes(encoded_with_pillow(samples, file_format))

    image = read_image(source)
    assert image.pixels.shape == (6, 4, 1)
    assert image.alpha is None

    output = tmp_path / f"out-{name}"
    write_image(output, image)
    assert PILImage.open(output).mode == "L"


def test_grey_written_as_other_formats_stays_grey(tmp_path: Path) -> None:
    image = image_from_samples(random_samples(4, 4, 1, 16), has_alpha=False)
    for output_format, suffix in (("png", ".png"), ("tiff", ".tif"), ("jpeg", ".jpg")):
        write_image(tmp_path / f"out{suffix}", image, output_format)
    assert png_header(tmp_path / "out.png")[3] == 0  # colour type 0: grey
    with tifffile.TiffFile(tmp_path / "out.tif") as tiff:
        assert tiff.pages.first.samplesperpixel == 1
        assert tiff.pages.first.photometric == tifffile.PHOTOMETRIC.MINISBLACK
    assert PILImage.open(tmp_path / "out.jpg").mode == "L"


def test_sixteen_bit_png_and_tiff_stay_sixteen_bit(tmp_path: Path) -> None:
    samples = random_samples(5, 6, 3, 16)
    # Values that 8 bits cannot represent prove no precision was lost on the way.
    assert np.any(samples % 257 != 0)
    source = tmp_path / "deep.png"
    source.write_bytes(encoded_png_with_opencv(samples))

    image = read_image(source)
    write_image(tmp_path / "deep-out.png", image)
    write_image(tmp_path / "deep-out.tif", image, "tiff")

    assert png_header(tmp_path / "deep-out.png")[2] == 16
    assert np.array_equal(decoded_independently(tmp_path / "deep-out.png"), samples)
    assert tifffile.imread(tmp_path / "deep-out.tif").dtype == np.uint16
    assert np.array_equal(decoded_independently(tmp_path / "deep-out.tif"), samples)


def test_eight_bit_image_becomes_sixteen_bit_only_when_asked(tmp_path: Path) -> None:
    samples = random_samples(4, 5, 4, 8)
    image = image_from_samples(samples, has_alpha=True)

    write_image(tmp_path / "plain.tif", image, "tiff")
    write_image(tmp_path / "deep.tif", image, "tiff", bit_depth=16)
    write_image(tmp_path / "deep.png", image, "png", bit_depth=16)

    assert tifffile.imread(tmp_path / "plain.tif").dtype == np.uint8
    widened = samples.astype(np.uint16) * 257  # 8-bit value v is exactly v/255 = 257v/65535
    assert np.array_equal(decoded_independently(tmp_path / "deep.tif"), widened)
    assert np.array_equal(decoded_independently(tmp_path / "deep.png"), widened)
    assert read_image(tmp_path / "deep.png").alpha.dtype == np.uint16


def test_sixteen_bit_image_is_rounded_to_eight_bits_for_jpeg_webp_and_bmp(tmp_path: Path) -> None:
    samples = random_samples(4, 4, 4, 16)
    image = image_from_samples(samples, has_alpha=True, file_format="BMP")
    expected = np.floor(samples.astype(np.float64) / 257 + 0.5).astype(np.uint8)

    write_image(tmp_path / "out.bmp", image)
    write_image(tmp_path / "out.jpg", image, "jpeg")

    assert np.array_equal(decoded_independently(tmp_path / "out.bmp"), expected)
    assert read_image(tmp_path / "out.bmp").bit_depth == 8
    assert PILImage.open(tmp_path / "out.jpg").mode == "RGB"


def test_alpha_is_returned_and_written_untouched(tmp_path: Path) -> None:
    samples = random_samples(8, 8, 4, 16, seed=3)
    source = tmp_path / "alpha.png"
    source.write_bytes(encoded_png_with_opencv(samples))

    image = read_image(source)
    assert image.alpha.dtype == np.uint16
    assert np.array_equal(image.alpha, samples[..., 3])

    image.pixels = np.clip(image.pixels * 0.5 + 0.1, 0, 1)  # what a denoiser would do: change colour only
    write_image(tmp_path / "alpha-out.png", image)
    write_image(tmp_path / "alpha-out.tif", image, "tiff")
    assert np.array_equal(decoded_independently(tmp_path / "alpha-out.png")[..., 3], samples[..., 3])
    assert np.array_equal(decoded_independently(tmp_path / "alpha-out.tif")[..., 3], samples[..., 3])


def test_lossy_webp_keeps_alpha_exact_and_jpeg_drops_it(tmp_path: Path) -> None:
    samples = random_samples(16, 16, 4, 8, seed=5)
    source = tmp_path / "lossy.webp"
    source.write_bytes(encoded_with_pillow(samples, "WEBP", quality=80))

    image = read_image(source)
    assert not image.lossless
    write_image(tmp_path / "lossy-out.webp", image)
    write_image(tmp_path / "lossy-out.jpg", image, "jpeg")

    assert np.array_equal(decoded_independently(tmp_path / "lossy-out.webp")[..., 3], samples[..., 3])
    assert b"VP8 " in (tmp_path / "lossy-out.webp").read_bytes()  # lossy bitstream, like the source
    assert PILImage.open(tmp_path / "lossy-out.jpg").mode == "RGB"


def test_lossless_webp_is_written_losslessly(tmp_path: Path) -> None:
    samples = random_samples(9, 11, 3, 8, seed=6)
    source = tmp_path / "lossless.webp"
    source.write_bytes(encoded_with_pillow(samples, "WEBP", lossless=True))

    image = read_image(source)
    assert image.lossless
    write_image(tmp_path / "lossless-out.webp", image)
    assert np.array_equal(decoded_independently(tmp_path / "lossless-out.webp"), samples)


def test_palette_png_is_expanded_to_rgb_and_written_as_rgb(tmp_path: Path) -> None:
    palette_picture = PILImage.fromarray(random_samples(6, 6, 3, 8)).quantize(colors=8)
    source = tmp_path / "palette.png"
    palette_picture.save(source)
    expected = np.asarray(palette_picture.convert("RGB"))

    image = read_image(source)
    assert image.pixels.shape == (6, 6, 3) and image.alpha is None
    assert np.array_equal(samples_of(image), expected)

    write_image(tmp_path / "palette-out.png", image)
    assert png_header(tmp_path / "palette-out.png")[3] == 2  # colour type 2: RGB
    assert np.array_equal(decoded_independently(tmp_path / "palette-out.png"), expected)


def test_palette_png_with_transparency_becomes_rgba(tmp_path: Path) -> None:
    palette_picture = PILImage.fromarray(random_samples(6, 6, 3, 8, seed=2)).quantize(colors=4)
    source = tmp_path / "palette-alpha.png"
    palette_picture.save(source, transparency=1)
    expected = np.asarray(PILImage.open(source).convert("RGBA"))
    assert np.any(expected[..., 3] == 0)

    image = read_image(source)
    assert np.array_equal(samples_of(image), expected)
    write_image(tmp_path / "palette-alpha-out.png", image)
    assert png_header(tmp_path / "palette-alpha-out.png")[3] == 6  # colour type 6: RGBA


@pytest.mark.parametrize("name", ["palette.tif", "jpeg-compressed.tif", "cmyk.jpg", "palette.bmp"])
def test_other_colour_layouts_are_converted_to_rgb(tmp_path: Path, name: str) -> None:
    samples = random_samples(8, 8, 3, 8, seed=7)
    picture = PILImage.fromarray(samples)
    source = tmp_path / name
    if name in ("palette.tif", "palette.bmp"):
        picture = picture.quantize(colors=16)
        picture.save(source)
    elif name == "jpeg-compressed.tif":
        picture.save(source, compression="jpeg")
    else:
        picture = picture.convert("CMYK")
        picture.save(source)

    image = read_image(source)

    assert image.pixels.shape == (8, 8, 3) and image.bit_depth == 8
    assert np.array_equal(samples_of(image), np.asarray(PILImage.open(source).convert("RGB")))


def test_grey_png_with_transparent_colour_key_gets_alpha(tmp_path: Path) -> None:
    samples = random_samples(6, 6, 1, 8, seed=4)
    key = int(samples[0, 0, 0])
    source = tmp_path / "keyed.png"
    PILImage.fromarray(samples[..., 0]).save(source, transparency=key)

    image = read_image(source)
    assert image.pixels.shape[2] == 1
    assert np.array_equal(image.alpha, np.where(samples[..., 0] == key, 0, 255))


def test_writer_rounds_floats_correctly_and_clips_out_of_range_values(tmp_path: Path) -> None:
    # Just below and above the rounding midpoints, outside [0, 1], and NaN.
    pixels = np.array([[[0.0], [1.0], [10.49 / 255], [10.51 / 255], [-0.3], [1.7], [np.nan]]], np.float32)
    image = Image(pixels=pixels, alpha=None, bit_depth=8, format="PNG")

    write_image(tmp_path / "rounded.png", image)

    assert decoded_independently(tmp_path / "rounded.png").ravel().tolist() == [0, 255, 10, 11, 0, 255, 0]


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize(("suffix", "file_format"), [(".jpg", "JPEG"), (".png", "PNG"), (".webp", "WEBP")])
def test_metadata_survives_byte_for_byte_in_the_same_format(
    tmp_path: Path, full_metadata: ImageMetadata, suffix: str, file_format: str
) -> None:
    image = image_from_samples(random_samples(8, 8, 3, 8), False, file_format, full_metadata)
    first = tmp_path / f"first{suffix}"
    second = tmp_path / f"second{suffix}"

    write_image(first, image)
    write_image(second, read_image(first))

    for path in (first, second):
        metadata = read_image(path).metadata
        assert metadata.exif == full_metadata.exif
        assert metadata.icc_profile == full_metadata.icc_profile
        assert metadata.xmp == full_metadata.xmp
        if file_format != "WEBP":  # WebP has no DPI field
            assert metadata.dpi == read_image(first).metadata.dpi
            assert metadata.dpi == pytest.approx((300.0, 300.0), abs=1e-3)
        # An independent reader sees the same blocks.
        info = PILImage.open(path).info
        assert info["icc_profile"] == full_metadata.icc_profile
        assert info["xmp"] == full_metadata.xmp
        assert info["exif"].removeprefix(b"Exif\x00\x00") == full_metadata.exif


def test_metadata_carries_across_formats(tmp_path: Path, full_metadata: ImageMetadata) -> None:
    image = image_from_samples(random_samples(8, 8, 3, 8), False, "JPEG", full_metadata)
    write_image(tmp_path / "source.jpg", image)
    write_image(tmp_path / "as.png", read_image(tmp_path / "source.jpg"), "png")
    write_image(tmp_path / "back.jpg", read_image(tmp_path / "as.png"), "jpeg")

    for name in ("as.png", "back.jpg"):
        metadata = read_image(tmp_path / name).metadata
        assert (metadata.exif, metadata.icc_profile, metadata.xmp) == (
            full_metadata.exif,
            full_metadata.icc_profile,
            full_metadata.xmp,
        )
        assert metadata.dpi == pytest.approx((300.0, 300.0), abs=1e-3)
    assert png_chunk_types(tmp_path / "as.png")[:5] == [b"IHDR", b"iCCP", b"pHYs", b"eXIf", b"iTXt"]


def test_png_dpi_is_kept_exactly(tmp_path: Path) -> None:
    image = image_from_samples(random_samples(3, 3, 3, 8), False, metadata=ImageMetadata(dpi=(72.0, 150.0)))
    write_image(tmp_path / "first.png", image)
    first_dpi = read_image(tmp_path / "first.png").metadata.dpi
    write_image(tmp_path / "second.png", read_image(tmp_path / "first.png"))

    assert first_dpi == pytest.approx((72.0, 150.0), abs=0.02)  # PNG stores whole pixels per metre
    assert read_image(tmp_path / "second.png").metadata.dpi == first_dpi
    assert PILImage.open(tmp_path / "second.png").info["dpi"] == pytest.approx(first_dpi)


def test_tiff_keeps_icc_xmp_dpi_bytes_and_the_exif_information(tmp_path: Path, full_metadata: ImageMetadata) -> None:
    image = image_from_samples(random_samples(6, 6, 3, 16), False, "TIFF", full_metadata)
    write_image(tmp_path / "first.tif", image)
    write_image(tmp_path / "second.tif", read_image(tmp_path / "first.tif"))
    write_image(tmp_path / "from-tiff.jpg", read_image(tmp_path / "second.tif"), "jpeg")

    for name in ("first.tif", "second.tif"):
        metadata = read_image(tmp_path / name).metadata
        assert metadata.icc_profile == full_metadata.icc_profile
        assert metadata.xmp == full_metadata.xmp
        assert metadata.dpi == (300.0, 300.0)
        with tifffile.TiffFile(tmp_path / name) as tiff:
            tags = tiff.pages.first.tags
            assert tags["Orientation"].value == 6
            assert tags["Model"].value == "Denoiser Test Camera"
            assert tags["ExifTag"].value["ExposureTime"] == (1, 250)
    for name in ("second.tif", "from-tiff.jpg"):
        exif = PILImage.Exif()
        exif.load(read_image(tmp_path / name).metadata.exif)
        assert exif[ORIENTATION] == 6
        assert exif[MODEL] == "Denoiser Test Camera"
        assert float(exif.get_ifd(ExifTags.IFD.Exif)[EXPOSURE_TIME]) == pytest.approx(1 / 250)


def test_bmp_keeps_dpi(tmp_path: Path) -> None:
    image = image_from_samples(random_samples(3, 3, 3, 8), False, "BMP", ImageMetadata(dpi=(300.0, 300.0)))
    write_image(tmp_path / "first.bmp", image)
    write_image(tmp_path / "second.bmp", read_image(tmp_path / "first.bmp"))

    first_dpi = read_image(tmp_path / "first.bmp").metadata.dpi
    assert first_dpi == pytest.approx((300.0, 300.0), abs=0.01)
    assert read_image(tmp_path / "second.bmp").metadata.dpi == first_dpi


def test_jpeg_iptc_survives_byte_for_byte(tmp_path: Path, full_metadata: ImageMetadata, exif_bytes: bytes) -> None:
    blocks = {"exif": b"Exif\x00\x00" + exif_bytes, "icc_profile": full_metadata.icc_profile, "xmp": full_metadata.xmp}
    jpeg = encoded_with_pillow(random_samples(8, 8, 3, 8), "JPEG", **blocks)
    app13 = b"\xff\xed" + struct.pack(">H", 2 + len(APP13_PAYLOAD)) + APP13_PAYLOAD
    (tmp_path / "source.jpg").write_bytes(jpeg[:2] + app13 + jpeg[2:])  # right after SOI, as some programs put it

    source = read_image(tmp_path / "source.jpg")
    assert source.metadata.iptc == PHOTOSHOP_RESOURCES
    assert write_image(tmp_path / "out.jpg", source) == []

    segments = jpeg_segments((tmp_path / "out.jpg").read_bytes())
    assert [payload for marker, payload in segments if marker == 0xED] == [APP13_PAYLOAD]
    assert [marker for marker, _ in segments][:5] == [0xE0, 0xE1, 0xE1, 0xE2, 0xED]  # JFIF, EXIF, XMP, ICC, IPTC
    written = read_image(tmp_path / "out.jpg").metadata
    assert (written.exif, written.icc_profile, written.xmp) == (exif_bytes, full_metadata.icc_profile, full_metadata.xmp)
    iptc = IptcImagePlugin.getiptcinfo(PILImage.open(tmp_path / "out.jpg"))
    assert iptc[(2, 120)] == "Low tide at Saint-Malo, © Zoë".encode()
    assert iptc[(2, 25)] == [b"sea", b"Brittany"]


def extended_xmp_payloads(guid: bytes, packet: bytes, chunk: int) -> tuple[bytes, ...]:
    """Extended XMP segments as Photoshop writes them: header, GUID, full length, offset, piece."""
    header = b"http://ns.adobe.com/xmp/extension/\x00" + guid
    return tuple(
        header + struct.pack(">II", len(packet), offset) + packet[offset : offset + chunk]
        for offset in range(0, len(packet), chunk)
    )


def test_jpeg_extended_xmp_survives_byte_for_byte_and_other_formats_say_they_drop_it(
    tmp_path: Path, full_metadata: ImageMetadata
) -> None:
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    main_xmp = full_metadata.xmp.replace(b"</rdf:RDF>", b"<!-- xmpNote:HasExtendedXMP=" + guid + b" --></rdf:RDF>")
    extended = extended_xmp_payloads(guid, b"<x:xmpmeta>" + bytes(range(256)) * 400 + b"</x:xmpmeta>", 65000)
    assert len(extended) == 2
    jpeg = encoded_with_pillow(random_samples(8, 8, 3, 8), "JPEG", xmp=main_xmp)
    segments = b"".join(b"\xff\xe1" + struct.pack(">H", 2 + len(p)) + p for p in extended)
    (tmp_path / "source.jpg").write_bytes(jpeg[:2] + segments + jpeg[2:])

    source = read_image(tmp_path / "source.jpg")
    assert source.metadata.extended_xmp == extended and source.metadata.xmp == main_xmp
    assert write_image(tmp_path / "out.jpg", source) == []
    written = jpeg_segments((tmp_path / "out.jpg").read_bytes())
    app1 = [payload for marker, payload in written if marker == 0xE1]
    assert app1[-2:] == list(extended)  # after the main XMP packet that names them
    assert read_image(tmp_path / "out.jpg").metadata.extended_xmp == extended

    notes = write_image(tmp_path / "out.png", source, format="png")
    assert notes == [f"Extended XMP left out: {sum(map(len, extended)):,} bytes that only a JPEG output carries"]
    assert read_image(tmp_path / "out.png").metadata.xmp == main_xmp


def test_iptc_carries_through_tiff_and_back_to_jpeg(tmp_path: Path) -> None:
    image = image_from_samples(random_samples(6, 6, 3, 8), False, "JPEG", ImageMetadata(iptc=PHOTOSHOP_RESOURCES))
    write_image(tmp_path / "as.tif", image, "tiff")
    write_image(tmp_path / "back.jpg", read_image(tmp_path / "as.tif"), "jpeg")
    write_image(tmp_path / "as.png", image, "png")

    with tifffile.TiffFile(tmp_path / "as.tif") as tiff:
        tags = tiff.pages.first.tags
        assert (tags[34377].value, tags[33723].value) == (PHOTOSHOP_RESOURCES, IPTC_IIM)
    assert read_image(tmp_path / "as.tif").metadata.iptc == PHOTOSHOP_RESOURCES
    segments = jpeg_segments((tmp_path / "back.jpg").read_bytes())
    assert [payload for marker, payload in segments if marker == 0xED] == [APP13_PAYLOAD]
    assert read_image(tmp_path / "as.png").metadata.iptc is None  # PNG has no IPTC chunk


def test_tiff_iptc_tag_alone_becomes_a_jpeg_app13(tmp_path: Path) -> None:
    # Photoshop types the IIM tag as LONG; in a big-endian file its bytes must not be reordered.
    padded = IPTC_IIM + b"\x00" * (-len(IPTC_IIM) % 4)
    longs = struct.unpack(f">{len(padded) // 4}I", padded)
    iim_tag = (33723, 4, len(longs), longs, True)
    tifffile.imwrite(tmp_path / "iim.tif", random_samples(4, 4, 3, 8), byteorder=">", extratags=[iim_tag])

    image = read_image(tmp_path / "iim.tif")
    write_image(tmp_path / "out.jpg", image, "jpeg")

    assert image.metadata.iptc == photoshop_resource(0x0404, padded)
    iptc = IptcImagePlugin.getiptcinfo(PILImage.open(tmp_path / "out.jpg"))
    assert iptc[(2, 25)] == [b"sea", b"Brittany"]
    assert iptc[(2, 116)] == b"(c) 2024 Zoe Martin"


@pytest.mark.parametrize("block", ["xmp", "exif"])
def test_metadata_too_large_for_a_jpeg_is_left_out_with_a_note(
    tmp_path: Path, full_metadata: ImageMetadata, block: str
) -> None:
    # XMP from Lightroom or Photoshop often exceeds the 64 KiB of one JPEG segment.
    too_large = getattr(full_metadata, block) + b" " * 70_000
    metadata = replace(full_metadata, iptc=PHOTOSHOP_RESOURCES, **{block: too_large})
    image = image_from_samples(random_samples(8, 8, 3, 8), False, "PNG", metadata)

    notes = write_image(tmp_path / "out.jpg", image, "jpeg")

    assert len(notes) == 1 and notes[0].startswith(f"{block.upper()} metadata left out")
    written = read_image(tmp_path / "out.jpg").metadata
    assert getattr(written, block) is None
    kept = "exif" if block == "xmp" else "xmp"
    assert getattr(written, kept) == getattr(full_metadata, kept)
    assert (written.icc_profile, written.iptc) == (full_metadata.icc_profile, PHOTOSHOP_RESOURCES)
    assert written.dpi == pytest.approx((300.0, 300.0))
    # Formats without the limit keep the block.
    assert write_image(tmp_path / "out.png", image) == []
    assert getattr(read_image(tmp_path / "out.png").metadata, block) == too_large


def test_orientation_is_reported_but_not_applied(tmp_path: Path, exif_bytes: bytes) -> None:
    samples = random_samples(4, 10, 3, 8)
    source = tmp_path / "rotated.jpg"
    source.write_bytes(encoded_with_pillow(samples, "JPEG", exif=b"Exif\x00\x00" + exif_bytes))

    image = read_image(source)

    assert image.pixels.shape == (4, 10, 3)  # as stored, not turned to 10 x 4
    assert image.orientation == 6
    write_image(tmp_path / "rotated-out.jpg", image)
    written = PILImage.open(tmp_path / "rotated-out.jpg")
    assert written.size == (10, 4)
    assert written.getexif()[ORIENTATION] == 6


def test_lzw_tiff_orientation_is_reported_but_not_applied(tmp_path: Path) -> None:
    # LZW needs OpenCV here (tifffile lacks the codec), whose TIFF decoder rotates by itself.
    samples = random_samples(4, 10, 3, 8)
    orientation = TiffImagePlugin.ImageFileDirectory_v2()
    orientation[ORIENTATION] = 6
    source = tmp_path / "rotated-lzw.tif"
    PILImage.fromarray(samples).save(source, compression="tiff_lzw", tiffinfo=orientation)

    image = read_image(source)

    assert image.orientation == 6
    assert np.array_equal(samples_of(image), samples)


def test_orientation_defaults_to_one() -> None:
    image = image_from_samples(random_samples(2, 2, 3, 8), False)
    assert image.orientation == 1
    assert Image(image.pixels, None, 8, "PNG", ImageMetadata(exif=b"garbage")).orientation == 1


# --------------------------------------------------------------------------- JPEG options


def test_jpeg_defaults_to_quality_95_and_full_chroma(tmp_path: Path) -> None:
    samples = random_samples(16, 16, 3, 8)
    write_image(tmp_path / "out.jpg", image_from_samples(samples, False), "jpeg")
    reference = PILImage.open(io.BytesIO(encoded_with_pillow(samples, "JPEG", quality=95)))

    written = PILImage.open(tmp_path / "out.jpg")
    assert get_sampling(written) == 0  # 4:4:4
    assert written.quantization == reference.quantization


def test_jpeg_quality_and_subsampling_can_be_chosen(tmp_path: Path) -> None:
    samples = random_samples(16, 16, 3, 8)
    write_image(tmp_path / "out.jpg", image_from_samples(samples, False), "jpeg", jpeg_quality=60, jpeg_subsampling="4:2:0")
    reference = PILImage.open(io.BytesIO(encoded_with_pillow(samples, "JPEG", quality=60)))

    written = PILImage.open(tmp_path / "out.jpg")
    assert get_sampling(written) == 2  # 4:2:0
    assert written.quantization == reference.quantization


@pytest.mark.parametrize(
    "arguments",
    [
        {"format": "gif"},
        {"format": "jpeg", "bit_depth": 16},
        {"format": "png", "bit_depth": 12},
        {"format": "jpeg", "jpeg_quality": 0},
        {"format": "jpeg", "jpeg_subsampling": "4:1:1"},
    ],
)
def test_invalid_write_arguments_raise_value_error_and_write_nothing(tmp_path: Path, arguments: dict) -> None:
    with pytest.raises(ValueError):
        write_image(tmp_path / "out.jpg", image_from_samples(random_samples(2, 2, 3, 8), False), **arguments)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- atomic writes


def test_successful_write_leaves_only_the_final_file(tmp_path: Path) -> None:
    write_image(tmp_path / "out.png", image_from_samples(random_samples(2, 2, 3, 8), False))
    assert [path.name for path in tmp_path.iterdir()] == ["out.png"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(b"previous result")

    def fail_half_way(path: Path, image: Image, settings: object) -> list[str]:
        path.write_bytes(b"\xff\xd8\xff half a JPEG")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(files_module._WRITERS, "JPEG", fail_half_way)
    with pytest.raises(ImageWriteError) as raised:
        write_image(target, image_from_samples(random_samples(4, 4, 3, 8), False, "JPEG"))

    assert raised.value.path == target
    assert raised.value.reason == "the disk is full"
    assert target.read_bytes() == b"previous result"
    assert partial_files(tmp_path) == []


def test_write_into_missing_folder_raises_image_write_error(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError, match="folder does not exist"):
        write_image(tmp_path / "missing" / "out.png", image_from_samples(random_samples(2, 2, 3, 8), False))


def test_atomic_path_removes_temporary_file_and_keeps_target_on_error(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    target.write_bytes(b"old")

    for interruption in (RuntimeError("disk on fire"), KeyboardInterrupt()):
        with pytest.raises(type(interruption)):
            with atomic_path(target) as temporary:
                assert temporary.parent == tmp_path
                assert is_partial_file(temporary)
                temporary.write_bytes(b"half-written")
                raise interruption
        assert target.read_bytes() == b"old"
        assert partial_files(tmp_path) == []


def test_atomic_path_replaces_target_on_success(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    target.write_bytes(b"old")

    with atomic_path(target) as temporary:
        temporary.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until the block ends

    assert target.read_bytes() == b"new"
    assert partial_files(tmp_path) == []


def test_temporary_names_are_hidden_and_recognisable(tmp_path: Path) -> None:
    with atomic_path(tmp_path / ("long name " * 24 + ".png")) as temporary:
        temporary.write_bytes(b"x")
        assert temporary.name.startswith(".") and temporary.name.endswith(PARTIAL_SUFFIX)
        assert len(temporary.name.encode()) < 255
    assert not is_partial_file(tmp_path / "photo.png")
    assert not is_partial_file(tmp_path / ".hidden.png")


# --------------------------------------------------------------------------- unreadable files


def corrupt_jpeg() -> bytes:
    data = encoded_with_pillow(random_samples(64, 64, 3, 8), "JPEG")
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    data = encoded_with_pillow(random_samples(64, 64, 3, 8), "PNG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "file is empty"),
        (b"hello, this is a shopping list\n", "not an image file"),
        (b"%PDF-1.7\n" + bytes(200), "not an image file"),
        (corrupt_jpeg(), "file is truncated or corrupt"),
        (corrupt_png(), "file is truncated or corrupt"),
        (tiff_bytes(random_samples(64, 64, 3, 8))[:3000], "file is truncated or corrupt"),
        (encoded_with_pillow(random_samples(64, 64, 3, 8), "WEBP")[:500], "file is truncated or corrupt"),
        (encoded_with_pillow(random_samples(64, 64, 3, 8), "BMP")[:5000], "file is truncated or corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "file is truncated or corrupt"),
        (encoded_with_pillow(random_samples(4, 4, 3, 8), "GIF"), "unsupported format (GIF)"),
        (tiff_bytes(np.zeros((4, 4), np.float32)), "unsupported TIFF variant"),
    ],
    ids=["empty", "text", "pdf", "jpeg", "png", "tiff", "webp", "bmp", "png-no-chunks", "gif", "float-tiff"],
)
def test_unusable_files_raise_one_clear_error(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)

    with pytest.raises(ImageReadError) as raised:
        read_image(path)

    assert raised.value.path == path
    assert raised.value.reason.startswith(reason)
    assert "broken.jpg" in str(raised.value) and "\n" not in str(raised.value)


def test_errors_survive_pickling_for_worker_processes(tmp_path: Path) -> None:
    for error in (ImageReadError(tmp_path / "a.png", "not an image file"), ImageWriteError(tmp_path / "b.png", "disk full")):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), copy.path, copy.reason, str(copy)) == (type(error), error.path, error.reason, str(error))


def test_missing_file_and_folder_raise_image_read_error(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="file not found"):
        read_image(tmp_path / "nowhere.png")
    with pytest.raises(ImageReadError):
        read_image(tmp_path)


# --------------------------------------------------------------------------- paths and suffixes


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg", ".webp", ".bmp"])
def test_paths_with_spaces_and_non_ascii_characters_work(tmp_path: Path, suffix: str) -> None:
    folder = tmp_path / "Ferien 2024 – Café ☀ 日本"
    folder.mkdir()
    path = folder / f"Bild Nr. 1 ÄÖÜ éß 写真{suffix}"
    file_format = {".png": "PNG", ".tif": "TIFF", ".jpg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}[suffix]
    samples = random_samples(5, 5, 3, 8)
    path.write_bytes(encoded_with_pillow(samples, file_format, **({"lossless": True} if suffix == ".webp" else {})))

    image = read_image(path)
    output = path.with_stem(path.stem + " entrauscht")
    write_image(output, image)

    assert read_image(output).pixels.shape == (5, 5, 3)
    if file_format != "JPEG":
        assert np.array_equal(decoded_independently(output), samples)
    assert sorted(os.listdir(folder)) == sorted([path.name, output.name])


def test_output_suffix() -> None:
    assert output_suffix(Path("a/b.JPEG"), "same") == ".JPEG"
    assert output_suffix(Path("b.jpeg"), "jpeg") == ".jpeg"
    assert output_suffix(Path("b.png"), "jpeg") == ".jpg"
    assert output_suffix(Path("b.tiff"), "tiff") == ".tiff"
    assert output_suffix(Path("b.jpg"), "tiff") == ".tif"
    assert output_suffix(Path("b.webp"), "png") == ".png"
    assert output_suffix(Path("b.webp"), "PNG") == ".png"
    with pytest.raises(ValueError):
        output_suffix(Path("b.png"), "gif")


def test_public_constants() -> None:
    from denoiser_app.core.imageio.raw import RAW_SUFFIXES

    photos = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif", ".hif"}
    assert SUPPORTED_SUFFIXES == photos | RAW_SUFFIXES and {".cr3", ".nef", ".arw", ".dng", ".raf"} <= RAW_SUFFIXES
    assert OUTPUT_FORMATS == ("same", "png", "tiff", "jpeg")


def test_same_format_follows_content_not_name(tmp_path: Path) -> None:
    # A PNG misnamed .jpg is read as PNG and written back as PNG under the same suffix.
    path = tmp_path / "actually-png.jpg"
    path.write_bytes(encoded_with_pillow(random_samples(3, 3, 3, 8), "PNG"))

    image = read_image(path)
    write_image(tmp_path / f"out{output_suffix(path, 'same')}", image)

    assert image.format == "PNG"
    assert (tmp_path / "out.jpg").read_bytes().startswith(b"\x89PNG")


def test_long_non_ascii_names_can_be_written_atomically(tmp_path: Path) -> None:
    from denoiser_app.core.atomic import atomic_path

    final = tmp_path / ("写真" * 40 + ".png")  # 244 bytes in UTF-8: near the 255-byte limit
    with atomic_path(final) as temporary:
        assert len(temporary.name.encode("utf-8")) <= 255
        temporary.write_bytes(b"data")
    assert final.read_bytes() == b"data"


def test_a_multi_page_tiff_and_an_animation_say_only_the_first_is_cleaned(tmp_path: Path) -> None:
    first, second = random_samples(8, 8, 3, 8, seed=1), random_samples(8, 8, 3, 8, seed=2)
    tiff_path = tmp_path / "two pages.tif"
    tifffile.imwrite(tiff_path, first, photometric="rgb")
    tifffile.imwrite(tiff_path, second, photometric="rgb", append=True)
    image = read_image(tiff_path)
    assert np.array_equal(samples_of(image), first)
    assert image.notes == ("only the first of its 2 pages was cleaned; the output holds that one alone",)
    webp_path = tmp_path / "animated.webp"
    PILImage.fromarray(first).save(webp_path, save_all=True, append_images=[PILImage.fromarray(second)], lossless=True)
    assert "2 frames" in read_image(webp_path).notes[0]
    assert read_image(tmp_path / "two pages.tif").pixels.shape == (8, 8, 3)


def test_a_cmyk_photo_without_a_profile_says_its_colours_are_approximate(tmp_path: Path) -> None:
    source = tmp_path / "cmyk.jpg"
    PILImage.fromarray(random_samples(8, 8, 3, 8, seed=3)).convert("CMYK").save(source)
    image = read_image(source)
    assert image.pixels.shape == (8, 8, 3) and image.metadata.icc_profile is None
    assert "CMYK" in image.notes[0] and "approximately" in image.notes[0]


def test_floats_become_samples_a_band_at_a_time_with_the_same_rounding() -> None:
    import tracemalloc

    from denoiser_app.core.imageio.samples import to_integers

    rng = np.random.default_rng(7)
    pixels = rng.uniform(-0.1, 1.1, (4000, 3000, 3)).astype(np.float32)
    pixels[0, 0, 0], pixels[1, 1, 1] = np.nan, 0.5 / 255  # NaN becomes 0; a half step rounds up
    tracemalloc.start()
    try:
        samples = to_integers(pixels, 8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    whole = np.clip(np.floor(np.nan_to_num(pixels * np.float32(255), nan=0.0) + np.float32(0.5)), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(samples, whole)
    assert samples[1, 1, 1] == 1 and samples[0, 0, 0] == 0
    assert peak < 0.6 * pixels.nbytes, "the 8-bit result (0.25x) and a band of scratch, not a float copy (1x)"
    np.testing.assert_array_equal(to_integers(pixels[:5], 16), np.clip(np.floor(np.nan_to_num(pixels[:5] * np.float32(65535), nan=0.0) + np.float32(0.5)), 0, 65535).astype(np.uint16))
