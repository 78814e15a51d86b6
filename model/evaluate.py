"""The evaluation protocol of the data README, as small reusable functions, and a command.

Protocol (the data README, ``shared/data/README.md`` beside the repository):

* the clean image is loaded as 8-bit RGB and converted to float32 in [0, 1];
* Gaussian noise of standard deviation ``sigma / 255`` is added; image number
  ``i`` uses ``numpy.random.default_rng(i)``, where ``i`` is the **0-based
  position of the file in the sorted file list of its set** (``kodim01.png`` is
  image 0 of Kodak24). The same noise pattern, scaled, is used for every sigma;
* ``"float"`` protocol: the noisy image is neither clipped nor quantised (the
  one the papers use); ``"8bit"`` protocol: it is clipped, rounded to 8 bits and
  passed through a lossless PNG round trip, as the application receives files;
* the denoised output is clipped to [0, 1] and rounded to 8 bits; PSNR is taken
  over all pixels and channels against the clean 8-bit image and averaged over
  the set.

Command::

    python -m model.evaluate [--model NAME|PATH ...] [--sets Kodak24 CBSD68 McMaster]
        [--sigmas 15 25 50] [--protocol float|8bit|both] [--limit N] [--strength known|auto]

It prints a markdown PSNR table, one row per model and protocol, one column per
set and sigma. No Qt is imported here, so this runs without a display.
"""
from __future__ import annotations

import argparse
import io
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from model.data import COLOUR_TEST_SETS, data_root, image_files, load_rgb8

if TYPE_CHECKING:
    from denoiser_app.core.engine import Denoiser

PROTOCOLS = ("float", "8bit")
SIGMAS = (15.0, 25.0, 50.0)


@dataclass(frozen=True)
class CleanImage:
    """A clean test image and its 0-based position in its set's sorted file list."""

    index: int
    name: str
    clean: np.ndarray  # H x W x 3 uint8


@dataclass(frozen=True)
class Denoised:
    """What a method returns for one noisy image."""

    pixels: np.ndarray  # H x W x 3, any float or uint8 range; scored after clipping
    estimated_sigma: float | None = None  # set by methods that estimate the noise level


DenoiseFn = Callable[[np.ndarray, float], Denoised]
"""A method under test: (noisy float32 H x W x 3, true sigma in 8-bit units) -> output."""


@dataclass(frozen=True)
class ImageScore:
    name: str
    psnr: float
    ssim: float | None  # None where not measured (the real-noise grids)
    seconds: float  # wall time of the denoise call alone
    megapixels: float
    estimated_sigma: float | None = None


def test_sets_root() -> Path:
    return data_root() / "test"


def load_test_set(name: str, limit: int | None = None, root: Path | None = None) -> list[CleanImage]:
    """The first ``limit`` (default all) images of a test set, in sorted file order."""
    files = image_files((root or test_sets_root()) / name)
    if limit is not None:
        files = files[:limit]
    return [CleanImage(index, path.name, load_rgb8(path)) for index, path in enumerate(files)]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip a [0, 1] float image and round it to 8 bits."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def png_round_trip(image_u8: np.ndarray) -> np.ndarray:
    """Encode as PNG and decode again, in memory (lossless: returns equal pixels)."""
    buffer = io.BytesIO()
    Image.fromarray(image_u8).save(buffer, format="PNG")
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


# Names the way noisy_version draws its noise; change it whenever that changes,
# so scores kept by model.score_store from the old noise are not reused.
NOISE_PROTOCOL = "default_rng(index).normal-float64-v1"


def noisy_version(clean_u8: np.ndarray, index: int, sigma: float, protocol: str) -> np.ndarray:
    """The noisy float32 image that image number ``index`` gets at ``sigma`` under ``protocol``.

    ``index`` is the 0-based position in the set's sorted file list. The noise
    is drawn from ``numpy.random.default_rng(index)`` as one float64 array of the
    image's shape (H, W, 3), then added to the float32 clean image.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    clean = clean_u8.astype(np.float32) / 255.0
    noise = np.random.default_rng(index).normal(0.0, sigma / 255.0, size=clean_u8.shape)
    noisy = (clean + noise).astype(np.float32)
    if protocol == "float":
        return noisy
    return png_round_trip(to_uint8(noisy)).astype(np.float32) / 255.0


def psnr_u8(image_u8: np.ndarray, reference_u8: np.ndarray) -> float:
    """PSNR in dB of two 8-bit images over all pixels and channels; ``inf`` when identical."""
    if image_u8.shape != reference_u8.shape:
        raise ValueError(f"shape mismatch: {image_u8.shape} vs {reference_u8.shape}")
    mse = float(np.mean((image_u8.astype(np.float64) - reference_u8.astype(np.float64)) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0**2 / mse)


def as_scored_u8(denoised: np.ndarray) -> np.ndarray:
    """A method's output as the 8-bit image that is scored (uint8 passes through)."""
    return denoised if denoised.dtype == np.uint8 else to_uint8(denoised)


def score(denoised: np.ndarray, clean_u8: np.ndarray) -> float:
    """PSNR of a denoised [0, 1] image after clipping and rounding to 8 bits."""
    return psnr_u8(as_scored_u8(denoised), clean_u8)


