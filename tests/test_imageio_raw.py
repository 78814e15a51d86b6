"""Camera raw in: a DNG written here from a known mosaic, developed, denoised and written as a 16-bit TIFF."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tifffile

from denoiser_app.core.batch import BatchOptions, Summary, plan_batch, run_batch
from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.imageio import read_image
from denoiser_app.core.imageio.exif import parse_exif
from denoiser_app.core.imageio.files import probe_megapixels

pytest.importorskip("rawpy")

WHITE_LEVEL = 4095
# Demosaicing correlates raw noise: a model trained on camera noise, with the learned Auto, reads it.
CAMERA_NOISE_MODEL = "nmunet-camera"
# XYZ -> camera for a "camera" whose colours are linear sRGB (what DNG's ColorMatrix1 holds).
XYZ_TO_SRGB = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)


def _rationals(values, signed: bool) -> tuple:
    return tuple(v for value in values for v in (int(round(value * 10000)), 10000))


def scene(height: int, width: int) -> np.ndarray:
    """A smooth linear-light colour scene in [0.05, 0.6]."""
    rows, cols = np.mgrid[0:height, 0:width]
    red = 0.1 + 0.4 * cols / width
    green = 0.15 + 0.3 * rows / height
    blue = 0.3 + 0.2 * np.sin(cols / 9.0) * np.cos(rows / 7.0)
    return np.stack([red, green, blue], axis=2)


def write_dng(path: Path, linear: np.ndarray, noise_std: float = 0.0, seed: int = 0) -> Path:
    """An RGGB DNG of ``linear`` (H x W x 3 in [0, 1]) with white Gaussian noise of ``noise_std`` on the mosaic."""
    height, width = linear.shape[:2]
    mosaic = np.empty((height, width))
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2]
    mosaic += np.random.default_rng(seed).normal(0, noise_std, mosaic.shape)
    levels = np.clip(np.round(mosaic * WHITE_LEVEL), 0, WHITE_LEVEL).astype(np.uint16)
    tags = [
        (254, "I", 1, 0, True),
        (33421, "H", 2, (2, 2), True),  # CFA repeat pattern
        (33422, "B", 4, (0, 1, 1, 2), True),  # RGGB
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNG version
        (50708, "s", 0, "Denoiser Test Camera", True),
        (50714, "H", 1, 0, True),  # black level
        (50717, "H", 1, WHITE_LEVEL, True),
        (50721, "2i", 9, _rationals(XYZ_TO_SRGB, True), True),
        (50728, "2I", 3, _rationals((1.0, 1.0, 1.0), False), True),  # as-shot neutral
        (50778, "H", 1, 21, True),  # D65
        (271, "s", 0, "DenoiserTest", True),
        (272, "s", 0, "Model X100", True),
        (306, "s", 0, "2026:12:02 10:00:00", True),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, levels, photometric=32803, extratags=tags, metadata=None)
    return path


def test_a_dng_develops_to_upright_16_bit_srgb_with_its_camera_tags(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "IMG_0001.DNG", scene(64, 96))
    image = read_image(path)
    assert image.pixels.shape == (64, 96, 3) and image.bit_depth == 16 and image.format == "RAW"
    assert image.metadata.icc_profile  # sRGB, said explicitly
    exif = parse_exif(image.metadata.exif)
    assert exif[271] == "DenoiserTest" and exif[272] == "Model X100"
    # The scene's gradients come through in the right channels.
    assert image.pixels[:, -4:, 0].mean() > image.pixels[:, :4, 0].mean() + 0.1
    assert image.pixels[-4:, :, 1].mean() > image.pixels[:4, :, 1].mean() + 0.05
    assert probe_megapixels(path) == pytest.approx(64 * 96 / 1e6)


def test_a_raw_file_over_the_pixel_limit_is_refused_before_developing(tmp_path: Path) -> None:
    from denoiser_app.core.imageio import ImageReadError

    path = write_dng(tmp_path / "big.dng", scene(64, 96))
    with pytest.raises(ImageReadError, match="megapixels"):
        read_image(path, max_megapixels=0.001)


def test_a_batch_cleans_raw_into_16_bit_tiff_with_exif_and_auto_reads_its_noise(tmp_path: Path) -> None:
    linear = scene(128, 128)
    clean_dng = write_dng(tmp_path / "clean" / "IMG_1.dng", linear)
    noisy_dng = write_dng(tmp_path / "shoot" / "IMG_1.dng", linear, noise_std=0.02, seed=1)
    options = BatchOptions()  # Auto strength
    plan = plan_batch([noisy_dng.parent], options)
    assert [item.destination.name for item in plan.files] == ["IMG_1.tif"]
    denoiser = load_denoiser(CAMERA_NOISE_MODEL, "cpu", passes=1)
    summary = Summary.for_plan(plan)
    results = [summary.add(r) or r for r in run_batch(plan, denoiser, options)]
    assert summary.done == 1, results
    written = read_image(plan.files[0].destination)
    assert written.format == "TIFF" and written.bit_depth == 16
    assert parse_exif(written.metadata.exif)[272] == "Model X100"
    reference = read_image(clean_dng).pixels
    noisy = read_image(noisy_dng).pixels

    def error(pixels: np.ndarray) -> float:
        return float(np.sqrt(np.mean((pixels[8:-8, 8:-8] - reference[8:-8, 8:-8]) ** 2)))

    # Auto reads the developed noise (raw noise is not JPEG-processed) and removes most of it.
    assert results[0].sigma_estimated and results[0].sigma > 2
    assert denoiser.estimate(reference) < results[0].sigma / 2
    assert error(written.pixels) < 0.6 * error(noisy)
