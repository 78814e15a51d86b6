"""HEIC/HEIF photos: pixels, bit depth, orientation and metadata.

Fixtures are encoded and outputs decoded with pillow-heif's own API, not
through our reader.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import ExifTags, ImageCms
from PIL import Image as PILImage

from denoiser_app.core.batch import BatchOptions, plan_batch, run_batch
from denoiser_app.core.engine import DenoiseSettings, load_denoiser
from denoiser_app.core.imageio import ImageReadError, read_image, write_image
from denoiser_app.core.imageio.exif import exif_upright
from denoiser_app.core.imageio.heif import is_heif

ORIENTATION = 274
MAKE = 271


def exif_block(orientation: int) -> bytes:
    exif = PILImage.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "Phone Maker"
    exif.get_ifd(ExifTags.IFD.Exif)[34855] = 3200  # ISO
    return exif.tobytes()  # with the "Exif\0\0" prefix pillow-heif expects


@pytest.fixture(scope="module")
def icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def smooth_picture(height: int, width: int, maximum: int, dtype: type) -> np.ndarray:
    """A gradient with colour, so lossy coding keeps it within a few levels."""
    rows, cols = np.mgrid[0:height, 0:width]
    planes = [rows / (height - 1), cols / (width - 1), 1 - (rows + cols) / (height + width - 2)]
    return np.round(np.stack(planes, axis=2) * maximum).astype(dtype)


def encode(path: Path, samples: np.ndarray, mode: str, **options) -> None:
    height, width = samples.shape[:2]
    pillow_heif.from_bytes(mode, (width, height), np.ascontiguousarray(samples).tobytes()).save(path, **options)


def decode(path: Path) -> tuple[np.ndarray, dict]:
    heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)
    return np.asarray(heif), heif.info


def test_eight_bit_heic_round_trip_keeps_pixels_and_metadata(tmp_path: Path, icc: bytes) -> None:
    picture = smooth_picture(48, 64, 255, np.uint8)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    source = tmp_path / "IMG_0001.HEIC"
    encode(source, picture, "RGB", quality=95, exif=exif_block(1), icc_profile=icc, xmp=xmp, chroma=444)

    image = read_image(source)
    assert (image.format, image.bit_depth, image.pixels.shape) == ("HEIF", 8, (48, 64, 3))
    assert np.abs(image.pixels * 255 - picture).max() <= 4
    assert image.metadata.icc_profile == icc and image.metadata.xmp == xmp
    assert image.metadata.exif == exif_block(1)[6:]

    output = tmp_path / "IMG_0001 clean.HEIC"
    assert write_image(output, image) == []
    written, info = decode(output)
    assert written.shape == (48, 64, 3) and np.abs(written.astype(int) - picture).max() <= 6
    assert info["icc_profile"] == icc and info["xmp"] == xmp
    assert info["exif"] == exif_block(1)
    assert info["bit_depth"] == 8


def test_ten_bit_heic_is_read_as_sixteen_bit_and_written_back_at_ten(tmp_path: Path) -> None:
    ten_bit = smooth_picture(32, 40, 1023, np.uint16)
    source = tmp_path / "hdr.heic"
    encode(source, ten_bit << 6, "RGB;16", quality=95, chroma=444)  # pillow-heif takes 10 bits at the top of 16

    image = read_image(source)
    assert image.bit_depth == 16
    assert image.pixels.max() > 0.99  # full scale is 1.0, not 65472 / 65535
    assert np.abs(image.pixels * 1023 - ten_bit).max() <= 12

    output = tmp_path / "hdr out.heic"
    write_image(output, image)
    written, info = decode(output)
    assert info["bit_depth"] == 10
    assert np.abs((written >> 6).astype(int) - ten_bit).max() <= 16
    png = tmp_path / "hdr.png"
    write_image(png, image, "png")
    assert read_image(png).bit_depth == 16


def test_a_turned_heic_comes_out_upright_and_is_never_turned_twice(tmp_path: Path) -> None:
    # Stored 40 wide and 24 high, with an EXIF orientation of 6 that the encoder turns into a rotation.
    stored = smooth_picture(24, 40, 255, np.uint8)
    source = tmp_path / "portrait.heic"
    encode(source, stored, "RGB", quality=95, exif=exif_block(6))
    shown_upright, _ = decode(source)
    assert shown_upright.shape[:2] == (40, 24)

    image = read_image(source)
    assert image.pixels.shape[:2] == (40, 24) and image.orientation == 1
    for name, output_format in (("out.heic", "same"), ("out.jpg", "jpeg"), ("out.tif", "tiff")):
        write_image(tmp_path / name, image, output_format)
        again = read_image(tmp_path / name)
        assert again.pixels.shape[:2] == (40, 24) and again.orientation == 1, name
    with PILImage.open(tmp_path / "out.jpg") as jpeg:
        assert jpeg.size == (24, 40)
        assert jpeg.getexif()[ORIENTATION] == 1 and jpeg.getexif()[MAKE] == "Phone Maker"


def test_alpha_survives_and_grey_is_written_as_colour(tmp_path: Path) -> None:
    rgba = np.concatenate([smooth_picture(16, 24, 255, np.uint8), np.full((16, 24, 1), 200, np.uint8)], axis=2)
    source = tmp_path / "cut-out.heic"
    encode(source, rgba, "RGBA", quality=95)
    image = read_image(source)
    assert image.alpha is not None and int(np.abs(image.alpha.astype(int) - 200).max()) <= 2
    write_image(tmp_path / "cut-out out.heic", image)
    written, _ = decode(tmp_path / "cut-out out.heic")
    assert written.shape[2] == 4

    grey = read_image(source)
    grey.pixels = grey.pixels[..., :1]
    grey.alpha = None
    write_image(tmp_path / "grey.heic", grey)
    assert decode(tmp_path / "grey.heic")[0].shape[2] == 3


def test_exif_upright_changes_only_the_orientation_value() -> None:
    for order in ("II", "MM"):
        block = exif_block(8)[6:] if order == "II" else big_endian_exif(8)
        upright = exif_upright(block)
        assert len(upright) == len(block)
        changed = [i for i, (a, b) in enumerate(zip(block, upright)) if a != b]
        assert len(changed) == 1
        parsed = PILImage.Exif()
        parsed.load(upright)
        assert parsed[ORIENTATION] == 1
    assert exif_upright(b"not exif") == b"not exif" and exif_upright(None) is None


def big_endian_exif(orientation: int) -> bytes:
    """A minimal big-endian block: one directory with the orientation and a maker tag."""
    entries = [(MAKE, 2, 4, b"Cam\0"), (ORIENTATION, 3, 1, orientation.to_bytes(2, "big") + b"\0\0")]
    directory = len(entries).to_bytes(2, "big") + b"".join(
        tag.to_bytes(2, "big") + kind.to_bytes(2, "big") + count.to_bytes(4, "big") + value for tag, kind, count, value in entries
    )
    return b"MM\0*" + (8).to_bytes(4, "big") + directory + bytes(4)


def test_avif_and_damaged_heic_are_refused_with_a_reason(tmp_path: Path) -> None:
    avif_header = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"
    assert not is_heif(avif_header) and not is_heif(b"\0\0\0\x18ftypmif1\0\0\0\0mif1avif")
    assert is_heif(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")
    good = tmp_path / "good.heic"
    encode(good, smooth_picture(16, 16, 255, np.uint8), "RGB")
    damaged = tmp_path / "damaged.heic"
    damaged.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        read_image(damaged)


def test_a_folder_of_heic_photos_is_cleaned_into_heic(tmp_path: Path, tiny_model: Path, icc: bytes) -> None:
    folder = tmp_path / "iPhone Nacht"
    folder.mkdir()
    encode(folder / "IMG_1.HEIC", smooth_picture(40, 56, 255, np.uint8), "RGB", quality=90, exif=exif_block(1), icc_profile=icc)
    options = BatchOptions(denoise=DenoiseSettings(strength=10.0, tile=256))
    plan = plan_batch([folder], options)
    (result,) = list(run_batch(plan, load_denoiser(tiny_model, "cpu"), options))
    assert result.status == "done", result.reason
    assert result.destination.suffix == ".HEIC" and is_heif(result.destination.read_bytes())
    assert decode(result.destination)[1]["icc_profile"] == icc
