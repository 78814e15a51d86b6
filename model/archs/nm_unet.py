"""The default architecture: a residual U-Net autoencoder driven by a noise-level map."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.archs.common import pad_to_multiple


class ResBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3 with an identity shortcut."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x), inplace=True))


def _stage(channels: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])


class NoiseMapUNet(nn.Module):
    """Blind-or-guided convolutional autoencoder with U-Net skips and a residual output.

    The image (3 channels) and a noise-level map (1 channel, sigma in 8-bit
    units divided by 255) are folded 2x2 into channels (pixel unshuffle), so
    every convolution runs at half resolution or less. An encoder of
    ``len(widths)`` levels halves the resolution between levels with strided
    convolutions, a bottleneck of residual blocks works at the coarsest level,
    and a decoder mirrors the encoder, adding each encoder level's features
    back (skip connections). The network predicts the noise, which is
    subtracted from the input.

    The convolutions run in the dtype of the weights (cast the module to
    bfloat16 for fast CPU inference) while the input and the final
    subtraction stay in the input's dtype, so the image itself never loses
    precision.

    Args:
        channels (int): Image channels. Default: 3.
        widths (tuple[int, ...]): Feature channels per level, finest first.
            Default: (48, 96, 192).
        blocks (int): Residual blocks per encoder level, per decoder level and
            in the bottleneck. Default: 2.
    """

    takes_noise_map: bool = True

    def __init__(
        self, channels: int = 3, widths: tuple[int, ...] = (48, 96, 192), blocks: int = 2
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        self.widths = widths
        # pixel unshuffle (x2) followed by one stride-2 step per extra level
        self.multiple = 2 ** len(widths)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.shuffle = nn.PixelShuffle(2)
        self.head = nn.Conv2d(4 * channels + 1, widths[0], 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        for finer, coarser in zip(widths[:-1], widths[1:]):
            self.encoders.append(_stage(finer, blocks))
            self.downs.append(nn.Conv2d(finer, coarser, 2, stride=2))
        self.bottleneck = _stage(widths[-1], blocks)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for finer, coarser in zip(reversed(widths[:-1]), reversed(widths[1:])):
            self.ups.append(nn.ConvTranspose2d(coarser, finer, 2, stride=2))
            self.decoders.append(_stage(finer, blocks))
        self.tail = nn.Conv2d(widths[0], 4 * channels, 3, padding=1)

    def forward(self, image: torch.Tensor, noise_map: torch.Tensor) -> torch.Tensor:
        """Denoise ``image`` (N, C, H, W in [0, 1]) given ``noise_map`` (N, 1, H, W)."""
        padded, height, width = pad_to_multiple(image, self.multiple)
        sigma, _, _ = pad_to_multiple(noise_map, self.multiple)
        sigma_half = F.avg_pool2d(sigma, 2)
        body_dtype = self.head.weight.dtype
        features = self.head(torch.cat([self.unshuffle(padded), sigma_half], dim=1).to(body_dtype))
        skips: list[torch.Tensor] = []
        for encoder, down in zip(self.encoders, self.downs):
            features = encoder(features)
            skips.append(features)
            features = down(features)
        features = self.bottleneck(features)
        for level, (up, decoder) in enumerate(zip(self.ups, self.decoders)):
            features = decoder(up(features) + skips[-1 - level])
        noise = self.shuffle(self.tail(features)).to(padded.dtype)
        return (padded - noise)[..., :height, :width]
