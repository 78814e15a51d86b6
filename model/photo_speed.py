"""Speed on a full-size photo, end to end: read, denoise tiled with auto strength, write.

This is how the app and the CLI clean a folder, so its megapixels per second
is what a photographer sees, unlike the per-call timings on the small test
images.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from denoiser_app.core.batch import BatchOptions, plan_batch, run_batch
from denoiser_app.core.engine import DEFAULT_TILE, DenoiseSettings, Denoiser
from denoiser_app.core.models import resources_dir

PHOTO_WIDTH, PHOTO_HEIGHT = 4000, 3000  # 12 MP, a common sensor size
PHOTO_NOISE_SIGMA = 12.0
ROUNDS = 2


@dataclass(frozen=True)
class PhotoSpeed:
    width: int
    height: int
    tile: int
    seconds: list[float]  # one per round, the first one included (a new user's first photo)

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    @property
    def slowest_megapixels_per_second(self) -> float:
        return self.megapixels / max(self.seconds)

    def record(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "megapixels": self.megapixels,
            "megapixels_per_second": [self.megapixels / s for s in self.seconds],
            "slowest_megapixels_per_second": self.slowest_megapixels_per_second,
        }


def photo_size(megapixels: float) -> tuple[int, int]:
    """(width, height) of a 3:2 photo, as most cameras take, of about ``megapixels``."""
    width = round((megapixels * 1e6 * 1.5) ** 0.5)
    return width, round(width / 1.5)


def make_noisy_photo(path: Path, width: int = PHOTO_WIDTH, height: int = PHOTO_HEIGHT, seed: int = 0) -> Path:
    """A JPEG of the bundled sample photo enlarged to ``width`` x ``height`` with fresh grain."""
    with Image.open(resources_dir() / "sample" / "parrots-iso6400.jpg") as sample:
        enlarged = np.asarray(sample.convert("RGB").resize((width, height), Image.Resampling.BICUBIC), np.float32)
    grain = np.random.default_rng(seed).normal(0.0, PHOTO_NOISE_SIGMA, enlarged.shape).astype(np.float32)
    noisy = np.clip(enlarged + grain, 0, 255).round().astype(np.uint8)
    Image.fromarray(noisy).save(path, quality=95)
    return path


def time_photo(denoiser: Denoiser, photo: Path, rounds: int = ROUNDS, tile: int = DEFAULT_TILE) -> PhotoSpeed:
    """Clean ``photo`` ``rounds`` times through the batch pipeline, as the CLI does, timing each whole run."""
    with tempfile.TemporaryDirectory(prefix="denoiser photo speed ") as output:
        options = BatchOptions(output_dir=Path(output), overwrite=True, denoise=DenoiseSettings(strength="auto", tile=tile))
        plan = plan_batch([photo], options)
        seconds = []
        for _ in range(rounds):
            started = time.perf_counter()
            results = list(run_batch(plan, denoiser, options))
            seconds.append(time.perf_counter() - started)
            failed = [r for r in results if r.status != "done"]
            if failed:
                raise RuntimeError(f"the speed photo was not cleaned: {failed[0].reason or failed[0].status}")
    with Image.open(photo) as image:
        width, height = image.size
    return PhotoSpeed(width, height, tile, seconds)
