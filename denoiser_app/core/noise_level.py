"""Blind estimation of an image's noise level.

The estimator follows the patch-PCA idea of Chen, Zhu and Heng (ICCV 2015):
in the covariance of small image patches, natural-image structure occupies a
few large eigenvalues, while white noise spreads evenly over all of them. The
noise variance is the mean of the smallest eigenvalues, taken over the
largest tail whose mean still equals its median (that is, the tail holding
noise alone).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PATCH = 7
MAX_PATCHES = 60_000


def _patches(channel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    windows = sliding_window_view(channel, (PATCH, PATCH))
    rows, cols = windows.shape[:2]
    count = min(MAX_PATCHES, rows * cols)
    picks = rng.choice(rows * cols, size=count, replace=False)
    return windows[picks // cols, picks % cols].reshape(count, PATCH * PATCH)


def _noise_variance(eigenvalues: np.ndarray) -> float:
    descending = np.sort(eigenvalues)[::-1]
    for start in range(len(descending)):
        tail = descending[start:]
        if tail.mean() <= np.median(tail):
            return float(tail.mean())
    return float(descending[-1])


def estimate_sigma(image: np.ndarray, seed: int = 0) -> float:
    """Noise standard deviation of an H x W (x C) float image in [0, 1], in 8-bit units.

    Each channel is estimated separately and the results are averaged, in
    variance. The same image always gives the same estimate.
    """
    if image.ndim == 2:
        image = image[..., None]
    if min(image.shape[:2]) < PATCH:
        return 0.0
    rng = np.random.default_rng(seed)
    variances = []
    for c in range(image.shape[2]):
        patches = _patches(image[..., c].astype(np.float64) * 255.0, rng)
        covariance = np.cov(patches, rowvar=False)
        variances.append(_noise_variance(np.linalg.eigvalsh(covariance)))
    return float(np.sqrt(max(0.0, float(np.mean(variances)))))
