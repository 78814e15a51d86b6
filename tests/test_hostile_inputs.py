"""Hostile files: a fuzz run of the readers, and a folder of them through the batch.

Every mutated or odd file must end in one of two ways: a sane image, or one
:class:`ImageReadError` with a one-line reason. Anything else (another
exception, a hang, NaN pixels) is a bug a photographer would meet as a batch
that stops or a file that comes out wrong.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from denoiser_app.core.batch import BatchOptions, FileStatus, plan_batch, run_batch
from denoiser_app.core.engine import DenoiseSettings, load_denoiser
from denoiser_app.core.imageio import ImageReadError, read_image

CASES_PER_FORMAT = 40


def _pillow(file_format: str, samples: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(samples).save(buffer, file_format, **options)
    return buffer.getvalue()


def _tiff(samples: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, samples, metadata=None, **options)
    return buffer.getvalue()


def _seed_files() -> dict[str, bytes]:
    """One small valid file per format and layout the readers take, named with its suffix."""
    rng = np.random.default_rng(0)
    rgb8 = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    rgb16 = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    return {
        "rgb8.png": _pillow("PNG", rgb8),
        "grey8.png": _pillow("PNG", rgb8[..., 0]),
        "rgb16.png": _tiff(rgb16),  # a TIFF under a PNG name: read by content
        "rgb.jpg": _pillow("JPEG", rgb8, quality=90),
        "progressive.jpg": _pillow("JPEG", rgb8, quality=80, progressive=True),
        "rgb8.tif": _tiff(rgb8),
        "rgb16-deflate.tif": _tiff(rgb16, compression="zlib"),
        "rgb.webp": _pillow("WEBP", rgb8, lossless=True),
        "rgb.bmp": _pillow("BMP", rgb8),
    }


def _mutations(data: bytes, rng: np.random.Generator) -> list[bytes]:
    """Cut short, bytes flipped, bytes inserted or removed, a header field overwritten, chunks repeated."""
    size = len(data)
    cases = []
    for _ in range(CASES_PER_FORMAT):
        kind = rng.integers(6)
        at = int(rng.integers(size))
        if kind == 0:
            mutated = data[:at]
        elif kind == 1:
            buffer = bytearray(data)
            for position in rng.integers(0, size, int(rng.integers(1, 12))):
                buffer[position] ^= 1 << int(rng.integers(8))
            mutated = bytes(buffer)
        elif kind == 2:
            mutated = data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:]
        elif kind == 3:
            mutated = data[:at] + data[at + int(rng.integers(1, 64)):]
        elif kind == 4:  # header fields: sizes, offsets, counts live in the first bytes
            buffer = bytearray(data)
            start = int(rng.integers(0, min(64, size - 4)))
            buffer[start : start + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
            mutated = bytes(buffer)
        else:
            mutated = data[:at] + data[at // 2 : at] + data[at:]
        cases.append(mutated)
    return cases


@pytest.mark.parametrize("name", list(_seed_files()))
def test_mutated_files_give_an_image_or_one_clear_reason(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(sum(name.encode()))
    outcomes = {"image": 0, "refused": 0}
    for index, mutated in enumerate(_mutations(_seed_files()[name], rng)):
        path = tmp_path / f"{index:03d}-{name}"
        path.write_bytes(mutated)
        try:
            image = read_image(path)
        except ImageReadError as error:
            assert error.path == path and error.reason and "\n" not in str(error), f"case {index}: {error!r}"
            outcomes["refused"] += 1
            continue
        pixels = image.pixels
        assert pixels.ndim == 3 and pixels.shape[2] in (1, 3) and min(pixels.shape[:2]) >= 1, f"case {index}"
        assert pixels.dtype == np.float32 and np.isfinite(pixels).all(), f"case {index}"
        assert pixels.min() >= 0.0 and pixels.max() <= 1.0, f"case {index}"
        outcomes["image"] += 1
    assert outcomes["refused"] > 0, "the mutations reach the readers' error paths"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_folder_of_hostile_files_cleans_the_good_ones_names_each_bad_one_and_changes_no_input(
    tmp_path: Path, tiny_model: Path
) -> None:
    shoot = tmp_path / "shoot"
    odd = shoot / "odd"
    odd.mkdir(parents=True)
    rgb8 = np.random.default_rng(1).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    good_names = [
        "-starts with a dash.png",
        "emoji 📷🌙.png",
        "combining e\u0301 accent.png",
        ("long " * 40).strip()[:196] + ".png",
        "really a jpeg.png",
    ]
    for name in good_names[:-1]:
        (shoot / name).write_bytes(_pillow("PNG", rgb8))
    (shoot / good_names[-1]).write_bytes(_pillow("JPEG", rgb8))
    (odd / "thin.png").write_bytes(_pillow("PNG", np.zeros((1, 50_000, 3), np.uint8)))
    bad = {
        "empty.jpg": b"",
        "shopping list.png": b"milk, eggs\n",
        "cut short.jpg": _pillow("JPEG", rgb8)[:300],
        "cut short.png": _pillow("PNG", rgb8)[:200],
        "cut short.tif": _tiff(rgb8)[:400],
    }
    for name, content in bad.items():
        (shoot / name).write_bytes(content)
    os.symlink(shoot, odd / "loop")  # a folder that contains itself, under --recursive
    before = {path: _digest(path) for path in shoot.rglob("*") if path.is_file() and not path.is_symlink()}
    output = tmp_path / "clean"

    options = BatchOptions(output_dir=output, recursive=True, denoise=DenoiseSettings(strength=10.0, tile=256))
    plan = plan_batch([shoot], options)
    results = list(run_batch(plan, load_denoiser(tiny_model, "cpu"), options))

    by_name = {result.source.name: result for result in results}
    assert {name for name, result in by_name.items() if result.status == FileStatus.DONE} == {*good_names, "thin.png"}
    for name in bad:
        assert by_name[name].status == FileStatus.FAILED and by_name[name].reason, name
    for name in good_names:
        assert read_image(output / name).pixels.shape == (20, 24, 3)
    assert read_image(output / "odd" / "thin.png").pixels.shape == (1, 50_000, 3)
    assert {path: _digest(path) for path in before} == before, "no input changed"
    assert not [path for path in output.rglob(".*")], "no temporary file left"


def test_a_photo_that_may_not_be_read_fails_with_that_reason_and_the_batch_goes_on(
    tmp_path: Path, tiny_model: Path, monkeypatch
) -> None:
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    rgb8 = np.random.default_rng(2).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    for name in ("a.png", "locked.png", "c.png"):
        (shoot / name).write_bytes(_pillow("PNG", rgb8))
    real_read_bytes = Path.read_bytes

    def read_bytes(path: Path) -> bytes:  # as root, chmod 000 would not stop the read; the OS's answer, simulated
        if path.name == "locked.png":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    options = BatchOptions(output_dir=tmp_path / "clean", denoise=DenoiseSettings(strength=10.0, tile=256))
    results = {r.source.name: r for r in run_batch(plan_batch([shoot], options), load_denoiser(tiny_model, "cpu"), options)}
    assert results["locked.png"].status == FileStatus.FAILED and "permission denied" in results["locked.png"].reason
    assert results["a.png"].status == results["c.png"].status == FileStatus.DONE
