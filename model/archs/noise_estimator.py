"""A small network that reads the local noise level of a photo, for Auto strength."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.archs.common import pad_to_multiple

# Noise of sigma 5 (8-bit) becomes detail of about unit size.
DETAIL_GAIN = 40.0
# The untrained output, exp(offset), is about 8 in 8-bit units: mid-range.
LOG_LEVEL_OFFSET = -3.5


class NoiseLevelEstimator(nn.Module):
    """Predicts a map of the local noise level (8-bit sigma / 255) from a noisy image.

    Noise lives in the fine detail, so the network looks at the image minus
    a 3x3 local mean (scaled up so that typical noise has unit size), folded
    4x4 into channels (pixel unshuffle), beside the local brightness (real
    noise depends on it). ``fine_layers`` 3x3 convolutions work at a quarter
    of the resolution, the features are averaged 2x2, ``coarse_layers`` more
    work at an eighth, and a last convolution gives the log of one level per
    8x8 block, enlarged bilinearly to the image's size. The whole costs a few
    per cent of a denoiser's operations per pixel, and its receptive field
    (about 90 pixels) sees enough flat area to tell noise from texture.

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
        self.detail_gain = DETAIL_GAIN
        self.log_level_offset = LOG_LEVEL_OFFSET
        self.unshuffle = nn.PixelUnshuffle(4)
        fine: list[nn.Module] = []
        for index in range(fine_layers):
            inputs = 17 * channels if index == 0 else width
            fine += [nn.Conv2d(inputs, width, 3, padding=1), nn.ReLU(inplace=True)]
        self.fine = nn.Sequential(*fine)
        coarse: list[nn.Module] = []
        for _ in range(coarse_layers):
            coarse += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        self.coarse = nn.Sequential(*coarse)
        self.out = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) image in [0, 1] -> (N, 1, H, W) noise level in sigma / 255 units."""
        padded, height, width = pad_to_multiple(image, self.multiple)
        local_mean = F.avg_pool2d(F.pad(padded, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        detail = self.unshuffle((padded - local_mean) * self.detail_gain)
        brightness = F.avg_pool2d(padded, 4)
        dtype = self.out.weight.dtype
        features = self.fine(torch.cat([detail, brightness], dim=1).to(dtype))
        features = self.coarse(F.avg_pool2d(features, 2))
        level = torch.exp(self.out(features).float() + self.log_level_offset)
        level = F.interpolate(level, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return level[..., :height, :width]
