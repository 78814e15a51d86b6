"""A camera's noise, measured from its own noisy photos, and noise drawn from that measurement.

A :class:`NoiseProfile` holds what fine-tuning needs to imitate one camera at
one ISO: per channel, the noise variance as a line in brightness
(``variance = shot * brightness + read``, in display space, 8-bit units
squared per unit brightness), how strongly the channels' noise agrees (luma
against chroma noise) and how far it spreads to neighbours (the radius of the
Gaussian that correlates it).

:func:`fit_profile` reads these from noisy photos alone, no clean version
needed: it cuts the photos into 32 x 32 blocks, keeps the flattest blocks of
each brightness (judged on a blurred copy, where the noise is mostly gone and
shading and texture remain), removes each block's plane of shading, and
measures the rest, which is noise. :func:`profile_noise` adds noise drawn from
a profile to clean images, labelled per pixel with its standard deviation.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

# Small blocks: real photos (in-camera noise reduction, JPEG, busy scenes) have few even areas of
# 32 px; on CC15's Canon shots 32 px blocks read 3x the true noise, 8 px blocks within 20 %.
BLOCK = 8
BRIGHTNESS_BINS = 8
FLATTEST_SHARE = 0.1  # of the blocks in each brightness bin
MIN_BLOCKS_PER_BIN = 3
MAX_SPREAD = 2.0
CHANNEL_AGREEMENT_MAX = 0.95
LEVEL_VARIATION = (0.8, 1.25)  # fine-tuning sees a little weaker and stronger noise than measured
MAX_PHOTOS = 8
CROP = 1024  # measured on up to four crops of this size per photo: enough blocks, a second or so a photo


@dataclass(frozen=True)
class NoiseProfile:
    shot: tuple[float, float, float]  # variance (8-bit units squared) added per unit of brightness, per channel
    read: tuple[float, float, float]  # variance at black, per channel
    channel_correlation: float  # between the channels' noise, 0 (independent) to about 0.95 (grey noise)
    spread: float  # radius in pixels of the Gaussian that correlates neighbours (0: white)

    def std(self, brightness: float, channel: int) -> float:
        """Noise standard deviation in 8-bit units at ``brightness`` (0-1) in ``channel``."""
        return math.sqrt(max(0.0, self.shot[channel] * brightness + self.read[channel]))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> NoiseProfile:
        return cls(tuple(record["shot"]), tuple(record["read"]), float(record["channel_correlation"]), float(record["spread"]))


def _blocks(image: np.ndarray) -> np.ndarray:
    """The image cut into whole BLOCK x BLOCK blocks: (count, BLOCK, BLOCK, channels)."""
    height, width, channels = image.shape
    rows, cols = height // BLOCK, width // BLOCK
    cut = image[: rows * BLOCK, : cols * BLOCK]
    return cut.reshape(rows, BLOCK, cols, BLOCK, channels).swapaxes(1, 2).reshape(-1, BLOCK, BLOCK, channels)


def _plane_residual(blocks: np.ndarray) -> np.ndarray:
    """Each block minus its least-squares plane, per channel (shading is not noise)."""
    ys, xs = np.mgrid[0:BLOCK, 0:BLOCK].astype(np.float64)
    design = np.stack([np.ones(BLOCK * BLOCK), ys.ravel(), xs.ravel()], axis=1)
    flat = blocks.reshape(len(blocks), BLOCK * BLOCK, -1).astype(np.float64)
    coefficients, *_ = np.linalg.lstsq(design, flat.transpose(1, 0, 2).reshape(BLOCK * BLOCK, -1), rcond=None)
    fitted = (design @ coefficients).reshape(BLOCK * BLOCK, len(blocks), -1).transpose(1, 0, 2)
    return (flat - fitted).reshape(blocks.shape)


def flat_block_noise(image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per brightness bin: (brightness per block and channel, noise residual per block) of its flattest blocks."""
    blocks = _blocks(image.astype(np.float32))
    if not len(blocks):
        return []
    smooth = _blocks(cv2.GaussianBlur(image.astype(np.float32), (0, 0), 3.0))
    texture = _plane_residual(smooth).std(axis=(1, 2)).mean(axis=1)
    brightness = blocks.mean(axis=(1, 2))
    bins = np.minimum((brightness.mean(axis=1) * BRIGHTNESS_BINS).astype(int), BRIGHTNESS_BINS - 1)
    kept = []
    for b in range(BRIGHTNESS_BINS):
        members = np.flatnonzero(bins == b)
        if len(members) < MIN_BLOCKS_PER_BIN:
            continue
        count = max(MIN_BLOCKS_PER_BIN, int(len(members) * FLATTEST_SHARE))
        chosen = members[np.argsort(texture[members])[:count]]
        kept.append((brightness[chosen], _plane_residual(blocks[chosen])))
    return kept


