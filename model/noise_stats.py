"""Statistics of noise (noisy minus clean), to hold synthetic noise up against real noise.

* the standard deviation in bands of brightness (real noise grows with the signal);
* the correlation of each residual with its right-hand and lower neighbour
  (demosaicing, noise reduction and JPEG make neighbours alike);
* the correlation between colour channels (the colour matrix mixes them).

    python -m model.noise_stats [--sets CC15 Nam25] [--synthetic-images 64]

prints a table of real sets beside the camera-noise synthesis on clean
training crops, which the model card carries.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

BRIGHTNESS_BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
CHANNEL_PAIRS = ((0, 1), (1, 2), (0, 2))


@dataclass(frozen=True)
class NoiseStats:
    """Noise statistics of one or more images; std in 8-bit units, ``nan`` where a band is empty."""

    std_by_brightness: tuple[float, ...]
    neighbour_correlation: float
    channel_correlation: tuple[float, ...]  # R-G, G-B, R-B

    @property
    def overall_channel_correlation(self) -> float:
        return float(np.mean(self.channel_correlation))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-12))


def noise_stats(pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> NoiseStats:
    """Statistics over (noisy, clean) pairs of H x W x 3 float images in [0, 1], pooled."""
    residuals, brightness = [], []
    neighbours, channels = [], []
    for noisy, clean in pairs:
        residual = (noisy.astype(np.float64) - clean.astype(np.float64)) * 255.0
        residuals.append(residual.reshape(-1, 3))
        brightness.append(np.repeat(clean.mean(axis=2).reshape(-1, 1), 3, axis=1))
        neighbours.append(
            0.5 * (_correlation(residual[:, :-1], residual[:, 1:]) + _correlation(residual[:-1], residual[1:]))
        )
        channels.append([_correlation(residual[..., i], residual[..., j]) for i, j in CHANNEL_PAIRS])
    values = np.concatenate(residuals).ravel()
    levels = np.concatenate(brightness).ravel()
    stds = []
    for low, high in zip(BRIGHTNESS_BANDS[:-1], BRIGHTNESS_BANDS[1:]):
        in_band = (levels >= low) & (levels < high if high < 1 else levels <= high)
        stds.append(float(values[in_band].std()) if in_band.sum() > 100 else float("nan"))
    return NoiseStats(tuple(stds), float(np.mean(neighbours)), tuple(np.mean(channels, axis=0).tolist()))


def _training_crops(count: int, size: int) -> torch.Tensor:
    from model.data import TRAIN_SET, centre_crop, data_root, image_files, load_rgb8

    files = image_files(data_root() / TRAIN_SET)[:count]
    crops = np.stack([centre_crop(load_rgb8(path), size) for path in files]).astype(np.float32) / 255.0
    return torch.from_numpy(crops).permute(0, 3, 1, 2)


def _as_pairs(noisy: torch.Tensor, clean: torch.Tensor) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(zip(noisy.permute(0, 2, 3, 1).numpy(), clean.permute(0, 2, 3, 1).numpy()))


def synthetic_pairs(count: int, size: int = 256, seed: int = 0, shot: float | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(noisy, target) pairs made by the camera-noise synthesis from centre crops of training photos."""
    from model.camera_noise import camera_batch

    batch = camera_batch(_training_crops(count, size), np.random.default_rng(seed), shot)
    return _as_pairs(batch.noisy, batch.clean)


def older_camera_pairs(count: int, size: int = 256, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same crops through the camera model the earlier default was trained with, saved as 8-bit."""
    from model.noise import camera, quantise

    clean = _training_crops(count, size)
    noisy, _ = camera(clean, torch.Generator().manual_seed(seed))
    return _as_pairs(quantise(noisy), clean)


def stats_row(label: str, stats: NoiseStats) -> list[str]:
    return [
        label,
        " / ".join("–" if np.isnan(v) else f"{v:.1f}" for v in stats.std_by_brightness),
        f"{stats.neighbour_correlation:.2f}",
        " / ".join(f"{v:.2f}" for v in stats.channel_correlation),
    ]


STATS_HEADER = [
    "noise",
    "std by brightness " + ", ".join(f"{a:.1f}–{b:.1f}" for a, b in zip(BRIGHTNESS_BANDS[:-1], BRIGHTNESS_BANDS[1:])),
    "neighbour corr.",
    "channel corr. R-G / G-B / R-B",
]


def main(argv: list[str] | None = None) -> None:
    from model.evaluate import markdown_table
    from model.real_noise import REAL_SETS, load_real_set

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(REAL_SETS))
    parser.add_argument("--synthetic-images", type=int, default=64)
    parser.add_argument("--shot", type=float, help="fix the shot-noise variance of the synthesis")
    args = parser.parse_args(argv)
    rows = []
    for name in args.sets:
        pairs = [(p.noisy_float, p.reference.astype(np.float32) / 255.0) for p in load_real_set(name)]
        rows.append(stats_row(f"{name} (real)", noise_stats(pairs)))
    rows.append(stats_row("camera pipeline (`isp`)", noise_stats(synthetic_pairs(args.synthetic_images, shot=args.shot))))
    rows.append(stats_row("older camera model (`camera`)", noise_stats(older_camera_pairs(args.synthetic_images))))
    print(markdown_table(STATS_HEADER, rows))


if __name__ == "__main__":
    main()
