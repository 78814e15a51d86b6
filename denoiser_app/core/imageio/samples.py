"""Conversions between stored integer samples and the engine's float pixels."""
from __future__ import annotations

import numpy as np

from denoiser_app.core.imageio.errors import Unreadable
from denoiser_app.core.imageio.image import Image, ImageMetadata

MAX_SAMPLE_VALUE = {8: 255, 16: 65535}
_SAMPLE_DTYPE = {8: np.uint8, 16: np.uint16}
CONVERSION_BAND_SAMPLES = 1 << 22  # float samples converted at once: 16 MB of scratch


def to_float(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """Integer samples as float32 in [0, 1]."""
    values = samples.astype(np.float32)
    values /= MAX_SAMPLE_VALUE[bit_depth]
    return values


def to_integers(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """Round [0, 1] floats to samples: floor(x * max + 0.5), clipped; NaN becomes 0.

    Converted a band of rows at a time, so the float scratch is a band, not a
    second copy of the photo (1.2 GB for 100 MP).
    """
    maximum = MAX_SAMPLE_VALUE[bit_depth]
    samples = np.empty(values.shape, dtype=_SAMPLE_DTYPE[bit_depth])
    band = max(1, CONVERSION_BAND_SAMPLES // max(1, values[0].size))  # rows
    for top in range(0, len(values), band):
        scaled = np.multiply(values[top : top + band], maximum, dtype=np.float32)
        scaled += 0.5
        np.floor(scaled, out=scaled)
        np.nan_to_num(scaled, copy=False, nan=0.0)
        np.clip(scaled, 0, maximum, out=scaled)
        samples[top : top + band] = scaled
    return samples


def alpha_at_depth(alpha: np.ndarray, bit_depth: int) -> np.ndarray:
    """Alpha rescaled to ``bit_depth`` bits, or unchanged when it already has them."""
    if alpha.dtype == np.uint8 and bit_depth == 16:
        return alpha.astype(np.uint16) * 257
    if alpha.dtype == np.uint16 and bit_depth == 8:
        return ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return alpha


def image_from_samples(
    samples: np.ndarray, has_alpha: bool, file_format: str, metadata: ImageMetadata, lossless: bool = True
) -> Image:
    """Split H x W x C integer samples (colour first, alpha last) into an Image."""
    samples = samples.astype(samples.dtype.newbyteorder("="), copy=False)
    if samples.dtype not in (np.uint8, np.uint16):
        raise Unreadable(f"unsupported sample type ({samples.dtype})")
    bit_depth = 16 if samples.dtype == np.uint16 else 8
    colour = samples[..., :-1] if has_alpha else samples
    alpha = np.ascontiguousarray(samples[..., -1]) if has_alpha else None
    return Image(
        pixels=to_float(colour, bit_depth),
        alpha=alpha,
        bit_depth=bit_depth,
        format=file_format,
        metadata=metadata,
        lossless=lossless,
    )


def output_samples(image: Image, bit_depth: int, *, keep_alpha: bool, colour: bool = False) -> np.ndarray:
    """H x W x C integers for an encoder: grey or RGB (``colour`` forces RGB), then alpha."""
    samples = to_integers(image.pixels, bit_depth)
    if colour and samples.shape[2] == 1:
        samples = np.repeat(samples, 3, axis=2)
    if keep_alpha and image.alpha is not None:
        alpha = alpha_at_depth(image.alpha, bit_depth)
        samples = np.concatenate([samples, alpha[..., None]], axis=2)
    return samples
