"""A small network that reads the local noise level of a photo, for Auto strength."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.archs.common import pad_to_multiple


class NoiseLevelEstimator(nn.Module):
    """Predicts a map of the local noise level (8-bit sigma / 255) from a noisy image.

    The image is folded 4x4 into channels (pixel unshuffle), ``fine_layers``
    3x3 convolutions work at a quarter of the resolution, the features are
    averaged 2x2, ``coarse_layers`` more convolutions work at an eighth, and a
    last convolution gives one non-negative level per 8x8 block (softplus),
    enlarged bilinearly to the image's size. The whole costs a few per cent of
    a denoiser's operations per pixel, and its receptive field (about 90
    pixels) sees enough flat area to tell noise from texture.

    It is trained (``model.train_estimator``) to predict the same labels the
    denoisers are conditioned on, so its map can be fed to them directly.

    Args:
        channels (int): Image channels. Default: 3.
        width (int): Feature channels. Default: 48.
        fine_layers (int): Convolutions at 1/4 resolution. Default: 2.
        coarse_layers (int): Convolutions at 1/8 resolution. Default: 3.
    """

    takes_noise_map: bool = False
    role: str = "estimator"

    def __init__(self, channels: int = 3, width: int = 48, fine_layers: int = 2, coarse_layers: int = 3) -> None:
        super().__init__()
        self.multiple = 8
        self.unshuffle = nn.PixelUnshuffle(4)
        fine: list[nn.Module] = []
        for index in range(fine_layers):
            fine += [nn.Conv2d(16 * channels if index == 0 else width, width, 3, padding=1), nn.ReLU(inplace=True)]
        self.fine = nn.Sequential(*fine)
        coarse: list[nn.Module] = []
        for _ in range(coarse_layers):
            coarse += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        self.coarse = nn.Sequential(*coarse)
        self.out = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) image in [0, 1] -> (N, 1, H, W) noise level in sigma / 255 units."""
        padded, height, width = pad_to_multiple(image, self.multiple)
        features = self.fine(self.unshuffle(padded.to(self.out.weight.dtype)))
        features = self.coarse(F.avg_pool2d(features, 2))
        level = F.softplus(self.out(features)).float()
        level = F.interpolate(level, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return level[..., :height, :width]
