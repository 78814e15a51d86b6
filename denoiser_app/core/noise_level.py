"""Blind estimation of an image's noise level.

The estimator follows the patch-PCA idea of Chen, Zhu and Heng (ICCV 2015):
in the covariance of small image patches, natural-image structure occupies a
few large eigenvalues, while white noise spreads evenly over all of them. The
noise variance is the mean of the smallest eigenvalues, taken over the
largest tail whose mean does not exceed its median (the tail holding noise
alone).

Samples at the very ends of the range (0 or full scale) were clipped, and
clipping hides noise: a blown sky or a crushed shadow would read as clean and
pull the estimate down in proportion to its area. Patches with more than a
tenth of their samples clipped are left out, unless so few patches would
remain that the estimate would be less reliable than the clipped one. Leaving
out every patch with a single clipped sample would be worse at heavy noise:
the patches kept would be those whose noise happened to stay small. Unclipped
float input (the papers' protocol) has no sample exactly at either end, so it
is unaffected.

The same code serves single photos in the app (:func:`estimate_sigma`) and
whole training batches (:func:`estimate_sigma_batch`), so the noise level a
model is trained with is exactly the one the app will measure.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

PATCH = 7
MAX_PATCHES = 60_000
# In 8-bit units; 8- and 16-bit samples at either end land within this of 0 or 255.
CLIPPED_WITHIN = 1e-3
# A patch with a larger share of clipped samples is left out (measured on the
# test sets' 8-bit protocol: at sigma 50 it halves the estimate's bias).
MAX_CLIPPED_SHARE = 0.1
# Fewer usable patches than this share of the total, and all patches are used.
MIN_USABLE_SHARE = 0.1


def _noise_variance(patches: torch.Tensor, used: torch.Tensor) -> torch.Tensor:
    """Noise variance per row of a (B, L, PATCH*PATCH) stack of L patch vectors, over the ``used`` (B, L) ones."""
    weights = used.to(patches.dtype)[..., None]
    count = weights.sum(dim=1, keepdim=True)
    mean = (patches * weights).sum(dim=1, keepdim=True) / count.clamp_min(1)
    centred = (patches - mean) * weights
    covariance = centred.transpose(1, 2) @ centred / (count - 1).clamp_min(1)
    eigenvalues = torch.linalg.eigvalsh(covariance.double()).flip(-1)  # descending
    size = eigenvalues.shape[-1]
    starts = torch.arange(size)
    tail_sums = eigenvalues.flip(-1).cumsum(-1).flip(-1)
    tail_means = tail_sums / (size - starts)
    # The tail is sorted, so its median sits at the middle position(s).
    low = starts + (size - starts - 1) // 2
    high = starts + (size - starts) // 2
    tail_medians = 0.5 * (eigenvalues[:, low] + eigenvalues[:, high])
    is_noise_only = tail_means <= tail_medians
    is_noise_only[:, -1] = True
    first = is_noise_only.float().argmax(dim=1)
    return tail_means.gather(1, first[:, None]).squeeze(1).clamp_min(0)


def estimate_sigma(image: np.ndarray) -> float:
    """Noise standard deviation of an H x W (x C) float image in [0, 1], in 8-bit units.

    Patches are taken on a regular grid, spaced so that at most about
    :data:`MAX_PATCHES` are used per channel; channels are averaged in variance.
    The same patches as :func:`estimate_sigma_batch` takes, but only they are
    copied: a channel-first copy of a 100 MP photo would cost 2.4 GB.
    """
    if image.ndim == 2:
        image = image[..., None]
    height, width, channels = image.shape
    if min(height, width) < PATCH:
        return 0.0
    positions = (height - PATCH + 1) * (width - PATCH + 1)
    stride = max(1, math.ceil(math.sqrt(positions / MAX_PATCHES)))
    windows = np.lib.stride_tricks.sliding_window_view(image, (PATCH, PATCH), axis=(0, 1))[::stride, ::stride]
    # (rows, cols, C, 7, 7) -> (C, rows*cols, 49): F.unfold's order, one row of patches after another
    patches = np.ascontiguousarray(windows.transpose(2, 0, 1, 3, 4)).reshape(channels, -1, PATCH * PATCH)
    return float(_levels(torch.from_numpy(patches), 1, channels)[0])


def estimate_sigma_batch(images: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """Noise level (8-bit units) of each image in an (N, C, H, W) batch in [0, 1].

    Patches are taken every ``stride`` pixels, which keeps training fast and
    changes the estimate by far less than its own spread.
    """
    n, channels, height, width = images.shape
    planes = images.detach().reshape(n * channels, 1, height, width)
    return _levels(F.unfold(planes, PATCH, stride=stride).transpose(1, 2), n, channels)


def _levels(patches: torch.Tensor, images: int, channels: int) -> torch.Tensor:
    """Noise level (8-bit units) per image from its patches in [0, 1], stacked (images*channels, L, 49)."""
    samples = patches.float() * 255.0
    variance = _noise_variance(samples, unclipped_patches(samples)).view(images, channels).mean(dim=1)
    return variance.sqrt().float()


def unclipped_patches(patches: torch.Tensor) -> torch.Tensor:
    """(B, L) mask of the patches few of whose samples sit at 0 or 255; a row with too few keeps every patch."""
    clipped = (patches.abs() <= CLIPPED_WITHIN) | ((patches - 255.0).abs() <= CLIPPED_WITHIN)
    used = clipped.float().mean(dim=2) <= MAX_CLIPPED_SHARE
    too_few = used.sum(dim=1) < MIN_USABLE_SHARE * patches.shape[1]
    used[too_few] = True
    return used