def ssim(denoised: np.ndarray, clean_u8: np.ndarray) -> float:
    """SSIM of the 8-bit denoised image (skimage defaults: 7x7 uniform window)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(clean_u8, as_scored_u8(denoised), channel_axis=2, data_range=255))


def score_image(denoise: DenoiseFn, image: CleanImage, sigma: float, protocol: str) -> ImageScore:
    """Make one noisy image, denoise it (timed) and score it. Picklable when ``denoise`` is."""
    noisy = noisy_version(image.clean, image.index, sigma, protocol)
    started = time.perf_counter()
    result = denoise(noisy, sigma)
    seconds = time.perf_counter() - started
    scored = as_scored_u8(result.pixels)
    return ImageScore(
        name=image.name,
        psnr=psnr_u8(scored, image.clean),
        ssim=ssim(scored, image.clean),
        seconds=seconds,
        megapixels=image.clean.shape[0] * image.clean.shape[1] / 1e6,
        estimated_sigma=result.estimated_sigma,
    )


def evaluate_cell(
    denoise: DenoiseFn,
    images: Sequence[CleanImage],
    sigma: float,
    protocol: str,
    on_image: Callable[[ImageScore], None] | None = None,
    pool: Executor | None = None,
) -> list[ImageScore]:
    """Denoise every image of a set once at one sigma and protocol, and score it.

    With a process ``pool`` the images are spread over its workers (``denoise``
    must then be a module-level function); scores come back in image order.
    """
    if pool is None:
        outcomes: Iterable[ImageScore] = (score_image(denoise, image, sigma, protocol) for image in images)
    else:
        outcomes = pool.map(score_image, repeat(denoise), images, repeat(sigma), repeat(protocol))
    scores = []
    for image_score in outcomes:
        scores.append(image_score)
        if on_image:
            on_image(image_score)
    return scores


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else math.nan


def format_db(value: float | None, digits: int = 2) -> str:
    """A number for a table cell; missing values show as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub markdown table; the first column is left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cell_label(set_name: str, sigma: float) -> str:
    return f"{set_name} σ{sigma:g}"


def model_denoise_fn(denoiser: Denoiser, strength: str) -> DenoiseFn:
    """A ``DenoiseFn`` for an engine ``Denoiser``: known sigma or ``"auto"`` strength."""

    def denoise(noisy: np.ndarray, sigma: float) -> Denoised:
        result = denoiser.denoise(noisy, strength="auto" if strength == "auto" else sigma)
        return Denoised(result.pixels, result.sigma if result.estimated else None)

    return denoise


def warm_up(denoise: DenoiseFn, images: Iterable[CleanImage], rounds: int = 3) -> None:
    """Untimed calls at every image shape, in turn, before timing.

    TorchScript profiles and re-optimises its graph during the first calls and
    again when input shapes change (portrait and landscape CBSD68 images), so
    the first calls are several times slower than the rest.
    """
    rng = np.random.default_rng(0)
    inputs = [rng.random(shape, dtype=np.float32) for shape in dict.fromkeys(image.clean.shape for image in images)]
    for _ in range(rounds):
        for noisy in inputs:
            denoise(noisy, 25.0)


def protocols_from_option(option: str) -> list[str]:
    return list(PROTOCOLS) if option == "both" else [option]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="PSNR of Denoiser models under the README evaluation protocol.")
    parser.add_argument("--model", nargs="+", default=[None], help="model names or .pt paths (default: the default model)")
    parser.add_argument("--sets", nargs="+", default=list(COLOUR_TEST_SETS))
    parser.add_argument("--sigmas", nargs="+", type=float, default=list(SIGMAS))
    parser.add_argument("--protocol", choices=["float", "8bit", "both"], default="float")
    parser.add_argument("--limit", type=int, help="use only the first N images of each set")
    parser.add_argument("--strength", choices=["known", "auto"], default="known", help="true sigma or the model's estimate")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument(
        "--passes", type=int, default=None, help="orientations averaged per tile (default: the engine's default)"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from denoiser_app.core.engine import DEFAULT_PASSES, load_denoiser, set_cpu_threads

    passes = args.passes or DEFAULT_PASSES

    test_sets = {name: load_test_set(name, args.limit) for name in args.sets}
    protocols = protocols_from_option(args.protocol)
    columns = [cell_label(s, sigma) for s in args.sets for sigma in args.sigmas]
    rows = []
    for model in args.model:
        set_cpu_threads(args.threads)
        denoiser = load_denoiser(model, device="cpu", passes=passes)
        denoise = model_denoise_fn(denoiser, args.strength)
        warm_up(denoise, (image for images in test_sets.values() for image in images))
        for protocol in protocols:
            cells = []
            for set_name, images in test_sets.items():
                for sigma in args.sigmas:
                    scores = evaluate_cell(denoise, images, sigma, protocol)
                    cells.append(format_db(mean(s.psnr for s in scores)))
                    print(f"{denoiser.name} {protocol} {cell_label(set_name, sigma)}: {cells[-1]} dB", file=sys.stderr)
            rows.append([f"{denoiser.name} ({args.strength} strength, {passes} passes, {protocol})", *cells])
    print(markdown_table(["model", *columns], rows))


if __name__ == "__main__":
    main()