def fit_profile(images: list[np.ndarray]) -> NoiseProfile:
    """The noise profile of noisy photos (H x W x 3 floats in [0, 1]) from one camera and ISO.

    Within each brightness bin of each photo the median block variance is
    taken, so the few textured blocks that look flat after blurring (fine
    fabric, foliage) do not count as noise; the line is fitted to those
    medians.
    """
    groups = [group for image in images for group in flat_block_noise(image)]
    if len(groups) < 2:
        raise ValueError("The photos have too few even areas (sky, walls, out-of-focus background) to measure their noise.")
    levels = np.array([np.median(brightness, axis=0) for brightness, _ in groups])  # groups x channels
    variances = np.array([np.median((residual * 255.0).var(axis=(1, 2)), axis=0) for _, residual in groups])
    shot, read = [], []
    for channel in range(levels.shape[1]):
        level, measured = levels[:, channel], variances[:, channel]
        design = np.stack([level, np.ones_like(level)], axis=1)
        (slope, floor), *_ = np.linalg.lstsq(design, measured, rcond=None)
        if slope < 0 or floor < 0:
            # One brightness only, or noise that barely changes with it: a line through the
            # data must not promise negative variance, so keep the side the data support.
            slope, floor = (0.0, float(measured.mean())) if slope < 0 else (float(np.mean(measured / np.maximum(level, 1e-3))), 0.0)
        shot.append(float(slope))
        read.append(float(floor))
    residual = np.concatenate([residual for _, residual in groups]) * 255.0
    correlation = np.corrcoef(residual.reshape(-1, residual.shape[-1]).T)
    channel_correlation = float(np.clip(np.mean(correlation[np.triu_indices(3, 1)]), 0.0, CHANNEL_AGREEMENT_MAX))
    lag1 = _neighbour_correlation(residual)
    spread, kept = _calibrated_spread_and_share(round(channel_correlation, 2), lag1)
    return NoiseProfile(tuple(v / kept for v in shot), tuple(v / kept for v in read), channel_correlation, spread)


def _neighbour_correlation(residual: np.ndarray) -> float:
    """Mean correlation of horizontally and vertically adjacent pixels in block residuals (blocks x H x W x C)."""
    pairs = [(residual[:, :, :-1], residual[:, :, 1:]), (residual[:, :-1], residual[:, 1:])]
    return float(np.mean([np.corrcoef(a[..., c].ravel(), b[..., c].ravel())[0, 1] for a, b in pairs for c in range(3)]))


CALIBRATION_SPREADS = (0.0, 0.3, 0.5, 0.7, 0.9, 1.1, 1.4, 1.7, MAX_SPREAD)


