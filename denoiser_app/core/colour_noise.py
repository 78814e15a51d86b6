"""Grey camera noise made to look like the colour speckle the network learned.

Real camera noise is mostly grey: demosaicing, in-camera chroma noise
reduction and 4:2:0 JPEG leave the three channels' noise correlated (about
0.6 on CC15 and Nam25). A network trained on independent noise per channel
reads grey noise as texture and keeps it (``python -m model.noise_cause``:
at the same level, channel correlation turns a 0.8 dB lead over FFDNet into
a 0.2 dB deficit). A fixed colour transform undoes the correlation: it
shrinks the grey axis and stretches the two colour axes until noise of that
correlation has the same spread in every direction, which is the noise the
network knows; the network's output is transformed back exactly. The
transform keeps volume (determinant 1), so the image's range changes little.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GREY = np.full(3, 1.0 / np.sqrt(3.0))
# The grey axis is shrunk around mid-grey, so a typical photo stays in range.
CENTRE = 0.5


@dataclass(frozen=True)
class ColourTransform:
    """A 3 x 3 colour matrix with its inverse, and how it scales a noise level."""

    matrix: np.ndarray
    inverse: np.ndarray
    noise_scale: float  # noise of the assumed correlation and level s has level s * noise_scale afterwards

    def forward(self, image: np.ndarray) -> np.ndarray:
        """An H x W x 3 image in the transformed colours (float32)."""
        return _apply(image, self.matrix)

    def backward(self, image: np.ndarray) -> np.ndarray:
        """Back from the transformed colours (float32)."""
        return _apply(image, self.inverse)


def _apply(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    out = (image - CENTRE) @ matrix.T.astype(np.float32)
    out += CENTRE
    return out.astype(np.float32, copy=False)


def decorrelating_transform(channel_correlation: float) -> ColourTransform:
    """The transform that makes noise with this correlation between every two channels independent.

    Noise with equal spread per channel and correlation ``rho`` has covariance
    ``(1 - rho) I + rho 1 1^T``: variance
    ``1 + 2 rho`` along the grey axis and ``1 - rho`` across it. Scaling the two by the
    inverse square roots, then by a common factor that keeps the volume,
    gives equal variance everywhere.
    """
    rho = float(channel_correlation)
    if not 0.0 <= rho < 1.0:
        raise ValueError("channel correlation must be in [0, 1)")
    grey_variance, colour_variance = 1.0 + 2.0 * rho, 1.0 - rho
    noise_scale = (grey_variance * colour_variance**2) ** (1.0 / 6.0)
    grey_projection = np.outer(GREY, GREY)
    colour_projection = np.eye(3) - grey_projection
    matrix = noise_scale * (grey_projection / np.sqrt(grey_variance) + colour_projection / np.sqrt(colour_variance))
    inverse = (grey_projection * np.sqrt(grey_variance) + colour_projection * np.sqrt(colour_variance)) / noise_scale
    return ColourTransform(matrix, inverse, float(noise_scale))
