"""The seed convolutional autoencoder the project started from."""
from __future__ import annotations

import torch
from torch import nn

from model.archs.common import pad_to_multiple


class SeedCAE(nn.Module):
    """Plain two-level convolutional autoencoder without skip connections.

    Encoder: Conv2d -> ReLU -> MaxPool, twice. Decoder: ConvTranspose2d ->
    ReLU -> Upsample, then ConvTranspose2d -> Sigmoid. It predicts the clean
    image directly and ignores the noise level, so strength is applied by the
    engine as a blend between input and output.

    Args:
        channels (int): Image channels. Default: 3.
        width (int): Feature channels after the first convolution; the
            second level has twice as many. Default: 64.
    """

    takes_noise_map: bool = False

    def __init__(self, channels: int = 3, width: int = 64) -> None:
        super().__init__()
        self.multiple = 4
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False),
            nn.ConvTranspose2d(width, channels, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, image: torch.Tensor, noise_map: torch.Tensor) -> torch.Tensor:
        """Denoise ``image`` (N, C, H, W in [0, 1]); ``noise_map`` is unused."""
        padded, height, width = pad_to_multiple(image, self.multiple)
        body_dtype = self.encoder[0].weight.dtype
        clean = self.decoder(self.encoder(padded.to(body_dtype)))
        return clean.to(image.dtype)[..., :height, :width]
