"""Width and depth against speed and quality: the Pareto table of a model card.

    python -m model.pareto NAME=RUN_DIR ... [--step 5000] [--threads 2]

For each run it takes the validation PSNR logged at ``--step`` (the same
held-out crops and the same noise for every run, so runs trained for the same
number of steps compare fairly) and measures the architecture's speed through
the engine on a 12 MP image (speed does not depend on the weights, so an
untrained copy is timed), with its parameters and FLOPs per pixel.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.archs import build
from model.evaluate import markdown_table
from model.export import export, flops_per_pixel
from model.photo_speed import PHOTO_HEIGHT, PHOTO_WIDTH
from model.train import LOG_NAME, parse_validation


@dataclass(frozen=True)
class Variant:
    name: str
    parameters: int
    flops_per_pixel: float
    megapixels_per_second: float
    validation: dict[str, float]  # PSNR per validation case at the chosen step, empty if not logged


def validation_at(run_dir: Path, step: int) -> dict[str, float]:
    """The validation scores logged at ``step`` (the last such line, if the run logged it twice)."""
    found: dict[str, float] = {}
    for line in (run_dir / LOG_NAME).read_text(encoding="utf-8").splitlines():
        parsed = parse_validation(line)
        if parsed and parsed[0] == step:
            found = parsed[1]
    return found


def engine_speed(
    arch: str, options: dict[str, Any], threads: int | None, size: tuple[int, int] = (PHOTO_WIDTH, PHOTO_HEIGHT), repeats: int = 2
) -> float:
    """Megapixels per second of the engine's tiled denoise of a ``size`` (12 MP) image, fastest of ``repeats``."""
    from denoiser_app.core.engine import load_denoiser, set_cpu_threads

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "timing.pt"
        export(build(arch, **options), path, arch, options, name="timing copy")
        set_cpu_threads(threads)
        denoiser = load_denoiser(path, device="cpu")
    width, height = size
    image = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    denoiser.denoise(image[:1024, :1024], 25.0)  # first call: TorchScript specialises the graph
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        denoiser.denoise(image, 25.0)
        best = min(best, time.perf_counter() - started)
    return width * height / 1e6 / best


def measure(
    name: str, run_dir: Path, step: int, threads: int | None, size: tuple[int, int] = (PHOTO_WIDTH, PHOTO_HEIGHT)
) -> Variant:
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    arch, options = config["arch"], config["arch_options"]
    network = build(arch, **options)
    return Variant(
        name=f"{name} ({arch} {json.dumps(options, separators=(',', ':'))})",
        parameters=sum(p.numel() for p in network.parameters()),
        flops_per_pixel=flops_per_pixel(network),
        megapixels_per_second=engine_speed(arch, options, threads, size),
        validation=validation_at(run_dir, step),
    )


def table(variants: list[Variant], step: int) -> str:
    cases = sorted({case for v in variants for case in v.validation})
    header = ["variant", "parameters", "kFLOP / px", "MP/s (12 MP, engine)", *[f"{c} PSNR at step {step}" for c in cases]]
    rows = [
        [
            v.name,
            f"{v.parameters / 1e6:.2f} M",
            f"{v.flops_per_pixel / 1e3:.0f}",
            f"{v.megapixels_per_second:.2f}",
            *[f"{v.validation[c]:.2f}" if c in v.validation else "–" for c in cases],
        ]
        for v in variants
    ]
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="NAME=RUN_DIR", help="a label and a training run folder")
    parser.add_argument("--step", type=int, default=5000, help="compare the validation logged at this step")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args(argv)
    variants = []
    for spec in args.runs:
        name, _, folder = spec.partition("=")
        variants.append(measure(name, Path(folder), args.step, args.threads))
    print(table(variants, args.step))


if __name__ == "__main__":
    main()
