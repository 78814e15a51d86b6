"""``--self-test``: the installed (or frozen) app proves it works, with a JSON result.

Each check exercises a path a photographer depends on, end to end, in a
temporary folder: the bundled model cleans the bundled sample, a written photo
keeps its metadata and bit depth, a tiny model fine-tunes, saves (TorchScript
from the shipped sources, the step that fails when a frozen app lacks them)
and reloads, and the main window opens and closes offscreen. A windowed build
has no stdout, so the JSON file is the result; the exit code is 0 only when
every check passed.

    denoiser --self-test [--out FILE]      denoiser-cli --self-test [--out FILE]
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

SAMPLE_CROP = 256
REFERENCE_SIDE = 120  # the sample is 500 x 500: the denoise check shrinks a 480 crop 4 times
SAMPLE_SIGMA = 25.0
# The default model gains about 6 dB on this detailed reference at sigma 25; a broken model,
# a wrong strength or a misread file gains far less.
MIN_GAIN_DB = 4.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    seconds: float


class CheckFailed(Exception):
    """A check ran but its result was wrong."""


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-12))


SAMPLE_PHOTO = "sample/parrots-iso6400.jpg"


def _sample_crop(side: int = SAMPLE_CROP) -> np.ndarray:
    """The middle ``side`` x ``side`` pixels of the bundled sample photo, float32 in [0, 1]."""
    from denoiser_app.core.imageio import read_image
    from denoiser_app.core.models import resources_dir

    pixels = read_image(resources_dir() / SAMPLE_PHOTO).pixels
    top, left = (pixels.shape[0] - side) // 2, (pixels.shape[1] - side) // 2
    return np.ascontiguousarray(pixels[top : top + side, left : left + side])


def check_denoise(workdir: Path) -> str:
    from denoiser_app.core.engine import load_denoiser

    # The sample is itself a noisy photo: shrunk by 4 x 4 averaging, its own noise is small beside sigma 25.
    side = 4 * REFERENCE_SIDE
    clean = _sample_crop(side).reshape(REFERENCE_SIDE, 4, REFERENCE_SIDE, 4, 3).mean(axis=(1, 3)).astype(np.float32)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, SAMPLE_SIGMA / 255, clean.shape), 0, 1).astype(np.float32)
    denoiser = load_denoiser(None, device="cpu", passes=1)
    result = denoiser.denoise(noisy, SAMPLE_SIGMA)
    gain = _psnr(result.pixels, clean) - _psnr(noisy, clean)
    if gain < MIN_GAIN_DB:
        raise CheckFailed(f"{denoiser.name} gained {gain:.1f} dB at sigma {SAMPLE_SIGMA:g}, below {MIN_GAIN_DB:g}")
    return f"{denoiser.name} gained {gain:.1f} dB at sigma {SAMPLE_SIGMA:g} on {denoiser.device}"


def check_write_with_metadata(workdir: Path) -> str:
    from denoiser_app.core.imageio import Image, ImageMetadata, read_image, write_image

    pixels = _sample_crop()
    exif = _sample_exif()
    image = Image(pixels=pixels, alpha=None, bit_depth=16, format="TIFF", metadata=ImageMetadata(exif=exif))
    path = workdir / "written ünïcode.tif"
    write_image(path, image)
    back = read_image(path)
    if back.bit_depth != 16:
        raise CheckFailed(f"a 16-bit TIFF came back as {back.bit_depth}-bit")
    if not back.metadata.exif or b"Denoiser self-test" not in back.metadata.exif:
        raise CheckFailed("the EXIF written with the photo did not come back")
    if np.abs(back.pixels - pixels).max() > 1 / 65535 + 1e-6:
        raise CheckFailed("the pixels changed on the way to disk")
    return "16-bit TIFF with EXIF written and read back"


def _sample_exif() -> bytes:
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    exif[0x010E] = "Denoiser self-test"  # ImageDescription
    return exif.tobytes()


def check_fine_tune_save_and_reload(workdir: Path) -> str:
    from denoiser_app.core.engine import load_denoiser
    from denoiser_app.core.imageio import Image, write_image
    from model.export import export
    from model.train import TrainConfig, train

    photos = workdir / "clean"
    photos.mkdir()
    crop = _sample_crop()
    for index in range(4):
        turned = np.ascontiguousarray(np.rot90(crop, index))
        write_image(photos / f"crop{index}.png", Image(pixels=turned, alpha=None, bit_depth=8, format="PNG"))
    config = TrainConfig(
        arch_options={"widths": [8, 16], "blocks": 1}, train_dirs=[str(photos)], noise_mix="gaussian:1",
        total_steps=3, batch_size=2, patch_size=32, warmup_steps=1, validate_every=3, bf16=False, synthetic_share=0.0,
    )
    result = train(config, workdir / "run", echo=False)
    model_path = workdir / "my model.pt"
    export(result.ema, model_path, config.arch, config.arch_options, name="self-test", description="self-test model",
           recipe=asdict(config), steps=int(result.step))
    denoiser = load_denoiser(model_path, device="cpu", passes=1)
    output = denoiser.denoise(crop[:64, :64], 10.0).pixels
    if output.shape != (64, 64, 3) or not np.isfinite(output).all():
        raise CheckFailed("the reloaded fine-tuned model gave no usable output")
    return f"fine-tuned {result.step} steps, saved as TorchScript and reloaded"


def check_main_window(workdir: Path) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from denoiser_app.gui.main_window import MainWindow
    from denoiser_app.gui.settings import Settings

    app = QApplication.instance() or QApplication(["denoiser-self-test"])
    window = MainWindow(Settings(workdir / "settings.ini"))
    window.show()
    app.processEvents()
    shown = window.isVisible()
    window.close()
    app.processEvents()
    if not shown:
        raise CheckFailed("the main window did not show")
    return f"main window opened and closed ({app.platformName()})"


CHECKS: dict[str, Callable[[Path], str]] = {
    "denoise the sample": check_denoise,
    "write a photo with metadata": check_write_with_metadata,
    "fine-tune, save and reload a model": check_fine_tune_save_and_reload,
    "open the main window": check_main_window,
}


def run_checks(checks: dict[str, Callable[[Path], str]] | None = None) -> list[CheckResult]:
    results = []
    for name, check in (checks or CHECKS).items():
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="denoiser-self-test-") as folder:
            try:
                detail, passed = check(Path(folder)), True
            except CheckFailed as failure:
                detail, passed = str(failure), False
            except Exception:  # noqa: BLE001 - a crash is a failed check, with its traceback
                detail, passed = traceback.format_exc(), False
        results.append(CheckResult(name, passed, detail, round(time.perf_counter() - started, 2)))
    return results


def self_test(out: Path | None = None, checks: dict[str, Callable[[Path], str]] | None = None) -> int:
    """Run every check, print a line each, write the JSON report to ``out``; 0 if all passed, else 1."""
    from denoiser_app import __version__

    results = run_checks(checks)
    passed = all(result.passed for result in results)
    report = {
        "passed": passed,
        "version": __version__,
        "frozen": bool(getattr(__import__("sys"), "frozen", False)),
        "platform": platform.platform(),
        "checks": [asdict(result) for result in results],
    }
    for result in results:
        print(f"{'ok  ' if result.passed else 'FAIL'} {result.name} ({result.seconds:.1f} s): {result.detail.strip().splitlines()[-1]}")
    if out is not None:
        Path(out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0 if passed else 1