@lru_cache(maxsize=32)
def _calibration(channel_correlation: float) -> tuple[np.ndarray, np.ndarray]:
    """For noise of each CALIBRATION_SPREADS spread: the neighbour correlation and share of variance this method reads.

    Found by measuring known noise on a flat grey image: removing each
    block's plane takes some of the noise with it and lowers the neighbour
    correlation (more when neighbours move together), and the flattest blocks
    are partly those where the noise happened to be weak. Both depend only on
    the noise's shape.
    """
    std = 5.0 / 255.0
    grey = np.full((384, 384, 3), 0.5, np.float32)
    lag1, share = [], []
    for index, spread in enumerate(CALIBRATION_SPREADS):
        field = correlated_field(grey.shape, channel_correlation, spread, np.random.default_rng(index))
        residual = np.concatenate([r for _, r in flat_block_noise(grey + field * std)])
        lag1.append(_neighbour_correlation(residual))
        share.append(float(np.median(residual.var(axis=(1, 2)), axis=0).mean() / std**2))
    return np.array(lag1), np.array(share)


def _calibrated_spread_and_share(channel_correlation: float, lag1: float) -> tuple[float, float]:
    """The true spread behind a measured neighbour correlation, and the share of variance read at it."""
    measured_lag1, share = _calibration(channel_correlation)
    order = np.argsort(measured_lag1)
    spread = float(np.interp(lag1, measured_lag1[order], np.array(CALIBRATION_SPREADS)[order]))
    return spread, float(np.interp(spread, CALIBRATION_SPREADS, share))


def _crops(image: np.ndarray) -> list[np.ndarray]:
    height, width = image.shape[:2]
    if height <= CROP * 2 and width <= CROP * 2:
        return [image]
    tops = (height // 4 - CROP // 2, 3 * height // 4 - CROP // 2)
    lefts = (width // 4 - CROP // 2, 3 * width // 4 - CROP // 2)
    return [image[max(0, t) : max(0, t) + CROP, max(0, l) : max(0, l) + CROP] for t in tops for l in lefts]


def profile_from_folder(folder: Path) -> tuple[NoiseProfile, int]:
    """The noise profile of the noisy photos in ``folder`` (up to MAX_PHOTOS), and how many were read."""
    from model.data import image_files, load_rgb8

    crops = []
    photos = image_files(folder)[:MAX_PHOTOS]
    for path in photos:
        crops += _crops(load_rgb8(path).astype(np.float32) / 255.0)
    return fit_profile(crops), len(photos)


def describe_profile(profile: NoiseProfile) -> str:
    """One line for people: the noise at mid-grey per channel, and how it is shaped."""
    grey = " / ".join(f"{profile.std(0.5, c):.1f}" for c in range(3))
    return (f"noise at mid-grey R/G/B {grey} (8-bit), channel correlation {profile.channel_correlation:.2f}, "
            f"grain {profile.spread:.1f} px")


def correlated_field(shape: tuple[int, int, int], channel_correlation: float, spread: float,
                     rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Gaussian noise (H x W x C) whose channels and neighbours correlate as asked."""
    height, width, channels = shape
    common = rng.standard_normal((height, width, 1)).astype(np.float32)
    own = rng.standard_normal((height, width, channels)).astype(np.float32)
    field = math.sqrt(channel_correlation) * common + math.sqrt(1 - channel_correlation) * own
    if spread > 0:
        field = cv2.GaussianBlur(field, (0, 0), spread, borderType=cv2.BORDER_REFLECT)
        field = field.reshape(height, width, channels) / max(float(field.std()), 1e-6)
    return field


def profile_noise(clean: np.ndarray, profile: NoiseProfile, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``clean`` (H x W x 3 in [0, 1]) with noise drawn from ``profile``, and the H x W map of its level (8-bit units)."""
    scale = rng.uniform(*LEVEL_VARIATION)
    variance = np.stack([np.maximum(0.0, profile.shot[c] * clean[..., c] + profile.read[c]) for c in range(3)], axis=-1)
    std = np.sqrt(variance).astype(np.float32) * scale / 255.0
    noisy = clean + correlated_field(clean.shape, profile.channel_correlation, profile.spread, rng) * std
    level = np.sqrt(np.mean(std.astype(np.float64) ** 2, axis=2)) * 255.0
    return noisy.astype(np.float32), level.astype(np.float32)
